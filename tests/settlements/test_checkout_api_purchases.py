"""A purchase through the POS API: the split to the rial, who pays, one answer a key."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from households import services as household_services
from settlements.selectors import wallet_balance
from settlements.services.reconcile import reconcile
from stores.models import Purchase
from tests.households.factories import next_card_number
from tests.settlements.factories import URL, post_purchase, set_prices

pytestmark = pytest.mark.django_db


def test_the_worked_example_of_the_source_holds_to_the_rial_through_the_api(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_purchase(
            world, [{"item": "rice", "quantity": "10"}]
        )  # base 5,000,000, current 8,000,000

    body = response.json()
    assert response.status_code == 201, body
    assert (body["base_total_rial"], body["current_total_rial"]) == (5_000_000, 8_000_000)
    assert (body["cash_rial"], body["credit_rial"], body["compensation_rial"]) == (
        5_000_000,
        2_000_000,
        1_000_000,
    )
    assert body["wallet_balance_rial"] == 0
    assert body["bonus"]["queued"] is True and body["bonus"]["bonus_rial"] == 1_200_000
    assert (
        wallet_balance(household_id=world["household"].pk) == 1_200_000
    )  # the bonus, granted on commit
    assert "تومان" in body["receipt"]
    assert reconcile(verify_digests=False).ok


def test_lines_are_priced_now_rounded_per_line_half_up_and_recorded(world):
    set_prices("sugar", 450_001, 600_001)

    body = post_purchase(
        world, [{"item": "sugar", "quantity": "0.333"}, {"item": "rice", "quantity": "0.001"}]
    ).json()

    sugar = next(line for line in body["lines"] if line["item"] == "sugar")
    assert (sugar["unit_base_price_rial"], sugar["base_amount_rial"]) == (
        450_001,
        149_850,
    )  # 149,850.333
    assert sugar["current_amount_rial"] == 199_800  # 199,800.333
    rice = next(line for line in body["lines"] if line["item"] == "rice")
    assert (rice["base_amount_rial"], rice["current_amount_rial"]) == (500, 800)
    purchase = Purchase.objects.get(pk=body["purchase_id"])
    assert purchase.lines.get(item__code="sugar").unit_current_price_rial == 600_001


def test_a_half_rial_rounds_up(world):
    set_prices("eggs", 1, 3)

    body = post_purchase(world, [{"item": "eggs", "quantity": "0.5"}]).json()

    assert (body["lines"][0]["base_amount_rial"], body["lines"][0]["current_amount_rial"]) == (
        1,
        2,
    )  # 0.5→1, 1.5→2


def test_any_registered_card_of_the_head_pays(world):
    second = next_card_number("610433")
    household_services.register_card(person=world["head"], card_number=second)

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}], card_number=second)

    assert response.status_code == 201


def test_the_same_key_and_body_returns_the_original_answer_and_debits_once(world):
    first = post_purchase(world, [{"item": "rice", "quantity": "1"}], key="same")
    again = post_purchase(world, [{"item": "rice", "quantity": "1"}], key="same")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Purchase.objects.count() == 1
    assert wallet_balance(household_id=world["household"].pk) == 2_000_000 - 300_000


def test_the_same_key_with_another_body_is_refused(world):
    post_purchase(world, [{"item": "rice", "quantity": "1"}], key="same")

    response = post_purchase(world, [{"item": "rice", "quantity": "2"}], key="same")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Purchase.objects.count() == 1


def test_a_request_without_an_idempotency_key_is_refused(world):
    response = world["client"].post(
        URL,
        {"card_number": world["card"], "lines": [{"item": "rice", "quantity": "1"}]},
        format="json",
    )

    assert response.status_code == 400 and response.json()["code"] == "idempotency_key_required"


def test_a_bonus_that_cannot_be_queued_leaves_the_purchase_made(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    """A broker that is down when the threshold is crossed: the purchase stands (201, once), the
    failure is logged, and the nightly sweep grants the bonus later."""
    from settlements import tasks

    def broker_down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.grant_bonus, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_purchase(world, [{"item": "rice", "quantity": "10"}], key="k-crossing")

    assert response.status_code == 201, response.content
    assert response.json()["bonus"]["queued"] is True
    assert len(callbacks) == 1
    assert Purchase.objects.filter(household=world["household"]).count() == 1


def test_a_payment_code_pays_once(world):
    code, _ = household_services.create_payment_code(person=world["head"])

    first = post_purchase(world, [{"item": "rice", "quantity": "1"}], payment_code=code)
    second = post_purchase(world, [{"item": "rice", "quantity": "1"}], payment_code=code)

    assert first.status_code == 201 and first.json()["paid_with"] == "payment_code"
    assert (second.status_code, second.json()["code"]) == (422, "payment_code_invalid")


def test_an_expired_payment_code_is_refused(world):
    code, record = household_services.create_payment_code(person=world["head"])
    record.expires_at = timezone.now() - dt.timedelta(seconds=1)
    record.save(update_fields=["expires_at"])

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}], payment_code=code)

    assert (response.status_code, response.json()["code"]) == (422, "payment_code_invalid")


def test_a_purchase_runs_a_fixed_small_number_of_queries(world):
    """One read (the terminal and its key, the payer, the rules, an earlier answer under the key
    and the prices), then the write: on PostgreSQL one call of ``checkout_record_purchase``;
    elsewhere the wallet lock, the purchase, its lines, the entry, the wallet debit, the
    postings, the cycle spend and the idempotency record. No more for a household with a long
    history."""
    post_purchase(world, [{"item": "rice", "quantity": "1"}])  # the store payable now exists

    def queries_of_one_purchase() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = post_purchase(
                world, [{"item": "rice", "quantity": "0.1"}, {"item": "cheese", "quantity": "0.1"}]
            )
        assert response.status_code == 201, response.content
        # Transaction control (savepoints inside the test's own transaction) is not a query.
        return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]

    first = queries_of_one_purchase()
    for _ in range(10):
        post_purchase(world, [{"item": "rice", "quantity": "0.1"}])
    later = queries_of_one_purchase()

    expected = 2 if connection.vendor == "postgresql" else 9
    if connection.vendor == "postgresql":
        assert "checkout_record_purchase" in first[-1]
    assert len(first) == len(later) == expected, first
