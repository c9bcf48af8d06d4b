"""The head hears of every purchase and reversal (issue 13 §6): one message each, built after
commit by the every-minute builder (``purchase:<id>``, ``reversal:<id>``), never on the POS path."""

import datetime as dt

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from households.models import Household, Person
from kalabarg.lib.sms import memory_outbox
from notifications import templating
from notifications.models import SmsFeedWatermark, SmsKind, SmsMessage, SmsTemplate
from notifications.services.purchases import (
    FEED,
    FEED_MARGIN,
    STORE_FALLBACK_NAME,
    queue_purchase_messages,
)
from notifications.tasks import sms_queue_purchase_messages
from settlements.selectors import wallet_balance
from settlements.services.checkout.errors import CheckoutError
from stores.models import IdempotencyRecord, Purchase
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge, checkout_purchase, reverse, this_month
from tests.stores.factories import StoreFactory, make_terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def household() -> Household:
    """A decile-4 household of one person."""
    return make_household(decile=4)


@pytest.fixture
def cycle(household):  # type: ignore[no-untyped-def]
    """This month charged: ``household`` holds 2,000,000 rial of credit."""
    return charge(this_month())


def _head(household: Household) -> Person:
    return household.members.get(is_head=True)


def _expected(kind: str, *, store: str, credit_rial: int, balance_rial: int) -> str:
    template = SmsTemplate.objects.get(kind=kind).body
    return templating.render(
        template, {"store": store, "credit_rial": credit_rial, "balance_rial": balance_rial}
    )


def test_a_purchase_texts_the_head_once_with_the_store_the_credit_and_the_balance(household, cycle):
    terminal = make_terminal(StoreFactory(name="فروشگاه محله"))
    purchase = buy(household, cycle=cycle, base=500_000, current=800_000, terminal=terminal)
    assert SmsMessage.objects.count() == 0  # nothing on the purchase's own path

    assert sms_queue_purchase_messages() == 1  # the beat task: builds and sends (eager here)
    assert sms_queue_purchase_messages() == 0  # a re-run adds nothing
    assert queue_purchase_messages() == []

    message = SmsMessage.objects.get()
    head = _head(household)
    assert (message.person, message.mobile, message.kind, message.dedupe_key) == (
        head, head.mobile, SmsKind.PURCHASE_MADE, f"purchase:{purchase.pk}",
    )  # fmt: skip
    assert purchase.credit_rial == 300_000
    assert wallet_balance(household_id=household.pk) == 1_700_000
    assert message.body == _expected(
        SmsKind.PURCHASE_MADE, store="فروشگاه محله", credit_rial=300_000, balance_rial=1_700_000
    )
    assert "۳۰٬۰۰۰ تومان" in message.body and "۱۷۰٬۰۰۰ تومان" in message.body
    assert templating.find_link(message.body) is None
    sent = memory_outbox()
    assert [(s.mobile, s.body) for s in sent] == [(head.mobile, message.body)]


def test_each_message_shows_the_balance_after_its_own_purchase_as_the_receipt_did(household, cycle):
    first = buy(household, cycle=cycle, base=500_000, current=800_000)
    second = buy(household, cycle=cycle, base=100_000, current=200_000)
    answers = {
        r.purchase_id: r.response_body["wallet_balance_rial"]
        for r in IdempotencyRecord.objects.filter(purchase__in=[first, second])
    }
    assert answers == {first.pk: 1_700_000, second.pk: 1_600_000}

    queue_purchase_messages()

    for purchase in (first, second):
        message = SmsMessage.objects.get(dedupe_key=f"purchase:{purchase.pk}")
        assert message.body == _expected(
            SmsKind.PURCHASE_MADE,
            store=purchase.store.name,
            credit_rial=purchase.credit_rial,
            balance_rial=answers[purchase.pk],
        )


def test_a_reversal_texts_the_head_once_with_the_credit_returned(household, cycle):
    purchase = buy(household, cycle=cycle, base=500_000, current=800_000)
    queue_purchase_messages()
    reverse(purchase)

    assert len(queue_purchase_messages()) == 1
    assert queue_purchase_messages() == []

    message = SmsMessage.objects.get(kind=SmsKind.PURCHASE_REVERSED)
    assert message.dedupe_key == f"reversal:{purchase.pk}"
    assert message.person == _head(household)
    assert message.body == _expected(
        SmsKind.PURCHASE_REVERSED,
        store=purchase.store.name,
        credit_rial=300_000,
        balance_rial=2_000_000,
    )
    assert SmsMessage.objects.filter(kind=SmsKind.PURCHASE_MADE).count() == 1


def test_a_refused_or_rolled_back_purchase_texts_nobody(household, cycle):
    with pytest.raises(CheckoutError):  # a basket item nobody sells: refused
        checkout_purchase(household, lines={"no-such-item": 1})
    with pytest.raises(RuntimeError), transaction.atomic():
        buy(household, cycle=cycle, base=500_000, current=800_000)
        raise RuntimeError("the caller's transaction rolls back")
    assert not Purchase.objects.filter(household=household).exists()

    assert queue_purchase_messages() == []
    assert not SmsMessage.objects.exists()


def test_a_household_that_turned_the_messages_off_gets_none(household, cycle):
    Household.objects.filter(pk=household.pk).update(purchase_sms=False)
    purchase = buy(household, cycle=cycle, base=500_000, current=800_000)
    reverse(purchase)

    assert queue_purchase_messages() == []
    assert not SmsMessage.objects.exists()


def test_the_purchase_itself_writes_and_reads_nothing_of_the_sms_outbox(household, cycle):
    with CaptureQueriesContext(connection) as captured:
        buy(household, cycle=cycle, base=500_000, current=800_000)
    assert not [q["sql"] for q in captured.captured_queries if "notifications_" in q["sql"]]


def test_a_purchase_that_commits_after_the_watermark_passed_it_is_still_texted(household, cycle):
    purchase = buy(household, cycle=cycle, base=500_000, current=800_000)
    # A builder ran while the purchase's transaction was still open: the watermark is past the
    # moment the purchase was stamped with, but within the margin.
    late = purchase.created_at + FEED_MARGIN / 2
    SmsFeedWatermark.objects.create(name=FEED, scanned_to=late)

    assert len(queue_purchase_messages(now=late + dt.timedelta(minutes=1))) == 1
    assert SmsFeedWatermark.objects.get(name=FEED).scanned_to == late + dt.timedelta(minutes=1)


def test_purchases_older_than_the_watermark_and_its_margin_are_not_scanned_again(household, cycle):
    purchase = buy(household, cycle=cycle, base=500_000, current=800_000)
    SmsFeedWatermark.objects.create(
        name=FEED, scanned_to=purchase.created_at + FEED_MARGIN + dt.timedelta(seconds=1)
    )
    assert queue_purchase_messages(now=purchase.created_at + 2 * FEED_MARGIN) == []


def test_a_store_name_that_reads_as_a_link_is_never_put_in_the_message(household, cycle):
    terminal = make_terminal(StoreFactory(name="جایزه kalabarg-gift.ir"))
    buy(household, cycle=cycle, base=500_000, current=800_000, terminal=terminal)

    queue_purchase_messages()

    body = SmsMessage.objects.get().body
    assert STORE_FALLBACK_NAME in body and "gift" not in body
    assert templating.find_link(body) is None
