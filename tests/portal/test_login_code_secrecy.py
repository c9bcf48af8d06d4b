"""Login codes are never stored or logged in clear: the outbox, its admin page, the console and
the logs carry the code masked, while the gateway gets the real one — and a code that expired
before it could be sent is never sent at all."""

import logging

import pytest
from django.core.cache import cache
from django.urls import reverse

from households import otp
from households.models import Person
from kalabarg.lib.persian import to_persian_digits
from kalabarg.lib.sms import memory_outbox
from kalabarg.portal import login as login_service
from notifications.models import MessageStatus, SmsMessage
from notifications.services import dispatch
from notifications.services.personal import secret_body_key
from tests.households.factories import make_household

pytestmark = pytest.mark.django_db

CODE = "402718"
LATIN_AND_PERSIAN = (CODE, to_persian_digits(CODE))


@pytest.fixture
def known_code(monkeypatch):  # type: ignore[no-untyped-def]
    """Every login code issued in the test is 402718, so output can be searched for it."""
    monkeypatch.setattr(otp.secrets, "randbelow", lambda _n: int(CODE))
    return CODE


def _head() -> Person:
    return Person.objects.get(household=make_household(), is_head=True)


def _request_code(head: Person, capture) -> SmsMessage:  # type: ignore[no-untyped-def]
    with capture(execute=True):
        login_service.request_login_code(
            national_code=head.national_code, mobile=head.mobile, ip="198.51.100.1"
        )
    return SmsMessage.objects.get(person=head, kind="login_code")


def test_the_outbox_keeps_the_code_masked_while_the_gateway_gets_the_real_one(
    sms_outbox, known_code, django_capture_on_commit_callbacks
):
    head = _head()

    message = _request_code(head, django_capture_on_commit_callbacks)

    assert message.status == MessageStatus.SENT
    assert "******" in message.body
    assert not any(code in message.body for code in LATIN_AND_PERSIAN)
    [sent] = memory_outbox()
    assert to_persian_digits(known_code) in sent.body
    assert cache.get(secret_body_key(message_id=message.pk)) is None  # gone once sent
    person = login_service.verify_login_code(
        national_code=head.national_code, code=known_code, ip="198.51.100.1"
    )
    assert person == head


def test_the_admin_pages_of_a_login_code_message_show_no_code(
    admin_client, sms_outbox, known_code, django_capture_on_commit_callbacks
):
    message = _request_code(_head(), django_capture_on_commit_callbacks)

    pages = [
        admin_client.get(reverse("admin:notifications_smsmessage_change", args=[message.pk])),
        admin_client.get(reverse("admin:notifications_smsmessage_changelist")),
    ]

    for page in pages:
        assert page.status_code == 200
        text = page.content.decode()
        assert not any(code in text for code in LATIN_AND_PERSIAN)
    assert "******" in pages[0].content.decode()


def test_the_console_backend_and_the_logs_carry_no_code(
    client, settings, capsys, caplog, known_code, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "console"
    settings.DEBUG = False
    head = _head()
    caplog.set_level(logging.DEBUG)

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/login/", {"national_code": head.national_code, "mobile": head.mobile})
    printed = capsys.readouterr()

    message = SmsMessage.objects.get(person=head, kind="login_code")
    assert message.status == MessageStatus.SENT
    assert f"to {head.mobile}]" in printed.out and "******" in printed.out
    output = printed.out + printed.err + caplog.text
    assert not any(code in output for code in LATIN_AND_PERSIAN)


def test_with_debug_on_the_console_shows_the_code_for_a_demo(
    settings, capsys, known_code, django_capture_on_commit_callbacks
):
    settings.SMS_BACKEND = "console"
    settings.DEBUG = True

    _request_code(_head(), django_capture_on_commit_callbacks)

    assert to_persian_digits(known_code) in capsys.readouterr().out


def test_a_message_whose_code_expired_before_sending_fails_instead_of_sending(
    sms_outbox, known_code, django_capture_on_commit_callbacks
):
    head = _head()
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        login_service.request_login_code(
            national_code=head.national_code, mobile=head.mobile, ip="198.51.100.1"
        )
    message = SmsMessage.objects.get(person=head, kind="login_code")
    cache.delete(secret_body_key(message_id=message.pk))  # the code's two minutes are over

    dispatch.send_messages_now(message_ids=[message.pk])

    message.refresh_from_db()
    assert (message.status, message.error_code) == (MessageStatus.FAILED, "secret_expired")
    assert memory_outbox() == []
