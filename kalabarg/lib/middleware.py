"""Request-wide middleware: a request id on every request and its log lines, and the API's error
shape on every answer under ``/api/`` (Django's own 404/405/500 pages are HTML)."""

import json
import re
import uuid
from collections.abc import Callable

from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from kalabarg.lib.logcontext import request_id_var

REQUEST_ID_HEADER = "X-Request-ID"
# A request id from the proxy is kept only if it is short and plain, so a client cannot put
# arbitrary text (or a forged log line) into every log line of its request.
_ACCEPTABLE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


class RequestIdMiddleware:
    """Takes the proxy's ``X-Request-ID`` (or makes one), keeps it in a contextvar for the log
    filter, and sends it back so a person's report can be matched to the logs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _ACCEPTABLE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset on the way out: Django logs an error answer ("Not Found: …") after the
        # middleware returns; the request_finished receiver below clears it.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


@receiver(request_finished)
def _forget_request_id(**_: object) -> None:
    request_id_var.set("-")


_CODES = {
    400: "bad_request",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    500: "server_error",
}


class ApiErrorsAsJsonMiddleware:
    """Under ``/api/``, an error answer that is not JSON (an unknown path, a path parameter of
    the wrong type, a wrong method on a plain view, a crash) becomes the API's error shape."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and response.status_code >= 400
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            return _json_error(response)
        return response


def _json_error(original: HttpResponse) -> HttpResponse:
    from kalabarg.lib.api import GENERIC_MESSAGES

    status = original.status_code
    code = _CODES.get(status, "server_error" if status >= 500 else "bad_request")
    body = {"code": code, "message": GENERIC_MESSAGES[code]}
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/json",
    )
    for header in ("Allow", "Retry-After", REQUEST_ID_HEADER):
        if header in original:
            response[header] = original[header]
    return response
