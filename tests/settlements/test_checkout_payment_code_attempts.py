"""A terminal cannot try payment codes until one matches: after PAYMENT_CODE_MAX_FAILURES_PER_HOUR
wrong codes in an hour its payment-code purchases get 429 and officers see it flagged."""

import time
import types

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from households import services as household_services
from kalabarg.lib import ratelimit
from stores.models import Purchase, Terminal
from tests.settlements.factories import post_purchase
from tests.stores.factories import make_terminal_with_key

pytestmark = pytest.mark.django_db

RICE = [{"item": "rice", "quantity": "1"}]


@pytest.fixture(autouse=True)
def _fresh_counts():
    cache.clear()
    yield
    cache.clear()


def _wrong_codes(world, count: int) -> None:
    right, _ = household_services.create_payment_code(person=world["head"])
    wrong = f"{(int(right) + 1) % 10**8:08d}"
    for _ in range(count):
        response = post_purchase(world, RICE, payment_code=wrong)
        assert (response.status_code, response.json()["code"]) == (422, "payment_code_invalid")


def _other_terminal(world) -> dict:
    _terminal, key = make_terminal_with_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return {**world, "client": client}


def test_after_ten_wrong_codes_even_a_right_code_gets_429_and_the_terminal_is_flagged(
    world, admin_client
):
    _wrong_codes(world, 10)
    right, _ = household_services.create_payment_code(person=world["head"])

    response = post_purchase(world, RICE, payment_code=right)

    assert response.status_code == 429
    assert response.json()["code"] == "payment_code_attempts_exceeded"
    assert response.json()["errors"][0]["field"] == "payment_code"
    assert int(response["Retry-After"]) > 0
    assert Purchase.objects.count() == 0
    terminal = Terminal.objects.get(pk=world["terminal"].pk)
    assert terminal.payment_code_blocked_until > timezone.now()
    page = admin_client.get(
        reverse("admin:stores_terminal_changelist"), {"payment_code_blocked": "now"}
    ).content.decode()
    assert terminal.terminal_id in page and "متوقف تا" in page


def test_nine_wrong_codes_leave_the_terminal_free_and_unflagged(world):
    _wrong_codes(world, 9)
    right, _ = household_services.create_payment_code(person=world["head"])

    response = post_purchase(world, RICE, payment_code=right)

    assert response.status_code == 201
    assert Terminal.objects.get(pk=world["terminal"].pk).payment_code_blocked_until is None


def test_another_terminal_is_unaffected_and_the_refused_code_still_works_there(world):
    _wrong_codes(world, 10)
    right, _ = household_services.create_payment_code(person=world["head"])
    assert post_purchase(world, RICE, payment_code=right).status_code == 429

    response = post_purchase(_other_terminal(world), RICE, payment_code=right)

    assert response.status_code == 201 and response.json()["paid_with"] == "payment_code"


def test_a_card_purchase_from_a_blocked_terminal_goes_through_without_touching_the_count(
    world, monkeypatch
):
    _wrong_codes(world, 10)

    def no_cache(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a card purchase must not read or write the payment-code count")

    monkeypatch.setattr(ratelimit, "hit", no_cache)
    monkeypatch.setattr(ratelimit, "exceeded", no_cache)

    response = post_purchase(world, RICE)

    assert response.status_code == 201 and response.json()["paid_with"] == "card"


def test_after_the_hour_the_terminal_may_use_payment_codes_again(world, monkeypatch):
    _wrong_codes(world, 10)
    right, _ = household_services.create_payment_code(person=world["head"])
    assert post_purchase(world, RICE, payment_code=right).status_code == 429

    an_hour_later = time.time() + 60 * 60
    monkeypatch.setattr(ratelimit, "time", types.SimpleNamespace(time=lambda: an_hour_later))
    response = post_purchase(world, RICE, payment_code=right)

    assert response.status_code == 201


def test_the_limit_is_a_setting(world, settings):
    settings.PAYMENT_CODE_MAX_FAILURES_PER_HOUR = 2
    _wrong_codes(world, 2)
    right, _ = household_services.create_payment_code(person=world["head"])

    response = post_purchase(world, RICE, payment_code=right)

    assert response.status_code == 429
