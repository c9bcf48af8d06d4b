"""The household app's JSON API (what the Shoma app shows). Views are thin.

Sign-in is the same SMS login as the web pages (``kalabarg.portal.login``): ``auth/otp`` sends a
code, ``auth/token`` trades it for a bearer token, ``auth/logout`` revokes it. Everything under
``me/`` is the signed-in person's own household only; another household's id is a 404.
"""

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from households.models import ObjectionCategory
from households.objections import file_objection
from households.services import (
    ACCESS_TOKEN_TTL,
    PAYMENT_CODE_TTL,
    create_payment_code,
    issue_access_token,
    revoke_access_token,
)
from kalabarg.lib.api import ApiError, NoCountPagination
from kalabarg.portal import login as login_service
from kalabarg.portal import selectors

# Every refusal of the household API, with its HTTP status (documented in the schema).
ME_ERROR_CODES = {
    "validation_error": 400,
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

MeError = inline_serializer(
    "MeError",
    {
        "code": serializers.ChoiceField(choices=sorted(ME_ERROR_CODES)),
        "message": serializers.CharField(help_text="Persian, to show to the person"),
        "errors": inline_serializer(
            "MeFieldError",
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


def _errors(*statuses: int) -> dict[int, Any]:
    return dict.fromkeys(statuses, MeError)


def _refusal(refusal: login_service.LoginRefused) -> ApiError:
    error = ApiError(refusal.code, refusal.message, status_code=refusal.status)
    if refusal.retry_after:
        error.retry_after = refusal.retry_after  # type: ignore[attr-defined]
    return error


def _client_ip(request: Request) -> str:
    return login_service.client_ip(request.META)


class LoginCodeApi(APIView):
    """Ask for a 6-digit login code by SMS. The answer is the same whether or not the national
    code exists or the mobile is registered for it; only a malformed field, a rate limit or the
    60-second resend wait is refused."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    class LoginCodeInSerializer(serializers.Serializer):
        national_code = serializers.CharField(max_length=20)
        mobile = serializers.CharField(max_length=20)

    @extend_schema(
        operation_id="auth_otp_request",
        tags=["auth"],
        request=LoginCodeInSerializer,
        responses={
            202: inline_serializer(
                "LoginCodeRequested",
                {
                    "message": serializers.CharField(),
                    "resend_after_seconds": serializers.IntegerField(),
                    "expires_in_seconds": serializers.IntegerField(),
                },
            ),
            **_errors(400, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.LoginCodeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = login_service.request_login_code(
                national_code=data.validated_data["national_code"],
                mobile=data.validated_data["mobile"],
                ip=_client_ip(request),
            )
        except login_service.LoginRefused as refusal:
            raise _refusal(refusal) from None
        return Response(
            {
                "message": result.message,
                "resend_after_seconds": result.resend_after_seconds,
                "expires_in_seconds": result.expires_in_seconds,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class TokenApi(APIView):
    """Trade the SMS code for a bearer token (valid 12 hours). A wrong, expired, used or
    exhausted code all get ``login_code_invalid``."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    class TokenInSerializer(serializers.Serializer):
        national_code = serializers.CharField(max_length=20)
        code = serializers.CharField(max_length=12, help_text="the 6 digits from the SMS")

    @extend_schema(
        operation_id="auth_token",
        tags=["auth"],
        request=TokenInSerializer,
        responses={
            200: inline_serializer(
                "AccessTokenOut",
                {
                    "token": serializers.CharField(help_text="send as Authorization: Bearer …"),
                    "token_type": serializers.CharField(),
                    "expires_at": serializers.DateTimeField(),
                    "expires_in_seconds": serializers.IntegerField(),
                },
            ),
            **_errors(400, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.TokenInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            person = login_service.verify_login_code(
                national_code=data.validated_data["national_code"],
                code=data.validated_data["code"],
                ip=_client_ip(request),
            )
        except login_service.LoginRefused as refusal:
            raise _refusal(refusal) from None
        key, token = issue_access_token(person=person)
        return Response(
            {
                "token": key,
                "token_type": "Bearer",
                "expires_at": token.expires_at.isoformat(),
                "expires_in_seconds": int(ACCESS_TOKEN_TTL.total_seconds()),
            }
        )


class LogoutApi(APIView):
    """Revoke the bearer token this request carries."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        tags=["auth"],
        request=None,
        responses={204: None, **_errors(401)},
    )
    def post(self, request: Request) -> Response:
        revoke_access_token(key=str(request.auth))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MyMemberOut(serializers.Serializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    relation = serializers.CharField()
    relation_display = serializers.CharField(source="get_relation_display")
    is_head = serializers.BooleanField()
    national_code_masked = serializers.CharField(source="masked_national_code")


class MeApi(APIView):
    """The signed-in person's household: decile, eligibility, credit balance, bonus progress."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me",
        tags=["me"],
        responses={
            200: inline_serializer(
                "Me",
                {
                    "person": MyMemberOut(),
                    "household": inline_serializer(
                        "MeHousehold",
                        {
                            "province": serializers.CharField(),
                            "city": serializers.CharField(),
                            "members": MyMemberOut(many=True),
                        },
                    ),
                    "decile": inline_serializer(
                        "MeDecile",
                        {
                            "decile": serializers.IntegerField(),
                            "effective_from": serializers.DateField(),
                        },
                        allow_null=True,
                    ),
                    "eligibility": inline_serializer(
                        "MeEligibility",
                        {
                            "covered": serializers.BooleanField(),
                            "phase": serializers.CharField(allow_null=True),
                            "basis": serializers.CharField(allow_null=True),
                            "cash_subsidy_rial": serializers.IntegerField(allow_null=True),
                            "credit_per_cycle_rial": serializers.IntegerField(allow_null=True),
                        },
                    ),
                    "balance_rial": serializers.IntegerField(),
                    "bonus": inline_serializer(
                        "MeBonusProgress",
                        {
                            "cycle": serializers.CharField(),
                            "spent_rial": serializers.IntegerField(),
                            "threshold_rial": serializers.IntegerField(),
                            "remaining_rial": serializers.IntegerField(),
                            "bonus_rial": serializers.IntegerField(),
                            "percent": serializers.IntegerField(),
                            "granted": serializers.BooleanField(),
                        },
                        allow_null=True,
                    ),
                    "open_objection_id": serializers.IntegerField(allow_null=True),
                },
            ),
            **_errors(401),
        },
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        d = selectors.dashboard(person=person)
        members = selectors.household_members(household_id=person.household_id)
        household = person.household
        progress = d.progress
        objection = d.latest_objection
        return Response(
            {
                "person": MyMemberOut(person).data,
                "household": {
                    "province": household.province.name,
                    "city": household.city.name,
                    "members": MyMemberOut(members, many=True).data,
                },
                "decile": (
                    {"decile": d.decile.decile, "effective_from": d.decile.effective_from}
                    if d.decile
                    else None
                ),
                "eligibility": {
                    "covered": d.covered,
                    "phase": d.phase.name if d.covered and d.phase else None,
                    "basis": d.phase.basis if d.covered and d.phase else None,
                    "cash_subsidy_rial": d.cash_subsidy_rial,
                    "credit_per_cycle_rial": d.credit_per_cycle_rial,
                },
                "balance_rial": d.balance_rial,
                "bonus": (
                    {
                        "cycle": d.cycle.key if d.cycle else "",
                        "spent_rial": progress.spent_rial,
                        "threshold_rial": progress.threshold_rial,
                        "remaining_rial": progress.remaining_rial,
                        "bonus_rial": progress.bonus_rial,
                        "percent": progress.percent,
                        "granted": progress.granted,
                    }
                    if progress
                    else None
                ),
                "open_objection_id": objection.pk if objection and objection.is_open else None,
            }
        )


class MyPurchaseSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.CharField(source="store.name")
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    paid_with = serializers.CharField()
    base_total_rial = serializers.IntegerField()
    current_total_rial = serializers.IntegerField()
    cash_rial = serializers.IntegerField(help_text="paid by the household (base prices)")
    credit_rial = serializers.IntegerField(help_text="from the kalabarg credit")
    compensation_rial = serializers.IntegerField(help_text="government inflation compensation")


class MyPurchaseLineOut(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="item.unit")
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3)
    unit_base_price_rial = serializers.IntegerField()
    unit_current_price_rial = serializers.IntegerField()
    base_amount_rial = serializers.IntegerField()
    current_amount_rial = serializers.IntegerField()


class MyPurchaseDetailOut(MyPurchaseSummaryOut):
    city = serializers.CharField(source="store.city.name")
    province = serializers.CharField(source="store.province.name")
    reversed_at = serializers.DateTimeField(allow_null=True)
    card_last4 = serializers.CharField()
    lines = MyPurchaseLineOut(many=True, source="lines.all")


PAGE_PARAMETERS = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


def _page(name: str, result: Any) -> Any:
    return inline_serializer(
        name,
        {
            "page": serializers.IntegerField(),
            "page_size": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": result,
        },
    )


class MyPurchasesApi(APIView):
    """The household's purchases, newest first, without a full count."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_purchases",
        tags=["me"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: _page("PurchasePage", MyPurchaseSummaryOut(many=True)),
            **_errors(400, 401),
        },
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        queryset = selectors.household_purchases(household_id=person.household_id)
        rows, meta = NoCountPagination().paginate(queryset, request)
        return Response({**meta, "results": MyPurchaseSummaryOut(rows, many=True).data})


class MyPurchaseApi(APIView):
    """One purchase of the household with its items and the cash / credit / compensation split."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_purchase",
        tags=["me"],
        responses={200: MyPurchaseDetailOut, **_errors(401, 404)},
    )
    def get(self, request: Request, purchase_id: int) -> Response:
        person = request_person(request)
        purchase = selectors.household_purchase(
            household_id=person.household_id, purchase_id=purchase_id
        )
        if purchase is None:
            raise ApiError("not_found", "خرید پیدا نشد", status_code=status.HTTP_404_NOT_FOUND)
        return Response(MyPurchaseDetailOut(purchase).data)


class MyObjectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    description = serializers.CharField()
    decile_at_filing = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    new_decile = serializers.IntegerField(allow_null=True)
    new_decile_from = serializers.DateField(allow_null=True)


class MyObjectionsApi(APIView):
    """The household's decile objections (درخواست بازبینی دهک), and filing a new one.

    One open objection per household at a time: a second is ``objection_already_open`` (409)."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    class ObjectionInSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=ObjectionCategory.choices)
        description = serializers.CharField(max_length=1000)

    @extend_schema(
        operation_id="me_objections",
        tags=["me"],
        parameters=PAGE_PARAMETERS,
        responses={200: _page("ObjectionPage", MyObjectionOut(many=True)), **_errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        queryset = selectors.household_objections(household_id=person.household_id)
        rows, meta = NoCountPagination().paginate(queryset, request)
        return Response({**meta, "results": MyObjectionOut(rows, many=True).data})

    @extend_schema(
        operation_id="me_objection_create",
        tags=["me"],
        request=ObjectionInSerializer,
        responses={201: MyObjectionOut, **_errors(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        data = self.ObjectionInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            objection = file_objection(
                person=request_person(request),
                category=data.validated_data["category"],
                description=data.validated_data["description"],
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "objection_already_open":
                raise ApiError(
                    "objection_already_open",
                    exc.messages[0],
                    status_code=status.HTTP_409_CONFLICT,
                ) from None
            raise
        return Response(MyObjectionOut(objection).data, status=status.HTTP_201_CREATED)


class MyObjectionApi(APIView):
    """One objection of the household, with the officer's decision once made."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_objection",
        tags=["me"],
        responses={200: MyObjectionOut, **_errors(401, 404)},
    )
    def get(self, request: Request, objection_id: int) -> Response:
        person = request_person(request)
        objection = selectors.household_objection(
            household_id=person.household_id, objection_id=objection_id
        )
        if objection is None:
            raise ApiError("not_found", "درخواست پیدا نشد", status_code=status.HTTP_404_NOT_FOUND)
        return Response(MyObjectionOut(objection).data)


class PaymentCodeApi(APIView):
    """Create a one-time 8-digit code for a card-less purchase (heads only; valid 10 minutes)."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_payment_code_create",
        tags=["me"],
        request=None,
        responses={
            201: inline_serializer(
                "PaymentCodeOut",
                {
                    "payment_code": serializers.CharField(help_text="8 digits, shown once"),
                    "expires_at": serializers.DateTimeField(),
                    "valid_seconds": serializers.IntegerField(),
                },
            ),
            **_errors(401, 403),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            code, record = create_payment_code(person=request_person(request))
        except ValidationError as exc:
            error = exc.error_dict["person"][0]
            raise ApiError(
                error.code or "invalid", error.messages[0], status_code=status.HTTP_403_FORBIDDEN
            ) from None
        return Response(
            {
                "payment_code": code,
                "expires_at": record.expires_at.isoformat(),
                "valid_seconds": int(PAYMENT_CODE_TTL.total_seconds()),
            },
            status=status.HTTP_201_CREATED,
        )
