"""The officer admin of the basket: items and their prices; and every stores admin page."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from stores import services
from stores.models import BasketItem, ItemPrice, PriceKind
from tests.approvals.factories import approve_pending
from tests.households.factories import make_household
from tests.settlements.factories import checkout_purchase
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db


FROM = dt.datetime(2025, 1, 1, 10, 0, tzinfo=dt.UTC)


def _item(code: str = "rice") -> BasketItem:
    return BasketItem.objects.get(code=code)


def _price(item: BasketItem, **fields) -> ItemPrice:
    return services.set_price(
        item=item,
        **{
            "kind": PriceKind.BASE,
            "price_rial": 100_000,
            "effective_from": FROM,
            "reason": "قیمت آغاز طرح",
            "created_by": None,
            **fields,
        },
    )


def _item_post(item: BasketItem, **new_price: str) -> dict[str, str]:
    """The item page as a browser posts it: the item's fields, old price rows, one new row."""
    existing = list(item.prices.order_by("kind", "-effective_from"))
    data = {
        "name": item.name,
        "unit": item.unit,
        "group": item.group,
        "is_active": "on" if item.is_active else "",
        "display_order": str(item.display_order),
        "prices-TOTAL_FORMS": str(len(existing) + 1),
        "prices-INITIAL_FORMS": str(len(existing)),
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
    }
    for index, price in enumerate(existing):
        data[f"prices-{index}-id"] = str(price.pk)
        data[f"prices-{index}-item"] = str(item.pk)
    new = len(existing)
    data[f"prices-{new}-item"] = str(item.pk)
    for key, value in new_price.items():
        data[f"prices-{new}-{key}"] = value
    return data


def _post_price(client, item: BasketItem, **new_price: str):
    return client.post(
        reverse("admin:stores_basketitem_change", args=[item.pk]), _item_post(item, **new_price)
    )


def _new_price_errors(response) -> dict:
    formset = response.context["inline_admin_formsets"][0].formset
    return formset.forms[-1].errors


# --- Prices ---------------------------------------------------------------------------------------


def test_an_officer_adds_a_price_on_the_item_page_and_is_recorded_as_its_author(
    admin_client, admin_user
):
    item = _item()

    response = _post_price(
        admin_client,
        item,
        kind="current",
        price_rial="۱۵۰٬۰۰۰",
        effective_from_0="2025-02-01",
        effective_from_1="00:00:00",
        reason="  افزایش نرخ ارز  ",
    )
    assert response.status_code == 302
    assert not ItemPrice.objects.filter(item=item).exists()  # a request, until approved

    approve_pending("item_price")

    price = ItemPrice.objects.get(item=item)
    assert (price.kind, price.price_rial, price.reason, price.created_by) == (
        PriceKind.CURRENT,
        150_000,
        "افزایش نرخ ارز",
        admin_user,
    )
    assert LogEntry.objects.filter(object_id=str(item.pk)).exists()


def test_the_item_list_shows_the_prices_in_force_now_in_rials(admin_client):
    rice = _item()
    _price(rice, price_rial=1_200_000)
    _price(rice, kind=PriceKind.CURRENT, price_rial=2_500_000)
    _price(
        rice, kind=PriceKind.CURRENT, price_rial=9_900_000, effective_from=FROM.replace(year=2099)
    )

    response = admin_client.get(reverse("admin:stores_basketitem_changelist"), {"q": "rice"})

    content = response.content.decode()
    assert "۱٬۲۰۰٬۰۰۰ ریال" in content
    assert "۲٬۵۰۰٬۰۰۰ ریال" in content
    assert "۹٬۹۰۰٬۰۰۰" not in content  # a future price is not in force yet


def test_a_zero_price_is_refused_next_to_the_field_and_nothing_is_saved(admin_client):
    item = _item()

    response = _post_price(
        admin_client,
        item,
        kind="base",
        price_rial="0",
        effective_from_0="2025-02-01",
        effective_from_1="00:00",
        reason="اصلاح",
    )

    assert response.status_code == 200
    assert _new_price_errors(response)["price_rial"] == ["قیمت باید بیشتر از صفر باشد"]
    assert not item.prices.exists()


def test_a_price_without_a_reason_is_refused_next_to_the_field(admin_client):
    item = _item()

    response = _post_price(
        admin_client,
        item,
        kind="base",
        price_rial="120000",
        effective_from_0="2025-02-01",
        effective_from_1="00:00",
        reason="   ",
    )

    assert response.status_code == 200
    assert _new_price_errors(response)["reason"] == ["دلیل تغییر قیمت را بنویسید"]
    assert not item.prices.exists()


def test_a_second_price_for_the_same_moment_is_refused(admin_client):
    item = _item()
    _price(item)  # base, 2025-01-01 10:00 UTC = 13:30 in Tehran

    response = _post_price(
        admin_client,
        item,
        kind="base",
        price_rial="130000",
        effective_from_0="2025-01-01",
        effective_from_1="13:30:00",
        reason="اصلاح",
    )

    assert response.status_code == 200
    assert _new_price_errors(response)["effective_from"] == ["برای همین زمان قیمتی ثبت شده است"]
    assert item.prices.count() == 1


def test_a_price_from_before_a_recorded_purchase_is_refused(admin_client):
    item = _item()
    _price(item)
    _price(item, kind=PriceKind.CURRENT, price_rial=150_000)  # the checkout needs both prices
    checkout_purchase(
        make_household(), lines={item.code: 1}, at=dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
    )

    response = _post_price(
        admin_client,
        item,
        kind="base",
        price_rial="130000",
        effective_from_0="2025-02-15",
        effective_from_1="00:00",
        reason="اصلاح عطف به ماسبق",
    )

    assert response.status_code == 200
    [message] = _new_price_errors(response)["effective_from"]
    assert message.startswith("پس از این زمان با قیمت قبلی خرید انجام شده است")
    assert item.prices.count() == 2  # the base and current prices the purchase used, no more


def test_a_price_that_is_not_a_number_is_refused_not_a_server_error(admin_client):
    item = _item()

    response = _post_price(
        admin_client,
        item,
        kind="base",
        price_rial="Infinity",
        effective_from_0="2025-02-01",
        effective_from_1="00:00",
        reason="اصلاح",
    )

    assert response.status_code == 200
    assert "price_rial" in _new_price_errors(response)
    assert not item.prices.exists()


def test_recorded_prices_cannot_be_changed(admin_client):
    item = _item()
    price = _price(item)
    url = reverse("admin:stores_itemprice_change", args=[price.pk])

    view = admin_client.get(url)
    edit = admin_client.post(
        url,
        {
            "item": str(item.pk),
            "kind": "base",
            "price_rial": "1",
            "effective_from_0": "2025-01-01",
            "effective_from_1": "13:30",
            "reason": "دستکاری",
        },
    )

    assert view.status_code == 200
    assert 'name="price_rial"' not in view.content.decode()
    assert edit.status_code == 403
    price.refresh_from_db()
    assert (price.price_rial, price.reason) == (100_000, "قیمت آغاز طرح")


def test_old_price_rows_on_the_item_page_are_not_editable(admin_client):
    item = _item()
    price = _price(item)
    data = _item_post(item)
    data["prices-TOTAL_FORMS"] = "1"
    data.update({"prices-0-price_rial": "1", "prices-0-reason": "دستکاری"})

    response = admin_client.post(reverse("admin:stores_basketitem_change", args=[item.pk]), data)

    assert response.status_code == 302
    price.refresh_from_db()
    assert price.price_rial == 100_000


def test_the_price_list_adds_a_price_through_the_same_rules(admin_client, admin_user):
    item = _item()
    url = reverse("admin:stores_itemprice_add")
    row = {
        "item": str(item.pk),
        "kind": "base",
        "effective_from_0": "2025-02-01",
        "effective_from_1": "00:00",
        "reason": "قیمت مصوب",
    }

    refused = admin_client.post(url, {**row, "price_rial": "-5"})
    added = admin_client.post(url, {**row, "price_rial": "250,000"})

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors["price_rial"] == ["قیمت باید بیشتر از صفر باشد"]
    assert added.status_code == 302
    assert added["Location"] == reverse("admin:stores_basketitem_change", args=[item.pk])
    approve_pending("item_price")
    price = ItemPrice.objects.get(item=item)
    assert (price.price_rial, price.created_by) == (250_000, admin_user)


def test_an_items_code_is_read_only_once_it_exists_and_items_cannot_be_deleted(admin_client):
    item = _item()

    change = admin_client.get(reverse("admin:stores_basketitem_change", args=[item.pk]))
    delete = admin_client.post(
        reverse("admin:stores_basketitem_delete", args=[item.pk]), {"post": "yes"}
    )

    assert 'name="code"' not in change.content.decode()
    assert delete.status_code == 403
    assert BasketItem.objects.filter(pk=item.pk).exists()


def test_an_officer_adds_a_new_item_with_a_latin_code(admin_client):
    url = reverse("admin:stores_basketitem_add")
    row = {"name": "روغن خوراکی", "unit": "litre", "group": "groceries", "display_order": "12"}

    bad = admin_client.post(url, {**row, "code": "Cooking-Oil", "is_active": "on"})
    good = admin_client.post(url, {**row, "code": "cooking_oil", "is_active": "on"})

    assert bad.status_code == 200
    assert "code" in bad.context["adminform"].form.errors
    assert good.status_code == 302
    assert BasketItem.objects.get(code="cooking_oil").name == "روغن خوراکی"


def test_a_moment_in_the_future_is_accepted_for_a_price(admin_client):
    item = _item()
    tomorrow = timezone.localtime() + dt.timedelta(days=1)

    response = _post_price(
        admin_client,
        item,
        kind="current",
        price_rial="200000",
        effective_from_0=tomorrow.strftime("%Y-%m-%d"),
        effective_from_1="00:00",
        reason="مصوبه ستاد تنظیم بازار",
    )
    assert response.status_code == 302
    approve_pending("item_price")

    assert item.prices.get().effective_from.date() >= timezone.now().date()


def test_the_item_list_is_one_query_however_many_items_it_shows(admin_client):
    url = reverse("admin:stores_basketitem_changelist")
    _price(_item(), price_rial=1_000)
    with CaptureQueriesContext(connection) as eleven:
        admin_client.get(url)
    for code in ("cooking_oil", "tea"):
        item = BasketItem.objects.create(code=code, name=code, unit="kg", group="groceries")
        _price(item)
        _price(item, kind=PriceKind.CURRENT)

    with CaptureQueriesContext(connection) as thirteen:
        response = admin_client.get(url)

    assert len(response.context["cl"].result_list) == 13
    assert len(thirteen) == len(eleven)


@pytest.mark.parametrize(
    "name",
    [
        "admin:stores_basketitem_changelist",
        "admin:stores_basketitem_add",
        "admin:stores_itemprice_changelist",
        "admin:stores_itemprice_add",
        "admin:stores_store_changelist",
        "admin:stores_store_add",
        "admin:stores_terminal_changelist",
        "admin:stores_terminal_add",
    ],
)
def test_every_stores_admin_page_opens(admin_client, name):
    make_terminal()
    _price(_item())

    response = admin_client.get(reverse(name))

    assert response.status_code == 200
