"""Synthetic connected stores for demos and the store-finder benchmark (COPY, no ORM save per row)."""

from __future__ import annotations

import datetime as dt
from random import Random

from django.db import transaction
from django.utils import timezone

from households.models import City
from kalabarg.lib.bulk import copy_rows
from kalabarg.lib.identifiers import national_code_check_digit, sheba_check_digits
from kalabarg.lib.persian import to_persian_digits

STORE_KINDS = ("فروشگاه", "سوپرمارکت", "هایپرمارکت", "فروشگاه زنجیره‌ای", "تعاونی مصرف", "بقالی")
STORE_NAMES = (
    "بهار", "آفتاب", "کوثر", "نور", "امید", "ستاره", "رفاه", "شهروند", "افق", "سپیده", "نیک",
    "پارسیان", "البرز", "زاگرس", "ارغوان", "یاس", "نسیم", "مهر", "آرمان", "سبز", "خلیج", "کاج",
)  # fmt: skip
STREETS = (
    "خیابان امام",
    "بلوار آزادی",
    "خیابان انقلاب",
    "خیابان شهید بهشتی",
    "میدان ولیعصر",
    "کوچه بهار",
)
OWNER_FIRST_NAMES = ("علی", "محمد", "حسین", "رضا", "مریم", "زهرا", "فاطمه", "مهدی")
OWNER_LAST_NAMES = ("احمدی", "رضایی", "محمدی", "حسینی", "کریمی", "موسوی", "جعفری", "نوری")
COLUMNS = (
    "name", "owner_national_code", "owner_name", "licence_number", "tax_code", "sheba", "mobile", "province_id", "city_id",
    "address", "status", "status_reason", "connected_at", "created_at",
)  # fmt: skip


def _sheba(rng: Random) -> str:
    bban = f"0{rng.randint(10, 99)}0{rng.randint(10**18, 10**19 - 1)}"[:22].ljust(22, "0")
    return f"IR{sheba_check_digits(bban)}{bban}"


def generate_stores(*, count: int, seed: int, chunk_size: int = 50_000) -> int:
    """Add ``count`` connected stores spread over every city (licence numbers ``S<seed>-<n>``)."""
    rng = Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    cities = list(City.objects.values_list("pk", "province_id", "name"))
    now = timezone.now()
    connected_at = now - dt.timedelta(days=400)
    written = 0
    while written < count:
        size = min(chunk_size, count - written)
        rows = []
        for index in range(written, written + size):
            city_id, province_id, city_name = cities[rng.randrange(len(cities))]
            nine = f"{(seed * 7919 + index) % 899_999_999 + 100_000_000:09d}"
            rows.append(
                (
                    to_persian_digits(
                        f"{rng.choice(STORE_KINDS)} {rng.choice(STORE_NAMES)} {index}"
                    ),
                    nine + str(national_code_check_digit(nine)),
                    f"{rng.choice(OWNER_FIRST_NAMES)} {rng.choice(OWNER_LAST_NAMES)}",
                    f"S{seed}-{index}",
                    f"{rng.randint(10**11, 10**12 - 1)}",
                    _sheba(rng),
                    f"0912{rng.randint(0, 9_999_999):07d}",
                    province_id,
                    city_id,
                    to_persian_digits(
                        f"{city_name}، {rng.choice(STREETS)}، پلاک {rng.randint(1, 300)}"
                    ),
                    "connected",
                    "",
                    connected_at,
                    now,
                )
            )
        with transaction.atomic():
            copy_rows(table="stores_store", columns=COLUMNS, rows=rows)
        written += size
    return written
