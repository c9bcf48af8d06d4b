import datetime as dt
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from households import services as household_services
from households.models import Relation
from settlements.models import EntryKind, JournalEntry
from settlements.selectors import wallet_balance
from settlements.services.reconcile import reconcile
from stores import services as store_services
from stores.models import BasketItem, Purchase, PurchaseStatus
from tests.households.factories import PersonFactory, make_household, next_card_number
from tests.settlements.factories import URL, set_prices
from tests.stores.factories import make_terminal_with_key

pytestmark = pytest.mark.django_db

_keys = itertools.count(1)


def buy(world, lines, *, key: str | None = None, **payer):
    body = (
        {"card_number": world["card"], "lines": lines} if not payer else {**payer, "lines": lines}
    )
    return world["client"].post(
        URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key or f"k-{next(_keys)}"
    )


def test_the_worked_example_of_the_source_holds_to_the_rial_through_the_api(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = buy(
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

    body = buy(
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

    body = buy(world, [{"item": "eggs", "quantity": "0.5"}]).json()

    assert (body["lines"][0]["base_amount_rial"], body["lines"][0]["current_amount_rial"]) == (
        1,
        2,
    )  # 0.5→1, 1.5→2


def test_any_registered_card_of_the_head_pays(world):
    second = next_card_number("610433")
    household_services.register_card(person=world["head"], card_number=second)

    response = buy(world, [{"item": "rice", "quantity": "1"}], card_number=second)

    assert response.status_code == 201


def test_the_same_key_and_body_returns_the_original_answer_and_debits_once(world):
    first = buy(world, [{"item": "rice", "quantity": "1"}], key="same")
    again = buy(world, [{"item": "rice", "quantity": "1"}], key="same")

    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Purchase.objects.count() == 1
    assert wallet_balance(household_id=world["household"].pk) == 2_000_000 - 300_000


def test_the_same_key_with_another_body_is_refused(world):
    buy(world, [{"item": "rice", "quantity": "1"}], key="same")

    response = buy(world, [{"item": "rice", "quantity": "2"}], key="same")

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


@pytest.mark.parametrize(
    ("payer", "lines", "status", "code"),
    [
        (
            {"card_number": "603799123456789"},
            [{"item": "rice", "quantity": "1"}],
            400,
            "card_length",
        ),
        (
            {"card_number": "6037991234567890"},
            [{"item": "rice", "quantity": "1"}],
            400,
            "card_invalid",
        ),
        (
            {"card_number": "6037990000000006"},
            [{"item": "rice", "quantity": "1"}],
            422,
            "card_not_registered",
        ),
        ({}, [], 400, "basket_empty"),
        ({}, [{"item": "caviar", "quantity": "1"}], 400, "item_unknown"),
        ({}, [{"item": "rice", "quantity": "0"}], 400, "quantity_not_positive"),
        ({}, [{"item": "rice", "quantity": "-1"}], 400, "quantity_not_positive"),
        ({}, [{"item": "rice", "quantity": "101"}], 400, "quantity_too_large"),
        ({}, [{"item": "rice", "quantity": "1.2345"}], 400, "quantity_precision"),
        ({}, [{"item": "rice", "quantity": "abc"}], 400, "quantity_invalid"),
        ({}, [{"item": "rice", "quantity": "NaN"}], 400, "quantity_invalid"),
        (
            {},
            [{"item": "rice", "quantity": "1"}, {"item": "rice", "quantity": "2"}],
            400,
            "line_duplicate_item",
        ),
        ({}, [{"item": "pasta", "quantity": "1"}], 409, "item_not_priced"),
        (
            {"card_number": "6037991234567893", "payment_code": "12345678"},
            [{"item": "rice", "quantity": "1"}],
            400,
            "payer_required",
        ),
    ],
)
def test_every_bad_request_gets_a_stable_code_and_a_persian_message(
    world, payer, lines, status, code
):
    response = buy(world, lines, **payer) if payer else buy(world, lines)

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert Purchase.objects.count() == 0


def test_an_inactive_item_is_refused(world):
    BasketItem.objects.filter(code="cheese").update(is_active=False)

    response = buy(world, [{"item": "cheese", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (422, "item_inactive")


def test_a_card_of_a_member_who_is_not_the_head_is_refused(world):
    spouse = PersonFactory(
        household=world["household"], first_name="رضا", relation=Relation.SPOUSE, birth_date=None
    )
    card = next_card_number()
    household_services.register_card(person=spouse, card_number=card)

    response = buy(world, [{"item": "rice", "quantity": "1"}], card_number=card)

    assert (response.status_code, response.json()["code"]) == (422, "card_not_head")


def test_a_household_outside_the_covered_deciles_is_refused(world):
    rich = make_household(decile=8)
    card = next_card_number()
    household_services.register_card(person=rich.members.get(), card_number=card)

    response = buy(world, [{"item": "rice", "quantity": "1"}], card_number=card)

    assert (response.status_code, response.json()["code"]) == (403, "household_not_eligible")


def test_a_phase_minimum_of_distinct_items_is_enforced(world):
    # Rules of a phase that moved money are pinned, so the minimum comes with a new phase from today.
    from tests.settlements.factories import make_phase

    phase = make_phase(starts_on=timezone.localdate())
    phase.min_distinct_items = 2
    phase.save(update_fields=["min_distinct_items"])

    response = buy(world, [{"item": "rice", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (422, "below_min_items")


def test_a_suspended_terminal_cannot_sell(world):
    store_services.set_terminal_status(
        terminal=world["terminal"], status="suspended", reason="بازرسی"
    )

    response = buy(world, [{"item": "rice", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (403, "terminal_suspended")


def _client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.mark.parametrize(
    "bad_key",
    ["wrong", "12345678.not-the-secret", "99999999.no-such-terminal"],
    ids=["not-a-key", "wrong-secret", "unknown-terminal"],
)
@pytest.mark.parametrize(
    "body",
    [
        {"card_number": "VALID", "lines": [{"item": "rice", "quantity": "1"}]},
        {"card_number": "123", "lines": []},
        {"lines": "not a list"},
        "not json",
    ],
    ids=["valid", "bad-card-empty-basket", "bad-lines", "malformed-json"],
)
def test_a_purchase_with_a_wrong_key_is_a_401_whatever_else_is_wrong(world, bad_key, body):
    """The purchase confirms the key in its first read; any other refusal confirms it first."""
    if isinstance(body, dict) and body.get("card_number") == "VALID":
        body = {**body, "card_number": world["card"]}
    if bad_key.startswith("12345678"):
        bad_key = f"{world['terminal'].terminal_id}.not-the-secret"
    client = _client_with(bad_key)
    if isinstance(body, str):
        response = client.post(
            URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-bad-key"
        )
    else:
        response = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k-bad-key")

    assert (response.status_code, response.json()["code"]) == (401, "api_key_invalid")
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    "item", ["ri\\u0000ce", "\\ud800", "x" * 33], ids=["nul", "lone-surrogate", "too-long"]
)
def test_an_item_code_that_cannot_be_one_is_item_unknown_and_a_wrong_key_still_401(world, item):
    # Raw JSON text: its escapes decode to a NUL or a lone surrogate in the parsed body.
    raw = (
        '{"card_number": "'
        + world["card"]
        + '", "lines": [{"item": "'
        + item
        + '", "quantity": "1"}]}'
    )

    good = world["client"].post(
        URL, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-item"
    )
    bad_key = _client_with(f"{world['terminal'].terminal_id}.wrong").post(
        URL, raw, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-item"
    )

    assert (good.status_code, good.json()["code"]) == (400, "item_unknown")
    assert good.json()["errors"][0]["field"] == "lines[0].item"
    assert (bad_key.status_code, bad_key.json()["code"]) == (401, "api_key_invalid")
    assert not Purchase.objects.exists()


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
        response = buy(world, [{"item": "rice", "quantity": "10"}], key="k-crossing")

    assert response.status_code == 201, response.content
    assert response.json()["bonus"]["queued"] is True
    assert len(callbacks) == 1
    assert Purchase.objects.filter(household=world["household"]).count() == 1


def test_a_suspended_terminal_gets_no_replay_of_an_earlier_answer(world):
    first = buy(world, [{"item": "rice", "quantity": "1"}], key="k-before-suspension")
    assert first.status_code == 201
    store_services.set_terminal_status(
        terminal=world["terminal"], status="suspended", reason="بازرسی"
    )

    again = buy(world, [{"item": "rice", "quantity": "1"}], key="k-before-suspension")
    missing_key = world["client"].post(URL, {"lines": []}, format="json")

    assert (again.status_code, again.json()["code"]) == (403, "terminal_suspended")
    assert (missing_key.status_code, missing_key.json()["code"]) == (403, "terminal_suspended")


def test_a_purchase_at_a_suspended_store_is_refused(world):
    store_services.suspend_store(store=world["terminal"].store, reason="گران‌فروشی", by=None)

    response = buy(world, [{"item": "rice", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (403, "store_not_connected")
    assert not Purchase.objects.exists()


def test_a_payment_code_pays_once(world):
    code, _ = household_services.create_payment_code(person=world["head"])

    first = buy(world, [{"item": "rice", "quantity": "1"}], payment_code=code)
    second = buy(world, [{"item": "rice", "quantity": "1"}], payment_code=code)

    assert first.status_code == 201 and first.json()["paid_with"] == "payment_code"
    assert (second.status_code, second.json()["code"]) == (422, "payment_code_invalid")


def test_an_expired_payment_code_is_refused(world):
    code, record = household_services.create_payment_code(person=world["head"])
    record.expires_at = timezone.now() - dt.timedelta(seconds=1)
    record.save(update_fields=["expires_at"])

    response = buy(world, [{"item": "rice", "quantity": "1"}], payment_code=code)

    assert (response.status_code, response.json()["code"]) == (422, "payment_code_invalid")


def test_garbage_bodies_are_400_not_500(world):
    for body in (
        {"lines": "rice"},
        {"lines": [1, 2]},
        {"card_number": ["x"], "lines": []},
        "not json",
    ):
        response = world["client"].post(
            URL, body, format="json", HTTP_IDEMPOTENCY_KEY=f"g-{next(_keys)}"
        )
        assert response.status_code == 400, (body, response.content)


# --- Reversal -----------------------------------------------------------------------------------


def reverse(world, purchase_id: int, key: str | None = None, client=None):
    return (client or world["client"]).post(
        f"{URL}{purchase_id}/reversal/", HTTP_IDEMPOTENCY_KEY=key or f"r-{next(_keys)}"
    )


def test_a_reversal_returns_the_credit_to_the_wallet_and_the_compensation_to_the_fund(world):
    purchase = buy(
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
    purchase = buy(world, [{"item": "rice", "quantity": "1"}]).json()

    first = reverse(world, purchase["purchase_id"], key="rev")
    again = reverse(world, purchase["purchase_id"], key="rev")
    other = reverse(world, purchase["purchase_id"], key="rev-2")

    assert again.json() == first.json()
    assert (other.status_code, other.json()["code"]) == (409, "purchase_already_reversed")
    assert JournalEntry.objects.filter(kind=EntryKind.REVERSAL).count() == 1


def test_another_terminal_cannot_reverse_a_purchase(world):
    purchase = buy(world, [{"item": "rice", "quantity": "1"}]).json()
    _, other_key = make_terminal_with_key()
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Api-Key {other_key}")

    response = reverse(world, purchase["purchase_id"], client=other)

    assert (response.status_code, response.json()["code"]) == (404, "purchase_not_found")


def test_a_purchase_from_another_day_cannot_be_reversed(world):
    purchase = buy(world, [{"item": "rice", "quantity": "1"}]).json()
    Purchase.objects.filter(pk=purchase["purchase_id"]).update(
        created_at=timezone.now() - dt.timedelta(days=1)
    )

    response = reverse(world, purchase["purchase_id"])

    assert (response.status_code, response.json()["code"]) == (409, "reversal_too_late")


def test_reversing_the_purchase_that_earned_the_bonus_takes_the_unspent_bonus_back(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        purchase = buy(world, [{"item": "rice", "quantity": "10"}]).json()
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

    buy(world, [{"item": "rice", "quantity": "5"}])  # credit 1,500,000
    with django_capture_on_commit_callbacks(execute=True):
        crossing = buy(
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


def test_a_purchase_runs_a_fixed_small_number_of_queries(world):
    """One read (the terminal and its key, the payer, the rules, an earlier answer under the key
    and the prices), then the write: on PostgreSQL one call of ``checkout_record_purchase``;
    elsewhere the wallet lock, the purchase, its lines, the entry, the wallet debit, the
    postings, the cycle spend and the idempotency record. No more for a household with a long
    history."""
    buy(world, [{"item": "rice", "quantity": "1"}])  # the store payable now exists

    def queries_of_one_purchase() -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            response = buy(
                world, [{"item": "rice", "quantity": "0.1"}, {"item": "cheese", "quantity": "0.1"}]
            )
        assert response.status_code == 201, response.content
        # Transaction control (savepoints inside the test's own transaction) is not a query.
        return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]

    first = queries_of_one_purchase()
    for _ in range(10):
        buy(world, [{"item": "rice", "quantity": "0.1"}])
    later = queries_of_one_purchase()

    expected = 2 if connection.vendor == "postgresql" else 9
    if connection.vendor == "postgresql":
        assert "checkout_record_purchase" in first[-1]
    assert len(first) == len(later) == expected, first
