"""A reversal through the POS API: the money returned, once, by the selling terminal."""

import datetime as dt
import itertools

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from settlements.models import EntryKind, JournalEntry
from settlements.selectors import wallet_balance
from settlements.services.reconcile import reconcile
from stores.models import Purchase, PurchaseStatus
from tests.settlements.factories import URL, post_purchase
from tests.stores.factories import make_terminal_with_key

pytestmark = pytest.mark.django_db


_keys = itertools.count(1)


def reverse(world, purchase_id: int, key: str | None = None, client=None):
    return (client or world["client"]).post(
        f"{URL}{purchase_id}/reversal/", HTTP_IDEMPOTENCY_KEY=key or f"r-{next(_keys)}"
    )


def test_a_reversal_returns_the_credit_to_the_wallet_and_the_compensation_to_the_fund(world):
    purchase = post_purchase(
        world, [{"item": "rice", "quantity": "8"}]
    ).json()  # rise 2,400,000: credit 2,000,000, comp 400,000

    response = reverse(world, purchase["purchase_id"])

    body = response.json()
    assert response.status_code == 200, body
    assert (body["credit_returned_rial"], body["compensation_returned_rial"]) == (
        2_000_000,
        400_000,
    )
    assert wallet_balance(household_id=world["household"].pk) == 2_000_000
    assert Purchase.objects.get(pk=purchase["purchase_id"]).status == PurchaseStatus.REVERSED
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1
    assert reconcile(verify_digests=False).ok


def test_a_reversal_replayed_with_its_key_answers_the_same_and_reverses_once(world):
    purchase = post_purchase(world, [{"item": "rice", "quantity": "1"}]).json()

    first = reverse(world, purchase["purchase_id"], key="rev")
    again = reverse(world, purchase["purchase_id"], key="rev")
    other = reverse(world, purchase["purchase_id"], key="rev-2")

    assert again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "purchase_already_reversed")
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def test_another_terminal_cannot_reverse_a_purchase(world):
    purchase = post_purchase(world, [{"item": "rice", "quantity": "1"}]).json()
    _, other_key = make_terminal_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")

    response = reverse(world, purchase["purchase_id"], client=other)

    assert (response.status_code, response.json()["code"]) == (404, "purchase_not_found")


def test_a_purchase_from_another_day_cannot_be_reversed(world):
    purchase = post_purchase(world, [{"item": "rice", "quantity": "1"}]).json()
    Purchase.objects.filter(pk=purchase["purchase_id"]).update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )

    response = reverse(world, purchase["purchase_id"])

    assert (response.status_code, response.json()["code"]) == (409, "reversal_too_late")


def test_reversing_the_purchase_that_earned_the_bonus_takes_the_unspent_bonus_back(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        purchase = post_purchase(world, [{"item": "rice", "quantity": "10"}]).json()
    assert wallet_balance(household_id=world["household"].pk) == 1_200_000

    response = reverse(world, purchase["purchase_id"])

    assert response.status_code == 200, response.json()
    assert response.json()["bonus_taken_back_rial"] == 1_200_000
    assert wallet_balance(household_id=world["household"].pk) == 2_000_000
    assert reconcile(verify_digests=False).ok


def test_a_reversal_is_refused_when_the_bonus_it_earned_is_no_longer_in_the_wallet(
    world, django_capture_on_commit_callbacks
):
    # Within one cycle the returned credit always covers the bonus (see docs/pos-integration.md);
    # a correction that took money out of the wallet after the bonus is what can make it fall short.
    from settlements.models import AccountKind
    from settlements.services.ledger import Leg, post_entry, system_account, wallet_for

    post_purchase(world, [{"item": "rice", "quantity": "5"}])  # credit 1,500,000
    with django_capture_on_commit_callbacks(execute=True):
        crossing = post_purchase(
            world, [{"item": "cheese", "quantity": "0.625"}]
        ).json()  # credit 500,000: bonus
    wallet = wallet_for(household=world["household"])
    post_entry(
        kind=EntryKind.EXPIRY,
        idempotency_key="correction",
        legs=[
            Leg(wallet, -1_000_000),
            Leg(system_account(kind=AccountKind.PROGRAMME_FUND), 1_000_000),
        ],
    )

    response = reverse(world, crossing["purchase_id"])

    assert (response.status_code, response.json()["code"]) == (409, "reversal_bonus_spent")
    assert Purchase.objects.get(pk=crossing["purchase_id"]).status == PurchaseStatus.COMPLETED
    assert wallet_balance(household_id=world["household"].pk) == 200_000
