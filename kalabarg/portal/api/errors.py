"""The household API's refusals: every error code with its HTTP status (the one place that
maps them, and the schema's ``MeError``), and the login refusal as an API error."""

from typing import Any

from rest_framework.request import Request

from kalabarg.lib.api import ApiError, error_schema
from kalabarg.portal import login as login_service

# Every refusal of the household API, with its HTTP status (documented in the schema).
ME_ERROR_CODES = {
    "validation_error": 400,
    "parse_error": 400,  # a body that is not JSON
    "national_code_required": 400,
    "national_code_not_digits": 400,
    "national_code_length": 400,
    "national_code_invalid": 400,
    "mobile_required": 400,
    "mobile_invalid": 400,
    "code_format": 400,
    "login_code_invalid": 400,
    "category_invalid": 400,
    "description_required": 400,
    "description_too_long": 400,
    "page_invalid": 400,
    "page_size_invalid": 400,
    "not_authenticated": 401,
    "token_invalid": 401,
    "not_head": 403,
    "too_many_payment_codes": 403,
    "not_found": 404,
    "objection_already_open": 409,
    "too_many_requests": 429,
    "resend_too_soon": 429,
}

MeError = error_schema(
    "MeError",
    field_error_name="MeFieldError",
    codes=ME_ERROR_CODES,
    message_help="Persian, to show to the person",
)


def error_responses(*statuses: int) -> dict[int, Any]:
    """The schema's error answers of an operation: ``MeError`` for each of these statuses."""
    return dict.fromkeys(statuses, MeError)


def refusal_error(refusal: login_service.LoginRefused) -> ApiError:
    """A login refusal as the API's error, with its HTTP status from ``ME_ERROR_CODES``."""
    error = ApiError(refusal.code, refusal.message, status_code=ME_ERROR_CODES[refusal.code])
    if refusal.retry_after:
        error.retry_after = refusal.retry_after  # type: ignore[attr-defined]
    return error


def client_ip(*, request: Request) -> str:
    """The client's address, as the login rate limits count it."""
    return login_service.client_ip(meta=request.META)
