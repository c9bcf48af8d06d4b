"""``POST /api/v1/sms/delivery-reports/``: the gateway's delivery reports (shared-secret header)."""

import hmac
from typing import Any

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kalabarg.lib.api import ApiError, StrictCharField, StrictIntegerField, error_schema
from notifications.services import reports

SECRET_HEADER = "X-SMS-Webhook-Secret"  # noqa: S105 (a header name, not a secret)

# Every refusal of the webhook, with its HTTP status (documented in the schema).
DELIVERY_REPORT_ERROR_CODES = {
    "validation_error": 400,
    "parse_error": 400,
    "sms_webhook_unauthorized": 401,
}
DeliveryReportError = error_schema(
    "DeliveryReportError",
    field_error_name="DeliveryReportFieldError",
    codes=DELIVERY_REPORT_ERROR_CODES,
)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "maxLength": 64, "pattern": r"^[^\x00]*[^\x00\s][^\x00]*$"},
            {"type": "integer", "minimum": 0, "maximum": 10**18},
        ]
    }
)
class MessageIdField(serializers.CharField):
    """The gateway's message id: text, or a number as some gateways send it in JSON."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, bool) or not isinstance(data, str | int):
            self.fail("invalid")
        if isinstance(data, int) and not 0 <= data <= 10**18:
            self.fail("invalid")
        return super().to_internal_value(data)


class DeliveryReportApi(APIView):
    """Delivery reports in the gateway's status codes (10 delivered; 6, 11, 13, 14 failed; others
    pending). A report for an unknown id, or for a message already final, changes nothing."""

    class Report(serializers.Serializer):
        messageid = MessageIdField(max_length=64)
        status = StrictIntegerField(min_value=0, max_value=1000)

    class Input(serializers.Serializer):
        reports = serializers.ListField(min_length=1, max_length=1000)

        def validate_reports(self, value: list[Any]) -> list[dict[str, Any]]:
            checked = []
            for index, item in enumerate(value):
                report = DeliveryReportApi.Report(data=item if isinstance(item, dict) else {})
                if not report.is_valid():
                    raise serializers.ValidationError({str(index): report.errors})
                checked.append(report.validated_data)
            return checked

    class Output(serializers.Serializer):
        updated = serializers.IntegerField()
        unknown = serializers.IntegerField()

    class FormReport(serializers.Serializer):
        """One report as a Kavenegar-style form post."""

        messageid = StrictCharField(max_length=64)
        status = serializers.IntegerField(min_value=0, max_value=1000)

    @extend_schema(
        operation_id="sms_delivery_reports",
        tags=["sms"],
        request={
            "application/json": inline_serializer(
                "DeliveryReportsIn",
                {"reports": serializers.ListField(child=Report(), min_length=1, max_length=1000)},
            ),
            "application/x-www-form-urlencoded": FormReport,
        },
        responses={
            200: Output,
            400: DeliveryReportError,
            401: DeliveryReportError,
        },
        parameters=[OpenApiParameter(SECRET_HEADER, str, OpenApiParameter.HEADER, required=True)],
        summary="گزارش تحویل پیامک‌ها (از سامانه پیامک)",
    )
    def post(self, request: Request) -> Response:
        secret = settings.SMS_WEBHOOK_SECRET
        given = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
            raise ApiError(
                "sms_webhook_unauthorized",
                "کلید گزارش تحویل نادرست است",
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        data = request.data
        if hasattr(data, "getlist"):  # one Kavenegar-style form report: every value is text
            form = self.FormReport(data=data)
            form.is_valid(raise_exception=True)
            checked = [form.validated_data]
        else:
            serializer = self.Input(data=data)
            serializer.is_valid(raise_exception=True)
            checked = serializer.validated_data["reports"]
        outcome = reports.apply_provider_statuses(
            statuses=[(r["messageid"], r["status"]) for r in checked]
        )
        return Response(self.Output({"updated": outcome.updated, "unknown": outcome.unknown}).data)
