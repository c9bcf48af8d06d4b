"""Sign-in for the app: ``auth/otp`` sends a code by SMS, ``auth/token`` trades it for a bearer
token, ``auth/logout`` revokes it (the same SMS login as the web pages, ``kalabarg.portal.login``)."""

from typing import Any

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication
from households.services import (
    ACCESS_TOKEN_TTL,
    issue_access_token,
    revoke_access_token,
)
from kalabarg.lib.api import StrictCharField
from kalabarg.portal import login as login_service
from kalabarg.portal.api.errors import client_ip, error_responses, refusal_error


class LoginCodeApi(APIView):
    """Ask for a 6-digit login code by SMS. The answer is the same whether or not the national
    code exists or the mobile is registered for it; only a malformed field, a rate limit or the
    60-second resend wait is refused."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    class LoginCodeInSerializer(serializers.Serializer):
        national_code = StrictCharField(max_length=20)
        mobile = StrictCharField(max_length=20)

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
            **error_responses(400, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.LoginCodeInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            result = login_service.request_login_code(
                national_code=data.validated_data["national_code"],
                mobile=data.validated_data["mobile"],
                ip=client_ip(request=request),
            )
        except login_service.LoginRefused as refusal:
            raise refusal_error(refusal) from None
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
        national_code = StrictCharField(max_length=20)
        code = StrictCharField(max_length=12, help_text="the 6 digits from the SMS")

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
            **error_responses(400, 429),
        },
    )
    def post(self, request: Request) -> Response:
        data = self.TokenInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            person = login_service.verify_login_code(
                national_code=data.validated_data["national_code"],
                code=data.validated_data["code"],
                ip=client_ip(request=request),
            )
        except login_service.LoginRefused as refusal:
            raise refusal_error(refusal) from None
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
        responses={204: None, **error_responses(401)},
    )
    def post(self, request: Request) -> Response:
        revoke_access_token(key=str(request.auth))
        return Response(status=status.HTTP_204_NO_CONTENT)
