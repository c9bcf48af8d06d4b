"""POS checkout API: purchase and reversal. Views are thin: parse, call the checkout service, answer."""

import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kalabarg.lib.api import ApiError, error_schema
from kalabarg.lib.persian import to_latin_digits
from settlements.services.checkout import (
    CheckoutError,
    CheckoutResult,
    LineRequest,
    checkout,
    reverse_purchase,
)
from stores.auth import (
    TERMINAL_REFUSAL_STATUS,
    TerminalApiKeyAuthentication,
    confirm_claim,
    request_terminal,
)
from stores.services import TERMINAL_REFUSAL_CODES, TerminalCredentials

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")

# Every refusal the POS endpoints can give, with its HTTP status (documented in the schema): the
# one place a checkout refusal's code becomes a status (services raise codes, never statuses).
POS_ERROR_CODES = {
    **TERMINAL_REFUSAL_STATUS,
    "validation_error": 400,
    "parse_error": 400,  # a body that is not JSON
    "idempotency_key_required": 400,
    "idempotency_key_invalid": 400,
    "payer_required": 400,
    "card_required": 400,
    "card_not_digits": 400,
    "card_length": 400,
    "card_invalid": 400,
    "card_unknown_bank": 400,
    "payment_code_format": 400,
    "basket_empty": 400,
    "basket_too_large": 400,
    "line_duplicate_item": 400,
    "item_unknown": 400,
    "quantity_invalid": 400,
    "quantity_not_positive": 400,
    "quantity_too_large": 400,
    "quantity_precision": 400,
    "not_authenticated": 401,
    "household_not_eligible": 403,
    "purchase_not_found": 404,
    "not_found": 404,  # a path that names no purchase at all (``/purchases/abc/reversal/``)
    "item_not_priced": 409,
    "purchase_already_reversed": 409,
    "reversal_too_late": 409,
    "reversal_bonus_spent": 409,
    "request_in_progress": 409,
    "card_not_registered": 422,
    "card_not_head": 422,
    "card_closed": 422,
    "payment_code_invalid": 422,
    "item_inactive": 422,
    "below_min_items": 422,
    "idempotency_key_reused": 422,
    "payment_code_attempts_exceeded": 429,
}

PosError = error_schema(
    "PosError",
    field_error_name="PosFieldError",
    codes=POS_ERROR_CODES,
    message_help="Persian, for the cashier's screen",
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    location=OpenApiParameter.HEADER,
    required=True,
    pattern=IDEMPOTENCY_KEY.pattern,  # what _idempotency_key enforces, so clients can see it
    description="1–64 of A–Z a–z 0–9 _ . : -; the same key and body again returns the original answer",
)

LineOutput = inline_serializer(
    "PurchaseLineOut",
    {
        "item": serializers.CharField(),
        "name": serializers.CharField(),
        "quantity": serializers.CharField(),
        "unit_base_price_rial": serializers.IntegerField(),
        "unit_current_price_rial": serializers.IntegerField(),
        "base_amount_rial": serializers.IntegerField(),
        "current_amount_rial": serializers.IntegerField(),
    },
    many=True,
)

PurchaseOutput = inline_serializer(
    "PurchaseOut",
    {
        "purchase_id": serializers.IntegerField(),
        "status": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "terminal_id": serializers.CharField(),
        "store": serializers.CharField(),
        "paid_with": serializers.ChoiceField(choices=["card", "payment_code"]),
        "lines": LineOutput,
        "base_total_rial": serializers.IntegerField(),
        "current_total_rial": serializers.IntegerField(),
        "cash_rial": serializers.IntegerField(
            help_text="paid by the household to the store (base prices)"
        ),
        "credit_rial": serializers.IntegerField(help_text="from the kalabarg wallet"),
        "compensation_rial": serializers.IntegerField(
            help_text="from the government's inflation compensation"
        ),
        "wallet_balance_rial": serializers.IntegerField(),
        "bonus": inline_serializer(
            "BonusProgress",
            {
                "cycle": serializers.CharField(),
                "spent_rial": serializers.IntegerField(),
                "threshold_rial": serializers.IntegerField(),
                "remaining_rial": serializers.IntegerField(),
                "bonus_rial": serializers.IntegerField(),
                "granted": serializers.BooleanField(),
                "queued": serializers.BooleanField(),
            },
            allow_null=True,
        ),
        "receipt": serializers.CharField(help_text="a short Persian receipt to print"),
    },
)


def _answer(result: CheckoutResult) -> Response:
    response = Response(result.body, status=result.status)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _refusal(error: CheckoutError) -> ApiError:
    api_error = ApiError(
        error.code, error.message, status_code=POS_ERROR_CODES[error.code], field=error.field
    )
    if error.code == "request_in_progress":
        api_error.retry_after = 1  # type: ignore[attr-defined]
    elif error.retry_after:
        api_error.retry_after = error.retry_after  # type: ignore[attr-defined]
    return api_error


# A hand-written parse, not a serializer: this is the hottest endpoint, and the checkout validates
# the lines themselves (with the codes above).
MAX_REQUEST_LINES = 100
MAX_ITEM_CODE_LENGTH = 32  # BasketItem.code is a slug of at most 32


def _text(body: dict[str, Any], name: str, *, max_length: int) -> str:
    """An optional text field (digits may be Persian), stripped; a clear 400 if it is not text."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > max_length:
        raise ApiError(
            "validation_error", f"{name} باید متنی تا {max_length} نویسه باشد", field=name
        )
    return to_latin_digits(value).strip()


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ApiError(
            "idempotency_key_required", "سرآیند Idempotency-Key لازم است", field="Idempotency-Key"
        )
    if not IDEMPOTENCY_KEY.match(key):
        raise ApiError(
            "idempotency_key_invalid",
            "Idempotency-Key باید ۱ تا ۶۴ نویسه از حروف لاتین، رقم و _ . : - باشد",
            field="Idempotency-Key",
        )
    return key


class PurchaseApi(APIView):
    """Authorise a basket purchase by a card (or one-time payment code) of a household head.

    The terminal's key is confirmed in the checkout's first read, not by a query of its own
    (``TerminalApiKeyAuthentication(claim_only=True)``). A request refused for anything else has
    its key confirmed first, so a wrong key or a suspended terminal is the answer it gets."""

    authentication_classes = [TerminalApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    def get_authenticators(self) -> list[BaseAuthentication]:
        return [TerminalApiKeyAuthentication(claim_only=True)]

    @extend_schema(
        operation_id="pos_purchase",
        tags=["pos"],
        parameters=[IDEMPOTENCY_HEADER],
        request=inline_serializer(
            "PurchaseIn",
            {
                "card_number": serializers.CharField(
                    required=False, help_text="16 digits; or send payment_code"
                ),
                "payment_code": serializers.CharField(
                    required=False, help_text="8 digits, from the head's portal"
                ),
                "lines": inline_serializer(
                    "PurchaseLineIn",
                    {"item": serializers.CharField(), "quantity": serializers.CharField()},
                    many=True,
                ),
            },
        ),
        responses={
            201: PurchaseOutput,
            **{code: PosError for code in (400, 401, 403, 409, 422, 429)},
        },
        examples=[
            OpenApiExample(
                "rice and cheese by card",
                request_only=True,
                value={
                    "card_number": "6037991234567893",
                    "lines": [
                        {"item": "rice", "quantity": "5"},
                        {"item": "cheese", "quantity": "0.750"},
                    ],
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        credentials = cast(TerminalCredentials, request.auth)
        try:
            return self._purchase(request, credentials)
        except Exception as refusal:  # any failure, not only refusals: a wrong key hears 401
            if getattr(refusal, "error_code", None) not in TERMINAL_REFUSAL_CODES:
                confirm_claim(credentials)  # raises the terminal's refusal instead, if it has one
            raise

    def _purchase(self, request: Request, credentials: TerminalCredentials) -> Response:
        key = _idempotency_key(request)
        body = request.data
        if not isinstance(body, dict):
            raise ApiError("validation_error", "بدنه درخواست باید یک شیء JSON باشد", field="body")
        raw_lines = body.get("lines", [])
        if not isinstance(raw_lines, list) or len(raw_lines) > MAX_REQUEST_LINES:
            raise ApiError(
                "validation_error",
                f"lines باید فهرستی از حداکثر {MAX_REQUEST_LINES} قلم باشد",
                field="lines",
            )
        lines = [self._line(index, raw) for index, raw in enumerate(raw_lines)]
        try:
            result = checkout(
                terminal=credentials,
                idempotency_key=key,
                card_number=_text(body, "card_number", max_length=32) or None,
                payment_code=_text(body, "payment_code", max_length=16) or None,
                lines=lines,
                request_body=dict(body),
            )
        except CheckoutError as error:
            raise _refusal(error) from None
        return _answer(result)

    @staticmethod
    def _line(index: int, raw: Any) -> LineRequest:
        if not isinstance(raw, dict):
            raise ApiError(
                "validation_error",
                "هر قلم باید یک شیء با item و quantity باشد",
                field=f"lines[{index}]",
            )
        item = str(raw.get("item", "")).strip()
        if not item:
            raise ApiError("item_unknown", "کد قلم را بفرستید", field=f"lines[{index}].item")
        if len(item) > MAX_ITEM_CODE_LENGTH or not (item.isascii() and item.isprintable()):
            # Basket codes are short printable ASCII; anything else is no item (and never reaches
            # the database, where a NUL or a lone surrogate would be an error, not a refusal).
            raise ApiError(
                "item_unknown", "این کد در سبد کالابرگ نیست", field=f"lines[{index}].item"
            )
        try:
            quantity = Decimal(to_latin_digits(str(raw.get("quantity", ""))).strip())
        except InvalidOperation:
            raise ApiError(
                "quantity_invalid",
                "مقدار باید عدد باشد، مانند 1.5",
                field=f"lines[{index}].quantity",
            ) from None
        if not quantity.is_finite():
            raise ApiError(
                "quantity_invalid",
                "مقدار باید عدد باشد، مانند 1.5",
                field=f"lines[{index}].quantity",
            )
        return LineRequest(item=item, quantity=quantity)


class ReversalApi(APIView):
    """Reverse a purchase made by this terminal today (see the integration guide for the bonus policy)."""

    authentication_classes = [TerminalApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="pos_purchase_reversal",
        tags=["pos"],
        parameters=[IDEMPOTENCY_HEADER],
        request=None,
        responses={
            200: inline_serializer(
                "ReversalOut",
                {
                    "purchase_id": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "reversed_at": serializers.DateTimeField(),
                    "credit_returned_rial": serializers.IntegerField(),
                    "compensation_returned_rial": serializers.IntegerField(),
                    "bonus_taken_back_rial": serializers.IntegerField(),
                    "wallet_balance_rial": serializers.IntegerField(),
                    "receipt": serializers.CharField(),
                },
            ),
            **{code: PosError for code in (400, 401, 403, 404, 409, 422)},
        },
    )
    def post(self, request: Request, purchase_id: int) -> Response:
        key = _idempotency_key(request)
        try:
            result = reverse_purchase(
                terminal=request_terminal(request), purchase_id=purchase_id, idempotency_key=key
            )
        except CheckoutError as error:
            raise _refusal(error) from None
        return _answer(result)
