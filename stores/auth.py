"""POS terminals authenticate with ``Authorization: Api-Key <key>``."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication
from rest_framework.request import Request

from kalabarg.lib.api import ApiError
from stores import services
from stores.models import Terminal
from stores.services import TerminalCredentials

KEYWORD = "Api-Key"


class TerminalUser:
    """The request's principal: a terminal, not a person (no Django user account)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, terminal: Terminal | TerminalCredentials) -> None:
        self.terminal = terminal

    def __str__(self) -> str:
        if isinstance(
            self.terminal, TerminalCredentials
        ):  # a purchase's, until the checkout confirms it
            return f"terminal {self.terminal.terminal_id} (key not yet confirmed)"
        return f"terminal {self.terminal.terminal_id}"


# The HTTP status of each terminal refusal (``services.TERMINAL_REFUSAL_CODES``).
TERMINAL_REFUSAL_STATUS = {
    "api_key_invalid": 401,
    "terminal_suspended": 403,
    "store_not_connected": 403,
}


def _api_error(refusal: services.TerminalRefusal) -> ApiError:
    return ApiError(
        refusal.code, refusal.message, status_code=TERMINAL_REFUSAL_STATUS[refusal.code]
    )


def refuse_unless_usable(terminal: Terminal | None) -> Terminal:
    """The terminal, or the API error for an unknown key or a suspended terminal or store."""
    if terminal is None:
        raise _api_error(services.API_KEY_INVALID)
    refusal = services.terminal_refusal(terminal=terminal)
    if refusal is not None:
        raise _api_error(refusal)
    return terminal


def _header_key(request: Request) -> str | None:
    keyword, _, key = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return key.strip() if keyword == KEYWORD else None


class TerminalApiKeyAuthentication(authentication.BaseAuthentication):
    """Find the terminal by its key; refuse a suspended terminal or store with a clear error.

    ``claim_only=True`` (the purchase endpoint's) takes the header's claim without a query: the
    checkout confirms it in the same read as the payer and the prices
    (``services.terminal_from_row``), one round trip fewer on the hottest request, and the view
    confirms it before any other refusal (``confirm_claim``), so a wrong key is a 401 whatever
    else is wrong with the request. One class for both, so the schema has one security scheme."""

    def __init__(self, *, claim_only: bool = False) -> None:
        self.claim_only = claim_only

    def authenticate(
        self, request: Request
    ) -> tuple[TerminalUser, Terminal | TerminalCredentials] | None:
        key = _header_key(request)
        if key is None:
            return None
        if self.claim_only:
            credentials = services.parse_api_key(key=key)
            if credentials is None:
                raise _api_error(services.API_KEY_INVALID)
            return TerminalUser(credentials), credentials
        terminal = refuse_unless_usable(services.terminal_for_key(key=key))
        return TerminalUser(terminal), terminal

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def confirm_claim(credentials: TerminalCredentials) -> Terminal:
    """A claimed terminal checked against the database (one statement), or its API error."""
    return refuse_unless_usable(services.terminal_for_key(key=credentials.key))


def request_terminal(request: Any) -> Terminal:
    terminal: Terminal = request.auth
    return terminal


class TerminalApiKeyScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Api-Key <key>`` in the OpenAPI schema."""

    target_class = "stores.auth.TerminalApiKeyAuthentication"
    name = "TerminalApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>` — the terminal's key from `manage.py issue_terminal_key`",
        }
