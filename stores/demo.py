"""Demo basket prices, stores and a POS terminal with a fixed, printed key (``seed_demo``)."""

import datetime as dt

from django.db import transaction

from households.models import City, Province
from stores import services
from stores.generator import generate_stores
from stores.models import BasketItem, ItemPrice, PriceKind, Store, StoreStatus, Terminal

TEHRAN_TZ = dt.timezone(dt.timedelta(hours=3, minutes=30))
BASE_PRICES_FROM = dt.datetime(2022, 3, 21, tzinfo=TEHRAN_TZ)  # 1401/01/01
CURRENT_PRICES_FROM = dt.datetime(2023, 8, 23, tzinfo=TEHRAN_TZ)  # 1402/06/01

# Plausible 1401 base and 1402 current prices per unit, in rials (1 toman = 10 rials).
DEMO_PRICES_RIAL: dict[str, tuple[int, int]] = {
    "raw_milk": (150_000, 220_000),
    "cheese": (1_500_000, 2_300_000),
    "yogurt": (400_000, 600_000),
    "chicken": (600_000, 850_000),
    "eggs": (550_000, 750_000),
    "frozen_meat": (2_200_000, 3_200_000),
    "rice": (450_000, 720_000),
    "legumes": (600_000, 950_000),
    "pasta": (300_000, 450_000),
    "sugar_cubes": (400_000, 620_000),
    "sugar": (300_000, 480_000),
}

DEMO_STORE_LICENCE = "DEMO-STORE-1"
DEMO_TERMINAL_ID = "10000001"
DEMO_TERMINAL_KEY = "10000001.demo-terminal-key-for-local-use-only"
DEMO_STORE_COUNT = 60


@transaction.atomic
def ensure_demo_prices() -> None:
    for code, (base, current) in DEMO_PRICES_RIAL.items():
        item = BasketItem.objects.get(code=code)
        for kind, amount, when in (
            (PriceKind.BASE, base, BASE_PRICES_FROM),
            (PriceKind.CURRENT, current, CURRENT_PRICES_FROM),
        ):
            if not ItemPrice.objects.filter(item=item, kind=kind, effective_from=when).exists():
                services.set_price(
                    item=item,
                    kind=kind,
                    price_rial=amount,
                    effective_from=when,
                    reason="نرخ نمایشی",
                    created_by=None,
                )


@transaction.atomic
def ensure_demo_store_and_terminal() -> Terminal:
    store = Store.objects.filter(licence_number=DEMO_STORE_LICENCE).first()
    if store is None:
        province = Province.objects.get(name="تهران")
        store = services.register_store(
            name="فروشگاه تعاونی رفاه",
            owner_national_code="0013542419",
            licence_number=DEMO_STORE_LICENCE,
            tax_code="411111111111",
            sheba="IR820540102680020817909002",
            mobile="09121112233",
            province=province,
            city=City.objects.get(province=province, name="تهران"),
            address="تهران، خیابان انقلاب، پلاک ۱۲",
        )
    if store.status != StoreStatus.CONNECTED:
        services.connect_store(store=store, by=None)
    terminal = Terminal.objects.filter(terminal_id=DEMO_TERMINAL_ID).first()
    if terminal is None:
        terminal = services.create_terminal(
            store=store, terminal_id=DEMO_TERMINAL_ID, psp_name="به‌پرداخت ملت"
        )
    demo_hash = services.hash_api_key(DEMO_TERMINAL_KEY)
    if terminal.api_key_hash != demo_hash:
        terminal.api_key_hash = demo_hash
        terminal.save(update_fields=["api_key_hash"])
    return terminal


def ensure_demo_stores() -> None:
    ensure_demo_prices()
    ensure_demo_store_and_terminal()
    if Store.objects.count() < DEMO_STORE_COUNT:
        generate_stores(count=DEMO_STORE_COUNT, seed=1402)
