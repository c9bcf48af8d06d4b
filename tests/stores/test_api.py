import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from households.models import Province
from stores import services
from stores.models import BasketItem, PriceKind, StoreStatus
from tests.stores.factories import make_store, make_terminal_with_key

pytestmark = pytest.mark.django_db

BASKET_URL = "/api/v1/pos/basket/"
FINDER_URL = "/api/v1/stores/"


def pos_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_the_pos_basket_lists_active_items_with_todays_base_and_current_prices():
    rice = BasketItem.objects.get(code="rice")
    long_ago = timezone.now() - dt.timedelta(days=400)
    services.set_price(
        item=rice,
        kind=PriceKind.BASE,
        price_rial=450_000,
        effective_from=long_ago,
        reason="۱۴۰۱",
        created_by=None,
    )
    services.set_price(
        item=rice,
        kind=PriceKind.CURRENT,
        price_rial=500_000,
        effective_from=long_ago,
        reason="x",
        created_by=None,
    )
    services.set_price(
        item=rice,
        kind=PriceKind.CURRENT,
        price_rial=720_000,
        effective_from=timezone.now() - dt.timedelta(days=1),
        reason="نرخ تازه",
        created_by=None,
    )
    services.set_price(
        item=rice,
        kind=PriceKind.CURRENT,
        price_rial=999_000,
        effective_from=timezone.now() + dt.timedelta(days=5),
        reason="آینده",
        created_by=None,
    )
    _, key = make_terminal_with_key()

    response = pos_client(key).get(BASKET_URL)

    assert response.status_code == 200
    by_code = {row["code"]: row for row in response.json()}
    assert len(by_code) == 11
    assert by_code["rice"] == {
        "code": "rice",
        "name": "برنج",
        "unit": "kg",
        "group": "groceries",
        "base_price_rial": 450_000,
        "current_price_rial": 720_000,
    }


def test_the_pos_basket_without_a_key_is_refused_with_a_code():
    response = APIClient().get(BASKET_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_wrong_key_is_refused_with_a_stable_code_and_persian_message():
    _, key = make_terminal_with_key()

    response = pos_client(key + "x").get(BASKET_URL)

    assert response.status_code == 401
    assert response.json() == {"code": "api_key_invalid", "message": "کلید پایانه معتبر نیست"}


def test_a_suspended_terminal_is_refused():
    terminal, key = make_terminal_with_key()
    services.set_terminal_status(terminal=terminal, status="suspended", reason="دستکاری")

    response = pos_client(key).get(BASKET_URL)

    assert response.status_code == 403
    assert response.json()["code"] == "terminal_suspended"


def test_a_suspended_store_is_refused_on_every_terminal():
    terminal, key = make_terminal_with_key()
    services.suspend_store(store=terminal.store, reason="گران‌فروشی", by=None)

    response = pos_client(key).get(BASKET_URL)

    assert response.status_code == 403
    assert response.json()["code"] == "store_not_connected"


def test_a_reissued_key_revokes_the_old_one():
    terminal, old_key = make_terminal_with_key()
    new_key = services.issue_terminal_key(terminal=terminal)

    assert pos_client(old_key).get(BASKET_URL).status_code == 401
    assert pos_client(new_key).get(BASKET_URL).status_code == 200


def test_the_store_finder_lists_only_connected_stores_of_the_city_by_name():
    make_store(name="فروشگاه بهار", province_name="اصفهان")
    make_store(name="فروشگاه آفتاب", province_name="اصفهان")
    make_store(name="فروشگاه تعلیقی", province_name="اصفهان", status=StoreStatus.SUSPENDED)
    make_store(name="فروشگاه در انتظار", province_name="اصفهان", status=StoreStatus.PENDING)
    make_store(name="فروشگاه تهران", province_name="تهران")
    isfahan = Province.objects.get(name="اصفهان")

    response = APIClient().get(FINDER_URL, {"province": isfahan.code, "city": "اصفهان"})

    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["فروشگاه آفتاب", "فروشگاه بهار"]
    assert response.json()["results"][0]["city"] == "اصفهان"


def test_the_store_finder_searches_by_part_of_the_name_with_arabic_letters_normalised():
    make_store(name="هایپر کوثر")
    make_store(name="سوپر مارکت نور")

    response = APIClient().get(FINDER_URL, {"q": "كوثر"})

    assert [row["name"] for row in response.json()["results"]] == ["هایپر کوثر"]


def test_the_store_finder_pages_without_counting():
    for number in range(25):
        make_store(name=f"فروشگاه {number:02d}")

    first = APIClient().get(FINDER_URL, {"page_size": 10}).json()
    last = APIClient().get(FINDER_URL, {"page_size": 10, "page": 3}).json()

    assert len(first["results"]) == 10 and first["next"] and first["previous"] is None
    assert len(last["results"]) == 5 and last["next"] is None and last["previous"]


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"province": "آتلانتیس"}, "province_unknown", "province"),
        ({"province": "تهران", "city": "شیراز"}, "city_unknown", "city"),
        ({"page": "-1"}, "page_invalid", "page"),
    ],
)
def test_the_store_finder_explains_a_bad_filter_instead_of_an_empty_list(params, code, field):
    response = APIClient().get(FINDER_URL, params)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert response.json()["errors"][0]["field"] == field
