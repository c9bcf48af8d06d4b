"""One error shape for every API answer, so a POS or app can act on ``code`` and show ``message``.

    {"code": "validation_error", "message": "…", "errors": [{"field": "card_number", "code": "card_invalid", "message": "…"}]}

``code`` is stable for machines; ``message`` is Persian for people. Django ``ValidationError``s
raised by services become the same 400 answer as serializer errors, so no service error is a 500.
"""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

GENERIC_MESSAGES = {
    "validation_error": "درخواست درست نیست؛ خطاهای هر فیلد را ببینید",
    "not_authenticated": "برای این درخواست باید هویت شما احراز شود",
    "authentication_failed": "کلید یا نشانه ورود معتبر نیست",
    "permission_denied": "اجازه این کار را ندارید",
    "not_found": "پیدا نشد",
    "method_not_allowed": "این روش درخواست پشتیبانی نمی‌شود",
    "throttled": "درخواست‌ها بیش از حد مجاز است؛ کمی بعد دوباره تلاش کنید",
    "parse_error": "بدنه درخواست JSON معتبر نیست",
    "unsupported_media_type": "نوع محتوای درخواست پشتیبانی نمی‌شود",
    "bad_request": "درخواست درست نیست",
    "request_too_large": "درخواست بیش از اندازه بزرگ است",
    "server_error": "خطایی در سامانه رخ داد؛ کمی بعد دوباره تلاش کنید",
}


def error_schema(
    name: str,
    *,
    field_error_name: str,
    codes: Iterable[str] | None = None,
    message_help: str | None = None,
) -> Any:
    """The error shape above as a named schema component: ``code`` (one of ``codes``, when the
    API lists them), ``message`` and the per-field ``errors``."""
    code: serializers.Field = (
        serializers.CharField() if codes is None else serializers.ChoiceField(choices=sorted(codes))
    )
    message = (
        serializers.CharField()
        if message_help is None
        else serializers.CharField(help_text=message_help)
    )
    return inline_serializer(
        name,
        {
            "code": code,
            "message": message,
            "errors": inline_serializer(
                field_error_name,
                {
                    "field": serializers.CharField(),
                    "code": serializers.CharField(),
                    "message": serializers.CharField(),
                },
                many=True,
                required=False,
            ),
        },
    )


# At least one character that is not white space, and no NUL (refused by DRF and by PostgreSQL).
_SOME_TEXT_WITHOUT_NUL = r"^[^\x00]*[^\x00\s][^\x00]*$"


class StrictCharField(serializers.CharField):
    """A string field that refuses a JSON number or boolean instead of turning ``0`` into ``"0"``
    (the document says string; a client sending a number has a bug worth hearing about)."""

    default_error_messages = {"invalid": "این مقدار باید متن باشد"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.allow_blank:
            # Refused anyway (blank after trimming, or a NUL): the pattern puts it in the document.
            self.validators.append(RegexValidator(_SOME_TEXT_WITHOUT_NUL, code="blank"))

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """An integer field that takes only a JSON integer (DRF also takes "10", 10.0 and true)."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A boolean field that takes only JSON ``true``/``false`` (DRF also takes 0, 1, "yes")."""

    default_error_messages = {"invalid": "این مقدار باید true یا false باشد"}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class ApiError(exceptions.APIException):
    """A domain error with a stable code and a Persian message."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        field: str | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.field = field


def _flatten(details: Any, prefix: str = "") -> list[dict[str, str]]:
    """DRF's nested ``get_full_details()`` as a flat list of {field, code, message}."""
    errors: list[dict[str, str]] = []
    if isinstance(details, dict) and {"message", "code"} <= set(details):
        errors.append(
            {
                "field": prefix or "non_field_errors",
                "code": str(details["code"]),
                "message": str(details["message"]),
            }
        )
    elif isinstance(details, dict):
        for key, value in details.items():
            name = key if key != "non_field_errors" or not prefix else prefix
            errors += _flatten(
                value, f"{prefix}.{name}" if prefix and key != "non_field_errors" else name
            )
    elif isinstance(details, list):
        for index, value in enumerate(details):
            nested = isinstance(value, dict) and not ({"message", "code"} <= set(value))
            errors += _flatten(value, f"{prefix}[{index}]" if nested else prefix)
    return errors


def django_validation_to_errors(error: DjangoValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if hasattr(error, "error_dict"):
        for field, field_errors in error.error_dict.items():
            for item in field_errors:
                errors.append(
                    {
                        "field": field,
                        "code": item.code or "invalid",
                        "message": " ".join(item.messages),
                    }
                )
    else:
        for item in error.error_list:
            errors.append(
                {
                    "field": "non_field_errors",
                    "code": item.code or "invalid",
                    "message": " ".join(item.messages),
                }
            )
    return errors


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        errors = django_validation_to_errors(exc)
        validation_body = {
            "code": errors[0]["code"] if len(errors) == 1 else "validation_error",
            "message": errors[0]["message"]
            if len(errors) == 1
            else GENERIC_MESSAGES["validation_error"],
            "errors": errors,
        }
        return Response(validation_body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApiError):
        body: dict[str, Any] = {"code": exc.error_code, "message": exc.message}
        if exc.field:
            body["errors"] = [{"field": exc.field, "code": exc.error_code, "message": exc.message}]
        response = Response(body, status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)  # type: ignore[attr-defined]
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    handled: Response | None = drf_exception_handler(exc, context)
    if handled is None or not isinstance(exc, exceptions.APIException):
        return handled
    if isinstance(exc, exceptions.ValidationError):
        handled.data = {
            "code": "validation_error",
            "message": GENERIC_MESSAGES["validation_error"],
            "errors": _flatten(exc.get_full_details()),
        }
        return handled
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    handled.data = {"code": str(code), "message": GENERIC_MESSAGES.get(str(code), str(exc.detail))}
    return handled


# --- Query parameters: the boundary where bad input becomes a 400, never a 500 ----------------

QUERY_TEXT_MAX_LENGTH = 200


def query_text(params: Any, name: str, *, max_length: int = QUERY_TEXT_MAX_LENGTH) -> str:
    """The text of query parameter ``name`` ("" when absent); a NUL or other control character
    (PostgreSQL refuses NUL in text, so it would be a 500) or more than ``max_length`` characters
    is the 400 ``<name>_invalid``."""
    from kalabarg.lib.persian import has_control_characters

    raw = str(params.get(name, ""))
    if has_control_characters(raw):
        raise ApiError(f"{name}_invalid", "این مقدار نویسه‌های نامعتبر دارد", field=name)
    if len(raw) > max_length:
        raise ApiError(f"{name}_invalid", f"این مقدار بیش از {max_length} نویسه است", field=name)
    return raw


def query_positive_int(params: Any, name: str, *, default: int, maximum: int) -> int:
    """Query parameter ``name`` as a whole number from 1 (``default`` when absent), capped at
    ``maximum``; Latin, Persian and Arabic-Indic digits are numbers, anything else (``²``, ``-1``,
    ``1.5``, an empty value) is the 400 ``<name>_invalid``."""
    from kalabarg.lib.persian import latin_number

    if name not in params:
        return default
    # Present but empty (``?page=``) is no number either: the document says integer.
    value = latin_number(str(params.get(name)))
    if value is None or value < 1:
        raise ApiError(
            f"{name}_invalid", "شماره صفحه یا اندازه صفحه باید عددی مثبت باشد", field=name
        )
    return min(value, maximum)


# The schema of the two page parameters: whole numbers from 1 (Persian digits too); a larger
# page_size is capped at 100, not refused.
# Up to 18 digits is a number (``latin_number``); a larger page or page_size is capped, not refused.
_POSITIVE_NUMBER = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}
PAGE_PARAMETERS = [
    OpenApiParameter("page", _POSITIVE_NUMBER, description="from 1; more than 10,000 is 10,000"),
    OpenApiParameter("page_size", _POSITIVE_NUMBER, description="from 1; more than 100 is 100"),
]


class NoCountPagination:
    """Page-number pagination that never counts the whole result (fast on big tables).

    It fetches one row more than a page to know whether there is a next page.
    """

    page_size = 20
    max_page_size = 100

    def paginate(self, queryset: Any, request: Any) -> tuple[list[Any], dict[str, Any]]:
        page = query_positive_int(request.query_params, "page", default=1, maximum=10_000)
        size = query_positive_int(
            request.query_params, "page_size", default=self.page_size, maximum=self.max_page_size
        )
        offset = (page - 1) * size
        rows = list(queryset[offset : offset + size + 1])
        has_next = len(rows) > size
        meta = {
            "page": page,
            "page_size": size,
            "next": _page_url(request, page + 1) if has_next else None,
            "previous": _page_url(request, page - 1) if page > 1 else None,
        }
        return rows[:size], meta


def _page_url(request: Any, page: int) -> str:
    params = request.query_params.copy()
    params["page"] = str(page)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
