"""Test data for the registry. Households are made through the service, head first, in one transaction."""

import datetime as dt
import itertools

from households import services
from households.models import City, DecileSource, Household, Province, Relation
from households.services import MemberData
from kalabarg.lib.identifiers import luhn_is_valid, national_code_check_digit

PROGRAMME_START = dt.date(2022, 3, 21)  # 1401/01/01

_national_codes = itertools.count(100_000_001)
_mobiles = itertools.count(100_000_000)
_cards = itertools.count(1)
_households = itertools.count(1)


def next_national_code() -> str:
    nine = f"{next(_national_codes):09d}"
    return nine + str(national_code_check_digit(nine))


def next_mobile() -> str:
    return f"09{next(_mobiles):09d}"


def next_card_number(bin_: str = "603799") -> str:
    stem = f"{bin_}{next(_cards):09d}"
    return next(stem + str(d) for d in range(10) if luhn_is_valid(stem + str(d)))


def place(province_name: str = "تهران", city_name: str | None = None) -> tuple[Province, City]:
    province = Province.objects.get(name=province_name)
    return province, City.objects.get(province=province, name=city_name or province_name)


def make_household(
    *,
    members: int = 0,
    decile: int = 3,
    decile_from: dt.date = PROGRAMME_START,
    province_name: str = "تهران",
    registry_code: str | None = None,
) -> Household:
    """A household with a head (with a mobile), ``members`` children and one decile assignment."""
    province, city = place(province_name)
    head = MemberData(
        next_national_code(),
        "مریم",
        "احمدی",
        Relation.HEAD,
        dt.date(1980, 1, 1),
        "F",
        next_mobile(),
    )
    children = [
        MemberData(next_national_code(), "سارا", "احمدی", Relation.CHILD, dt.date(2012, 1, 1), "F")
        for _ in range(members)
    ]
    return services.register_household(
        registry_code=registry_code or f"HH{next(_households):08d}",
        province=province,
        city=city,
        head=head,
        members=children,
        decile=decile,
        decile_effective_from=decile_from,
        decile_source=DecileSource.IMPORT,
    )
