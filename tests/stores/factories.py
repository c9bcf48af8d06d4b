"""Test data for stores: made through the services, with unique licences and terminal ids."""

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from households.models import City, Household, Province
from stores import services
from stores.models import BasketItem, Purchase, PurchaseLine, Store, StoreStatus, Terminal
from tests.households.factories import make_household, next_mobile, next_national_code, place

VALID_SHEBA = "IR820540102680020817909002"

_licences = itertools.count(1)
_terminal_ids = itertools.count(10_000_001)
_purchases = itertools.count(1)


def sheba_for(bban: str) -> str:
    """A valid Sheba for a 22-digit account number (bank code + account), ISO 13616 check digits."""
    check = 98 - int(bban + "1827" + "00") % 97
    return f"IR{check:02d}{bban}"


def next_terminal_id() -> str:
    return f"{next(_terminal_ids):08d}"


def centre_of(province_name: str) -> tuple[Province, City]:
    """A province and its centre (Fars → Shiraz): not every centre is named after its province."""
    province = Province.objects.get(name=province_name)
    return province, City.objects.filter(province=province).order_by("-is_center", "name")[0]


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
    fields: dict[str, Any] = {
        "name": "فروشگاه نمونه",
        "owner_national_code": next_national_code(),
        "licence_number": f"{next(_licences):010d}",
        "tax_code": "411111111111",
        "sheba": VALID_SHEBA,
        "mobile": next_mobile(),
        "province": province,
        "city": city,
        "address": "خیابان آزادی، پلاک ۱",
    }
    fields.update(overrides)
    store = services.register_store(**fields)
    if status in (StoreStatus.CONNECTED, StoreStatus.SUSPENDED):
        services.connect_store(store=store, by=None)
    if status == StoreStatus.SUSPENDED:
        services.suspend_store(store=store, reason="بازرسی", by=None)
    return store


def make_terminal(
    store: Store | None = None, terminal_id: str | None = None, psp_name: str = "به‌پرداخت ملت"
) -> Terminal:
    return services.create_terminal(
        store=store or make_store(),
        terminal_id=terminal_id or next_terminal_id(),
        psp_name=psp_name,
    )


def make_terminal_with_key(store: Store | None = None) -> tuple[Terminal, str]:
    terminal = make_terminal(store)
    return terminal, services.issue_terminal_key(terminal=terminal)


def make_purchase(
    *,
    item: BasketItem,
    at: dt.datetime,
    terminal: Terminal | None = None,
    household: Household | None = None,
) -> Purchase:
    """A recorded purchase of one unit of ``item`` at ``at`` (rows written directly: the checkout
    service lives in settlements). Base 100,000 and current 150,000 rials; credit pays the gap."""
    terminal = terminal or make_terminal()
    household = household or make_household()
    purchase = Purchase.objects.create(
        household=household,
        payer=household.members.get(is_head=True),
        store=terminal.store,
        terminal=terminal,
        idempotency_key=f"test-{next(_purchases)}",
        request_fingerprint="0" * 64,
        base_total_rial=100_000,
        current_total_rial=150_000,
        cash_rial=100_000,
        credit_rial=50_000,
        compensation_rial=0,
        created_at=at,
    )
    PurchaseLine.objects.create(
        purchase=purchase,
        item=item,
        quantity=Decimal("1.000"),
        unit_base_price_rial=100_000,
        unit_current_price_rial=150_000,
        base_amount_rial=100_000,
        current_amount_rial=150_000,
    )
    return purchase
