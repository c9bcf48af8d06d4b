"""The POS API's promises under real concurrency on PostgreSQL (threads, each its own connection)."""

import pytest
from rest_framework.test import APIClient

from households import services as household_services
from settlements.models import EntryKind, JournalEntry
from settlements.selectors import wallet_balance
from settlements.services.reconcile import reconcile
from stores.models import Purchase
from tests.concurrency import in_threads
from tests.households.factories import make_household, next_card_number
from tests.settlements.factories import URL, charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal_with_key

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(params=["in_one_call", "in_python"])
def shop(request, settings):
    """Both writes of a card purchase: the PostgreSQL function and the Python steps."""
    settings.CHECKOUT_IN_ONE_CALL = request.param == "in_one_call"
    seeded_phases()
    household = make_household(decile=2)
    card = next_card_number()
    household_services.register_card(person=household.members.get(), card_number=card)
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    keys = [make_terminal_with_key()[1] for _ in range(2)]
    return household, card, keys


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_fifty_concurrent_purchases_from_two_terminals_never_overdraw_the_wallet(shop):
    household, card, keys = shop

    def purchase(index: int):
        response = client_for(keys[index % 2]).post(
            URL, {"card_number": card, "lines": [{"item": "rice", "quantity": "1"}]}, format="json",
            HTTP_IDEMPOTENCY_KEY=f"p-{index}",
        )  # fmt: skip
        return response.status_code, response.json()

    results = in_threads(50, purchase)

    assert all(isinstance(r, tuple) and r[0] == 201 for r in results), results
    purchases = Purchase.objects.filter(household=household)
    assert purchases.count() == 50
    credit_spent = sum(p.credit_rial for p in purchases)
    bonus = (
        1_200_000
        if JournalEntry.objects.filter(household=household, kind=EntryKind.BONUS).exists()
        else 0
    )
    assert sum(p.credit_rial + p.compensation_rial for p in purchases) == 50 * 300_000
    assert 2_000_000 <= credit_spent <= 2_000_000 + bonus  # all the credit there was, never more
    assert wallet_balance(household_id=household.pk) == 2_000_000 + bonus - credit_spent >= 0
    assert reconcile(verify_digests=False).ok


def test_twenty_concurrent_replays_of_one_key_make_one_purchase(shop):
    household, card, keys = shop

    def replay(index: int):
        response = client_for(keys[0]).post(
            URL, {"card_number": card, "lines": [{"item": "rice", "quantity": "2"}]}, format="json",
            HTTP_IDEMPOTENCY_KEY="the-same-key",
        )  # fmt: skip
        return response.status_code, response.json()

    results = in_threads(20, replay)

    assert Purchase.objects.filter(household=household).count() == 1
    created = [body for status, body in results if status == 201]
    assert created and all(body == created[0] for body in created)
    assert all(status in (201, 409) for status, _ in results)
    assert wallet_balance(household_id=household.pk) == 2_000_000 - 600_000


def test_one_payment_code_purchase_sent_ten_times_at_once_makes_one_purchase(shop):
    """The other nine wait on the code's row lock, find it used, and answer with the first's
    answer (or 409), never with payment_code_invalid."""
    household, _, keys = shop
    code, _ = household_services.create_payment_code(person=household.members.get())

    def replay(index: int):
        response = client_for(keys[0]).post(
            URL, {"payment_code": code, "lines": [{"item": "rice", "quantity": "1"}]}, format="json",
            HTTP_IDEMPOTENCY_KEY="one-code-key",
        )  # fmt: skip
        return response.status_code, response.json()

    results = in_threads(10, replay)

    assert Purchase.objects.filter(household=household).count() == 1
    assert all(isinstance(r, tuple) and r[0] in (201, 409) for r in results), results
    created = [body for status, body in results if status == 201]
    assert created and all(body == created[0] for body in created)


def test_one_key_sent_at_once_with_different_bodies_makes_one_purchase(shop):
    """The key's first body wins; every other body hears idempotency_key_reused (or 409 while the
    first is in flight), and none of them is written."""
    household, card, keys = shop

    def send(index: int):
        quantity = f"{index + 1}"
        response = client_for(keys[0]).post(
            URL, {"card_number": card, "lines": [{"item": "rice", "quantity": quantity}]}, format="json",
            HTTP_IDEMPOTENCY_KEY="contested-key",
        )  # fmt: skip
        return response.status_code, response.json()

    results = in_threads(8, send)

    assert Purchase.objects.filter(household=household).count() == 1
    assert [status for status, _ in results].count(201) == 1, results
    others = [(status, body["code"]) for status, body in results if status != 201]
    assert all(
        other in ((422, "idempotency_key_reused"), (409, "request_in_progress")) for other in others
    ), others
    purchase = Purchase.objects.get(household=household)
    winner = next(body for status, body in results if status == 201)
    assert winner["purchase_id"] == purchase.pk
