"""Purchases the POS API refuses, each with its stable code and status."""

import itertools

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from households import services as household_services
from households.models import Relation
from stores import services as store_services
from stores.models import BasketItem, Purchase
from tests.households.factories import PersonFactory, make_household, next_card_number
from tests.settlements.factories import URL, post_purchase

pytestmark = pytest.mark.django_db


_keys = itertools.count(1)


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
    response = post_purchase(world, lines, **payer) if payer else post_purchase(world, lines)

    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert response.json()["message"]
    assert Purchase.objects.count() == 0


def test_an_inactive_item_is_refused(world):
    BasketItem.objects.filter(code="cheese").update(is_active=False)

    response = post_purchase(world, [{"item": "cheese", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (422, "item_inactive")


def test_a_card_of_a_member_who_is_not_the_head_is_refused(world):
    spouse = PersonFactory(
        household=world["household"], first_name="رضا", relation=Relation.SPOUSE, birth_date=None
    )
    card = next_card_number()
    household_services.register_card(person=spouse, card_number=card)

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}], card_number=card)

    assert (response.status_code, response.json()["code"]) == (422, "card_not_head")


def test_a_household_outside_the_covered_deciles_is_refused(world):
    rich = make_household(decile=8)
    card = next_card_number()
    household_services.register_card(person=rich.members.get(), card_number=card)

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}], card_number=card)

    assert (response.status_code, response.json()["code"]) == (403, "household_not_eligible")


def test_a_phase_minimum_of_distinct_items_is_enforced(world):
    # Rules of a phase that moved money are pinned, so the minimum comes with a new phase from today.
    from tests.settlements.factories import make_phase

    phase = make_phase(starts_on=timezone.localdate())
    phase.min_distinct_items = 2
    phase.save(update_fields=["min_distinct_items"])

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (422, "below_min_items")


def test_a_suspended_terminal_cannot_sell(world):
    store_services.set_terminal_status(
        terminal=world["terminal"], status="suspended", reason="بازرسی"
    )

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}])

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


def test_a_suspended_terminal_gets_no_replay_of_an_earlier_answer(world):
    first = post_purchase(world, [{"item": "rice", "quantity": "1"}], key="k-before-suspension")
    assert first.status_code == 201
    store_services.set_terminal_status(
        terminal=world["terminal"], status="suspended", reason="بازرسی"
    )

    again = post_purchase(world, [{"item": "rice", "quantity": "1"}], key="k-before-suspension")
    missing_key = world["client"].post(URL, {"lines": []}, format="json")

    assert (again.status_code, again.json()["code"]) == (403, "terminal_suspended")
    assert (missing_key.status_code, missing_key.json()["code"]) == (403, "terminal_suspended")


def test_a_purchase_at_a_suspended_store_is_refused(world):
    store_services.suspend_store(store=world["terminal"].store, reason="گران‌فروشی", by=None)

    response = post_purchase(world, [{"item": "rice", "quantity": "1"}])

    assert (response.status_code, response.json()["code"]) == (403, "store_not_connected")
    assert not Purchase.objects.exists()


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
