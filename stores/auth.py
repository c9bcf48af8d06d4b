"""POS terminals authenticate with ``Authorization: Api-Key <key>``."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, status
from rest_framework.request import Request

from kalabarg.lib.api import ApiError
from stores import services
from stores.models import StoreStatus, Terminal, TerminalStatus

KEYWORD = "Api-Key"


class TerminalUser:
    """The request's principal: a terminal, not a person (no Django user account)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def __str__(self) -> str:
        return f"terminal {self.terminal.terminal_id}"


class TerminalApiKeyAuthentication(authentication.BaseAuthentication):
    """Find the terminal by its key; refuse a suspended terminal or store with a clear error."""

    def authenticate(self, request: Request) -> tuple[TerminalUser, Terminal] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        keyword, _, key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        terminal = services.terminal_for_key(key.strip())
        if terminal is None:
            raise ApiError(
                "api_key_invalid",
                "کلید پایانه معتبر نیست",
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        if terminal.status != TerminalStatus.ACTIVE:
            raise ApiError(
                "terminal_suspended",
                "این پایانه تعلیق شده است",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        if terminal.store.status != StoreStatus.CONNECTED:
            raise ApiError(
                "store_not_connected",
                "این فروشگاه به طرح کالابرگ متصل نیست یا تعلیق شده است",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return TerminalUser(terminal), terminal

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


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
