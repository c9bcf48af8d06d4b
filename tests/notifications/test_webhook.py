"""The delivery-report webhook: a shared secret, stable error codes, never a 500."""

import pytest

from notifications.models import MessageStatus, SmsMessage
from tests.notifications.factories import SmsMessageFactory, heads_in_deciles

pytestmark = pytest.mark.django_db
URL = "/api/v1/sms/delivery-reports/"


@pytest.fixture(autouse=True)
def _secret(settings):
    settings.SMS_WEBHOOK_SECRET = "s3cret"


def _sent(provider_id: str) -> SmsMessage:
    head = heads_in_deciles({4: 1})[0]
    return SmsMessageFactory(
        person=head, dedupe_key=f"k{provider_id}", provider_message_id=provider_id
    )


def test_a_delivered_report_marks_the_message_delivered(client):
    message = _sent("7001")
    failed = _sent("7002")
    response = client.post(
        URL,
        {"reports": [{"messageid": "7001", "status": 10}, {"messageid": "7002", "status": 11}, {"messageid": "9", "status": 10}]},
        content_type="application/json",
        headers={"X-SMS-Webhook-Secret": "s3cret"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json() == {"updated": 2, "unknown": 1}
    message.refresh_from_db()
    failed.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.delivered_at
    assert failed.status == MessageStatus.FAILED and failed.error_code == "undelivered_11"


def test_a_kavenegar_style_form_report_is_accepted(client):
    message = _sent("7003")
    response = client.post(
        URL, {"messageid": "7003", "status": "10"}, headers={"X-SMS-Webhook-Secret": "s3cret"}
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED


@pytest.mark.parametrize("secret", [None, "", "wrong"])
def test_a_missing_or_wrong_secret_is_refused_with_its_code(client, secret):
    headers = {"X-SMS-Webhook-Secret": secret} if secret is not None else {}
    response = client.post(
        URL, {"reports": [{"messageid": "1", "status": 10}]}, content_type="application/json",
        headers=headers,
    )  # fmt: skip
    assert response.status_code == 401
    assert response.json()["code"] == "sms_webhook_unauthorized"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"reports": []}',
        '{"reports": "x"}',
        '{"reports": [{"messageid": "1"}]}',
        '{"reports": [{"messageid": "1", "status": "delivered"}]}',
        '{"reports": [7]}',
        "[]",
    ],
)
def test_bad_input_is_a_400_with_a_stable_code(client, body):
    response = client.post(
        URL, body, content_type="application/json", headers={"X-SMS-Webhook-Secret": "s3cret"}
    )
    assert response.status_code == 400
    assert response.json()["code"] in {"validation_error", "parse_error"}


def test_the_webhook_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/sms/delivery-reports/" in schema["paths"]
