"""At the till, any card the banks' feed put in the head's name pays; a closed card is refused.

The card's status comes with the checkout's one context read (no extra statement: see
``test_a_purchase_runs_a_fixed_small_number_of_queries``)."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from households.card_import import import_bank_cards
from households.models import Relation
from households.selectors import card_by_number
from stores.models import Purchase
from tests.households.factories import PersonFactory, next_card_number
from tests.settlements.factories import post_purchase

pytestmark = pytest.mark.django_db

RICE = [{"item": "rice", "quantity": "1"}]


def feed(*rows: tuple[str, str, str]) -> None:
    text = "card_number,national_code,status\n" + "".join(f"{c},{n},{s}\n" for c, n, s in rows)
    result = import_bank_cards(stream=io.StringIO(text))
    assert result.errors == []


def test_any_card_the_feed_puts_in_the_heads_name_pays(world):
    other = next_card_number("610433")
    feed((other, world["head"].national_code, "active"))

    response = post_purchase(world, RICE, card_number=other)

    assert response.status_code == 201, response.json()
    assert response.json()["paid_with"] == "card"
    assert Purchase.objects.get().card_last4 == other[-4:]


def test_a_closed_card_is_refused_with_card_closed_in_one_context_read(world):
    feed((world["card"], world["head"].national_code, "closed"))

    with CaptureQueriesContext(connection) as captured:
        response = post_purchase(world, RICE)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "card_closed"
    assert body["message"]
    assert [error["field"] for error in body["errors"]] == ["card_number"]
    assert Purchase.objects.count() == 0
    reads = [q for q in captured.captured_queries if "households_bankcard" in q["sql"]]
    assert len(reads) == 1
    assert card_by_number(card_number=world["card"]).status == "closed"

    feed((world["card"], world["head"].national_code, "active"))  # the bank reopens it
    assert post_purchase(world, RICE).status_code == 201


def test_a_fed_card_of_a_member_who_is_not_the_head_keeps_card_not_head(world):
    spouse = PersonFactory(
        household=world["household"], first_name="رضا", relation=Relation.SPOUSE, birth_date=None
    )
    card = next_card_number()
    feed((card, spouse.national_code, "active"))

    response = post_purchase(world, RICE, card_number=card)

    assert (response.status_code, response.json()["code"]) == (422, "card_not_head")


def test_a_card_no_bank_reported_keeps_card_not_registered(world):
    response = post_purchase(world, RICE, card_number=next_card_number())

    assert (response.status_code, response.json()["code"]) == (422, "card_not_registered")
