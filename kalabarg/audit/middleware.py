"""Puts the request's author into the trail's context (pghistory's middleware, with the
username, the request id and the portal's signed-in member added)."""

from collections.abc import Callable
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from pghistory.middleware import HistoryMiddleware

from kalabarg.lib.logcontext import request_id_var

# Paths whose requests write no audited table, left out so their statements carry no context:
# the POS API (a purchase writes purchases and the ledger; a terminal's payment-code block,
# written on the failure path, is still recorded, with no author), the health check, files.
PATHS_WITHOUT_CONTEXT = ("/api/v1/pos/", "/healthz", "/static/")
# The portal keeps the signed-in member's id in the session under this key
# (kalabarg.portal.auth.SESSION_PERSON; tests/audit holds the two equal).
PORTAL_SESSION_PERSON = "portal_person_id"


class AuditContextMiddleware(HistoryMiddleware):
    """Every change a request makes is recorded with who made it and from which page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        super().__init__(get_response)

    def get_context(self, request: HttpRequest) -> dict[str, Any]:
        context: dict[str, Any] = {
            "url": request.path,
            "method": request.method,
            "request_id": request_id_var.get(),
        }
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(user, "_meta"):
            context["user"] = user.pk
            context["username"] = user.get_username()
        session = getattr(request, "session", None)
        person = session.get(PORTAL_SESSION_PERSON) if session is not None else None
        if person:
            context["person"] = person
        return context

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # No triggers elsewhere (SQLite, the embedded default), and pghistory's statement prefix
        # is PostgreSQL's own.
        if connection.vendor != "postgresql" or request.path.startswith(PATHS_WITHOUT_CONTEXT):
            return self.get_response(request)
        response: HttpResponse = super().__call__(request)
        return response
