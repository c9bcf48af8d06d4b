"""send_personal_sms: rendered in Persian, sent once after commit, never twice for one key."""

import pytest
from django.core.exceptions import ValidationError

from households.models import Person
from kalabarg.lib.sms import memory_outbox
from notifications.models import MessageStatus, SmsKind, SmsMessage
from notifications.services import send_personal_sms
from tests.households.factories import make_household

pytestmark = pytest.mark.django_db


def _head() -> Person:
    return Person.objects.get(household=make_household(), is_head=True)


def test_a_login_code_is_sent_in_persian_digits_once_the_transaction_commits(
    django_capture_on_commit_callbacks,
):
    head = _head()
    with django_capture_on_commit_callbacks(execute=True):
        message = send_personal_sms(
            person=head,
            kind=SmsKind.LOGIN_CODE,
            context={"code": "402718", "minutes": 2},
            dedupe_key="login:1",
        )
        assert memory_outbox() == []  # nothing leaves before commit
    sent = memory_outbox()
    assert len(sent) == 1
    assert sent[0].mobile == head.mobile
    assert "۴۰۲۷۱۸" in sent[0].body and "۲ دقیقه" in sent[0].body
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == sent[0].provider_id
    assert message.attempts == 1


def test_the_same_dedupe_key_returns_the_first_message_and_sends_nothing_new(
    django_capture_on_commit_callbacks,
):
    head = _head()
    with django_capture_on_commit_callbacks(execute=True):
        first = send_personal_sms(
            person=head,
            kind=SmsKind.OBJECTION_DECIDED,
            context={"decision": "پذیرفته شد", "decile": 3},
            dedupe_key="objection:7:decided",
        )
    with django_capture_on_commit_callbacks(execute=True):
        again = send_personal_sms(
            person=head,
            kind=SmsKind.OBJECTION_DECIDED,
            context={"decision": "پذیرفته شد", "decile": 3},
            dedupe_key="objection:7:decided",
        )
    assert again.pk == first.pk
    assert len(memory_outbox()) == 1
    assert SmsMessage.objects.filter(dedupe_key="objection:7:decided").count() == 1


def test_money_in_a_personal_message_is_shown_in_toman(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        send_personal_sms(
            person=_head(),
            kind=SmsKind.BONUS_CREDITED,
            context={"amount_rial": 1_200_000, "cycle": "شهریور ۱۴۰۲"},
            dedupe_key="bonus:test",
        )
    assert memory_outbox()[0].body.startswith("۱۲۰٬۰۰۰ تومان اعتبار مضاعف")


def test_a_missing_value_is_a_field_error_with_a_stable_code():
    with pytest.raises(ValidationError) as caught:
        send_personal_sms(
            person=_head(), kind=SmsKind.LOGIN_CODE, context={"code": "1"}, dedupe_key="k"
        )
    assert caught.value.error_dict["context"][0].code == "sms_context_missing"


def test_a_value_that_carries_a_link_is_refused():
    with pytest.raises(ValidationError) as caught:
        send_personal_sms(
            person=_head(),
            kind=SmsKind.OBJECTION_DECIDED,
            context={"decision": "ببینید evil.ir", "decile": 3},
            dedupe_key="k2",
        )
    assert caught.value.error_dict["context"][0].code == "sms_template_has_link"
    assert not SmsMessage.objects.exists()


def test_an_invalid_number_fails_permanently_and_is_not_retried(
    settings, django_capture_on_commit_callbacks
):
    head = _head()
    Person.objects.filter(pk=head.pk).update(mobile="09990000001")
    head.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        message = send_personal_sms(
            person=head,
            kind=SmsKind.LOGIN_CODE,
            context={"code": "1", "minutes": 2},
            dedupe_key="k3",
        )
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "411"
    assert message.attempts == 1
    assert memory_outbox() == []
