"""``me/payment-codes/``: a one-time 8-digit payment code for a purchase without a card (heads)."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from households.services import (
    PAYMENT_CODE_TTL,
    create_payment_code,
)
from kalabarg.lib.api import ApiError
from kalabarg.portal.api.errors import error_responses


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
            **error_responses(401, 403),
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
