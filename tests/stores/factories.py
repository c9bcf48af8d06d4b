"""Test data for stores (factory-boy): basket items and prices, stores and terminals, all made
through ``stores.services`` with unique licences and terminal ids. Purchases are made by the real
checkout: see ``tests.settlements.factories.buy``."""

import datetime as dt
import itertools
from typing import Any

import factory
from django.test import Client
from django.urls import reverse
from factory.django import DjangoModelFactory

from households.models import City, Province
from stores import services
from stores.models import (
    BasketItem,
    FlagKind,
    ItemGroup,
    ItemPrice,
    ItemUnit,
    PriceKind,
    Store,
    StoreFlag,
    StoreStatus,
    Terminal,
)
from tests.households.factories import mobile, national_code, place

VALID_SHEBA = "IR820540102680020817909002"
STORES = "admin:stores_store_changelist"
LONG_AGO = dt.datetime(2022, 3, 21, tzinfo=dt.UTC)  # before any moment a test buys at


def sheba_for(bban: str) -> str:
    """A valid Sheba for a 22-digit account number (bank code + account), ISO 13616 check digits."""
    check = 98 - int(bban + "1827" + "00") % 97
    return f"IR{check:02d}{bban}"


def centre_of(province_name: str) -> tuple[Province, City]:
    """A province and its centre (Fars → Shiraz): not every centre is named after its province."""
    province = Province.objects.get(name=province_name)
    return province, City.objects.filter(province=province).order_by("-is_center", "name")[0]


class BasketItemFactory(DjangoModelFactory):
    """An item added to the basket (the eleven of the source are seeded by a migration)."""

    class Meta:
        model = BasketItem

    code = factory.Sequence(lambda n: f"test_item_{n}")
    name = factory.Sequence(lambda n: f"قلم آزمایشی {n}")
    unit = ItemUnit.EACH
    group = ItemGroup.GROCERIES
    display_order = 100


class ItemPriceFactory(DjangoModelFactory):
    """A price of an item from a moment on, set through ``stores.services.set_price``."""

    class Meta:
        model = ItemPrice

    item = factory.SubFactory(BasketItemFactory)
    kind = PriceKind.BASE
    price_rial = 100_000
    effective_from = LONG_AGO
    reason = "نرخ مصوب"
    created_by = None

    @classmethod
    def _create(cls, model_class: type[ItemPrice], *args: Any, **kwargs: Any) -> ItemPrice:
        return services.set_price(**kwargs)


class StoreFactory(DjangoModelFactory):
    """A store registered through the service, then connected (or suspended) as ``status`` asks;
    in the centre of Tehran unless given a province and city."""

    class Meta:
        model = Store

    name = "فروشگاه نمونه"
    owner_national_code = factory.Sequence(lambda n: national_code(400_000_001 + n))
    owner_name = "محمد رضایی"
    licence_number = factory.Sequence(lambda n: f"{n + 1:010d}")
    tax_code = "411111111111"
    sheba = VALID_SHEBA
    mobile = factory.Sequence(lambda n: mobile(400_000_000 + n))
    province = factory.LazyFunction(lambda: centre_of("تهران")[0])
    city = factory.LazyAttribute(lambda store: centre_of(store.province.name)[1])
    address = "خیابان آزادی، پلاک ۱"
    status = StoreStatus.CONNECTED

    @classmethod
    def _create(cls, model_class: type[Store], *args: Any, **kwargs: Any) -> Store:
        status = kwargs.pop("status")
        store = services.register_store(**kwargs)
        if status in (StoreStatus.CONNECTED, StoreStatus.SUSPENDED):
            services.connect_store(store=store, by=None)
        if status == StoreStatus.SUSPENDED:
            services.suspend_store(store=store, reason="بازرسی", by=None)
        return store


class TerminalFactory(DjangoModelFactory):
    """A POS terminal of a (new, connected) store, created through the service."""

    class Meta:
        model = Terminal

    store = factory.SubFactory(StoreFactory)
    terminal_id = factory.Sequence(lambda n: f"{10_000_001 + n:08d}")
    psp_name = "به‌پرداخت ملت"

    @classmethod
    def _create(cls, model_class: type[Terminal], *args: Any, **kwargs: Any) -> Terminal:
        return services.create_terminal(**kwargs)


class StoreFlagFactory(DjangoModelFactory):
    """An open anomaly flag as the nightly job writes it (night sales of one day, by default).

    The job itself is tested on real purchases (tests/settlements/test_anomalies.py); pages and
    the close service only need the row."""

    class Meta:
        model = StoreFlag

    store = factory.SubFactory(StoreFactory)
    kind = FlagKind.NIGHT_SALES
    period_from = dt.date(2024, 5, 14)
    period_to = factory.SelfAttribute("period_from")
    evidence = factory.LazyFunction(
        lambda: {
            "purchases": 40,
            "night_purchases": 18,
            "share_percent": 45,
            "from_hour": 23,
            "to_hour": 5,
            "threshold_percent": 30,
        }
    )


# --- Thin helpers the tests call -----------------------------------------------------------------


_terminal_ids = itertools.count(20_000_001)  # a range the factory's sequence never reaches


def next_terminal_id() -> str:
    """A fresh terminal id for a test to type in (a form, a search)."""
    return f"{next(_terminal_ids):08d}"


def make_store(
    *,
    status: str = StoreStatus.CONNECTED,
    province_name: str = "تهران",
    city_name: str | None = None,
    **overrides: Any,
) -> Store:
    """A store registered through the service, then connected (or suspended) as asked.

    It is in ``city_name`` of ``province_name``, or in the province's centre."""
    province, city = place(province_name, city_name) if city_name else centre_of(province_name)
    return StoreFactory(status=status, **{"province": province, "city": city, **overrides})


def make_terminal(
    store: Store | None = None, terminal_id: str | None = None, psp_name: str = "به‌پرداخت ملت"
) -> Terminal:
    fields: dict[str, Any] = {"psp_name": psp_name}
    if store is not None:
        fields["store"] = store
    if terminal_id is not None:
        fields["terminal_id"] = terminal_id
    return TerminalFactory(**fields)


def make_terminal_with_key(store: Store | None = None) -> tuple[Terminal, str]:
    terminal = make_terminal(store)
    return terminal, services.issue_terminal_key(terminal=terminal)


# --- The admin, as a browser posts to it --------------------------------------------------------


def admin_action(
    client: Client, action: str, *objects: Any, url: str = STORES, **extra: str
) -> Any:
    """Run a changelist action on ``objects`` (the store list unless ``url`` names another)."""
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **extra}
    return client.post(reverse(url), data)


def store_post(store: Store | None = None, **fields: str) -> dict[str, str]:
    """The store page as a browser posts it: a new store in Tehran, or ``store`` with its
    terminal rows; ``fields`` override any field."""
    province, city = place()
    data = {
        "name": "فروشگاه تازه",
        "owner_national_code": "۰۰۱-۲۳۴۵۶۷-۹",
        "owner_name": "علی احمدی",
        "licence_number": "۹۹۹۰۰۱",
        "tax_code": "411111111111",
        "sheba": "IR82 0540 1026 8002 0817 9090 02",
        "mobile": "+98 912 000 0001",
        "province": str(province.pk),
        "city": str(city.pk),
        "address": "خیابان انقلاب",
        "latitude": "",
        "longitude": "",
        "terminals-TOTAL_FORMS": "0",
        "terminals-INITIAL_FORMS": "0",
        "terminals-MIN_NUM_FORMS": "0",
        "terminals-MAX_NUM_FORMS": "1000",
    }
    if store is not None:
        data.update(
            {
                "name": store.name,
                "owner_national_code": store.owner_national_code,
                "owner_name": store.owner_name,
                "licence_number": store.licence_number,
                "sheba": store.sheba,
                "mobile": store.mobile,
            }
        )
        terminals = list(store.terminals.all())
        data["terminals-TOTAL_FORMS"] = data["terminals-INITIAL_FORMS"] = str(len(terminals))
        for index, terminal in enumerate(terminals):
            data[f"terminals-{index}-id"] = str(terminal.pk)
            data[f"terminals-{index}-store"] = str(store.pk)
    data.update(fields)
    return data
