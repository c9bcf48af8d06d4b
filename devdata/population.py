"""A synthetic population for demos and benchmarks: the rows, before any database.

Everything is derived from ``random.Random(seed)`` and a running counter, so one seed always
yields the same population, whatever the chunk size and whatever the database. Rows are built as
plain tuples per chunk (no model object, no per-value adapter): :mod:`devdata.households` loads
them. Registry codes (``GEN-<seed>-<index>``), national codes and card numbers are functions of
the seed and the counter, which is what makes re-running safe there.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from pathlib import Path
from random import Random

from households.models import City, Province
from kalabarg.lib.identifiers import (
    BANKS_BY_BIN,
    card_hash,
)

# The reference data that the households app's migration loads (provinces and their cities).
PROVINCES_FILE = Path(__file__).resolve().parent.parent / "households" / "data" / "provinces.json"

# 1 Farvardin 1401: the first decile of every generated household is effective from this day.
DECILE_EFFECTIVE_FROM = date(2022, 3, 21)
# Ages are computed against a fixed day (1 Farvardin 1403), not today, so output never drifts.
REFERENCE_DATE = date(2024, 3, 20)

HOUSEHOLD_SIZE_WEIGHTS: dict[int, int] = {1: 8, 2: 18, 3: 25, 4: 26, 5: 14, 6: 6, 7: 2, 8: 1}

# Rough population in thousands (1395 census), by province code: households follow people.
PROVINCE_POPULATION: dict[str, int] = {
    "01": 3910, "02": 3265, "03": 1271, "04": 5120, "05": 2712, "06": 580, "07": 1163,
    "08": 13267, "09": 947, "10": 768, "11": 6434, "12": 863, "13": 4710, "14": 1057,
    "15": 702, "16": 2775, "17": 4851, "18": 1273, "19": 1292, "20": 1603, "21": 3164,
    "22": 1952, "23": 713, "24": 1868, "25": 2530, "26": 1760, "27": 3283, "28": 1429,
    "29": 1776, "30": 1738, "31": 1138,
}  # fmt: skip

MALE_FIRST_NAMES = (
    "محمد", "علی", "حسین", "رضا", "مهدی", "حسن", "امیر", "ابوالفضل", "مصطفی", "محمدرضا",
    "علیرضا", "سعید", "مجید", "احمد", "جواد", "حمید", "محسن", "یوسف", "عباس", "مرتضی",
    "امیرحسین", "محمدحسین", "سجاد", "کاظم", "ابراهیم", "اسماعیل", "یعقوب", "هادی", "وحید",
    "بهزاد", "فرهاد", "داوود", "ناصر", "کریم", "رحیم", "جعفر", "صادق", "میلاد", "پویا", "آرش",
)  # fmt: skip
FEMALE_FIRST_NAMES = (
    "فاطمه", "زهرا", "مریم", "معصومه", "زینب", "سکینه", "اعظم", "لیلا", "سمیه", "نرگس",
    "مهسا", "سارا", "الهام", "نازنین", "ریحانه", "فرزانه", "شیرین", "پروین", "طاهره", "منیژه",
    "مهناز", "رقیه", "کبری", "صغری", "خدیجه", "محبوبه", "نسرین", "آزاده", "الناز", "هانیه",
    "ستاره", "پریسا", "نگار", "مینا", "کوثر", "هستی", "یاسمن", "حدیث", "بهاره", "فرشته",
)  # fmt: skip
LAST_NAMES = (
    "محمدی", "حسینی", "احمدی", "رضایی", "موسوی", "کریمی", "جعفری", "صادقی", "رحیمی", "هاشمی",
    "قاسمی", "ابراهیمی", "کاظمی", "مرادی", "نوری", "اکبری", "طاهری", "عباسی", "سلیمانی",
    "حیدری", "یوسفی", "زارعی", "امیری", "نجفی", "شریفی", "فرهادی", "قربانی", "رستمی", "بهرامی",
    "نظری", "عزیزی", "خسروی", "میرزایی", "اسدی", "باقری", "رحمانی", "صالحی", "جلالی", "سعیدی",
    "مختاری", "فتحی", "کرمی", "تقوی", "شجاعی", "منصوری", "توکلی", "ملکی", "پورمحمدی", "افشار",
    "دهقان", "کیانی", "بابایی", "علوی", "فاضلی", "غفاری", "انصاری", "شفیعی", "یزدانی", "زمانی",
    "نیک‌نام",
)  # fmt: skip
MOBILE_PREFIXES = (
    "0912", "0913", "0914", "0915", "0916", "0917", "0918", "0919", "0910", "0911",
    "0935", "0936", "0937", "0938", "0939", "0930", "0933", "0901", "0902", "0903",
    "0990", "0991", "0921", "0922",
)  # fmt: skip
CARD_BINS = tuple(sorted(BANKS_BY_BIN))

# National codes: first nine digits = a 3-digit block (never a repdigit, so the code can never
# be ten identical digits) and a 6-digit serial 000001..999999 (never the invalid 000000).
_NATIONAL_BLOCKS = tuple(b for b in range(1000) if len(set(f"{b:03d}")) > 1)
_NATIONAL_SERIALS = 999_999
NATIONAL_CODE_CAPACITY = len(_NATIONAL_BLOCKS) * _NATIONAL_SERIALS
# Each seed starts its counters this far apart, so a few seeds can share one database.
SEED_STRIDE = 10_000_000
SEED_SLOTS = 98
CARD_BODY_CAPACITY = 1_000_000_000  # nine digits between the BIN and the Luhn digit

REGISTRY_PREFIX = "GEN"
MAX_SEED = 10**12


class GenerationError(Exception):
    """The population cannot be generated here; the message says why."""


class GenerationConflict(GenerationError):
    """Generated identifiers clash with rows that this seed did not create."""


@dataclass(frozen=True)
class Place:
    province_id: int
    city_id: int
    weight: float


@dataclass(frozen=True)
class ChunkRows:
    """One chunk of synthetic rows, before any database id exists.

    ``households``: (index, registry_code, province_id, city_id, decile)
    ``persons``: (household position in chunk, national_code, first_name, last_name,
    birth_date ISO, gender, relation, is_head, mobile)
    ``cards``: the heads' cards, (household position in chunk, card_hash, bin, last4); the
    full number is never kept, only its keyed hash
    """

    households: list[tuple[int, str, int, int, int]]
    persons: list[tuple[int, str, str, str, str, str, str, bool, str]]
    cards: list[tuple[int, str, str, str]]


# Each identifier has a keyword-only public function and a positional twin that the synthesis
# loop calls: keyword arguments cost a few percent there, millions of times per run.


def registry_code(*, seed: int, index: int) -> str:
    """The registry code of the ``index``-th household of ``seed``: ``GEN-<seed>-<index>``."""
    return _registry_code(seed, index)


def national_code_for(*, ordinal: int) -> str:
    """The ``ordinal``-th national code of the generator's space: always valid, never repeated."""
    return _national_code(ordinal)


def card_number_for(*, bin_: str, ordinal: int) -> str:
    """A 16-digit Luhn-valid card number on ``bin_``; distinct ordinals give distinct numbers."""
    return _card_number(bin_, ordinal)


def _registry_code(seed: int, index: int) -> str:
    return f"{REGISTRY_PREFIX}-{seed}-{index:09d}"


# The check digits are sums of per-digit terms, so each group of three digits' share of the sum
# is looked up instead of computed digit by digit (millions of codes and cards per run).
# tests/devdata/test_population.py holds them to national_code_check_digit and luhn_check_digit.


def _weighted(weights: tuple[int, int, int]) -> list[int]:
    return [
        sum(int(d) * w for d, w in zip(f"{value:03d}", weights, strict=True))
        for value in range(1000)
    ]


# National code: digits 1-9 weighted 10..2; the block is digits 1-3, the serial digits 4-9.
_BLOCK_SUM = _weighted((10, 9, 8))
_SERIAL_HIGH_SUM = _weighted((7, 6, 5))
_SERIAL_LOW_SUM = _weighted((4, 3, 2))


def _luhn_terms(doubled: tuple[bool, bool, bool]) -> list[int]:
    def term(digit: int, double: bool) -> int:
        return (digit * 2 - 9 if digit > 4 else digit * 2) if double else digit

    return [
        sum(term(int(d), dbl) for d, dbl in zip(f"{value:03d}", doubled, strict=True))
        for value in range(1000)
    ]


# Card: 6-digit BIN + 9-digit body + Luhn digit. Counted from the right of the 15 digits before
# the check digit, the 1st, 3rd, 5th, … are doubled: the groups of three, left to right
# (15th-13th, 12th-10th, 9th-7th, 6th-4th, 3rd-1st), are odd, even, odd, even, odd.
_ODD_GROUP = _luhn_terms((True, False, True))
_EVEN_GROUP = _luhn_terms((False, True, False))


def _national_code(ordinal: int) -> str:
    ordinal %= NATIONAL_CODE_CAPACITY
    block, serial = divmod(ordinal, _NATIONAL_SERIALS)
    block = _NATIONAL_BLOCKS[block]
    serial += 1
    high, low = divmod(serial, 1000)
    remainder = (_BLOCK_SUM[block] + _SERIAL_HIGH_SUM[high] + _SERIAL_LOW_SUM[low]) % 11
    return f"{block:03d}{serial:06d}{remainder if remainder < 2 else 11 - remainder}"


def _card_number(bin_: str, ordinal: int) -> str:
    body = ordinal % CARD_BODY_CAPACITY
    high, rest = divmod(body, 1_000_000)
    middle, low = divmod(rest, 1000)
    total = _bin_luhn_sum(bin_) + _ODD_GROUP[high] + _EVEN_GROUP[middle] + _ODD_GROUP[low]
    return f"{bin_}{body:09d}{(10 - total % 10) % 10}"


def _bin_luhn_sum(bin_: str) -> int:
    """The BIN's share of the Luhn sum (its six digits, counted 15th to 10th from the right)."""
    cached = _BIN_SUMS.get(bin_)
    if cached is None:
        cached = _BIN_SUMS[bin_] = _ODD_GROUP[int(bin_[:3])] + _EVEN_GROUP[int(bin_[3:])]
    return cached


_BIN_SUMS: dict[str, int] = {}


def load_places() -> list[Place]:
    """Every city of the reference data with a weight: province population × rank in province.

    Order and weights come from ``provinces.json`` (not from database ids), so the same seed
    picks the same cities on every database.
    """
    province_ids = dict(Province.objects.values_list("code", "id"))
    city_ids = {
        (code, name): city_id
        for code, name, city_id in City.objects.values_list("province__code", "name", "id")
    }
    places: list[Place] = []
    for entry in json.loads(PROVINCES_FILE.read_text(encoding="utf-8")):
        province_id = province_ids.get(entry["code"])
        if province_id is None:
            continue
        names = [entry["center"]] + [n for n in entry["cities"] if n != entry["center"]]
        present = [
            city_id
            for name in names
            if (city_id := city_ids.get((entry["code"], name))) is not None
        ]
        # Zipf-like within a province: the centre is the largest city.
        shares = [1.0 / (rank + 1) for rank in range(len(present))]
        population = PROVINCE_POPULATION.get(entry["code"], 1000)
        places.extend(
            Place(province_id, city_id, population * share / sum(shares))
            for city_id, share in zip(present, shares, strict=True)
        )
    if not places:
        raise GenerationError("No provinces or cities in the database; run `manage.py migrate`.")
    return places


class PopulationSynthesizer:
    """Pure row synthesis: the same seed and places give the same rows, chunk after chunk."""

    def __init__(self, *, seed: int, places: Sequence[Place], card_hash_key: str) -> None:
        if not 0 <= seed < MAX_SEED:
            raise ValueError(f"seed must be between 0 and {MAX_SEED - 1}")
        self.seed = seed
        self._rng = Random(seed)  # noqa: S311 - synthetic data, reproducible on purpose
        self._key = card_hash_key
        self._places = [(p.province_id, p.city_id) for p in places]
        self._place_cum = list(accumulate(p.weight for p in places))
        sizes = sorted(HOUSEHOLD_SIZE_WEIGHTS)
        self._sizes = sizes
        self._size_cum = list(accumulate(HOUSEHOLD_SIZE_WEIGHTS[s] for s in sizes))
        base = (seed % SEED_SLOTS) * SEED_STRIDE
        self.next_household = 0
        self.next_person = base
        self.next_card = base
        ref = REFERENCE_DATE.toordinal()
        self._oldest = ref - 100 * 366
        self._dates = [
            date.fromordinal(o).isoformat() for o in range(self._oldest, ref + 1)
        ]  # birth-date strings by ordinal: no date object per person

    def _birth(self, age: int) -> str:
        # Exactly ``age`` years old on REFERENCE_DATE, on a random day of that year of life.
        days = int((age + self._rng.random()) * 365.2425)
        return self._dates[len(self._dates) - 1 - days]

    def next_chunk(self, count: int) -> ChunkRows:
        """Synthesize the next ``count`` households (and their people, deciles and cards)."""
        rnd = self._rng.random
        places, place_cum = self._places, self._place_cum
        place_total = place_cum[-1]
        last_place = len(places) - 1
        sizes, size_cum = self._sizes, self._size_cum
        size_total = size_cum[-1]
        males, females, lasts = MALE_FIRST_NAMES, FEMALE_FIRST_NAMES, LAST_NAMES
        n_male, n_female, n_last = len(males), len(females), len(lasts)
        prefixes, n_prefixes = MOBILE_PREFIXES, len(MOBILE_PREFIXES)
        bins, n_bins = CARD_BINS, len(CARD_BINS)
        birth = self._birth
        key = self._key
        seed = self.seed

        households: list[tuple[int, str, int, int, int]] = []
        persons: list[tuple[int, str, str, str, str, str, str, bool, str]] = []
        cards: list[tuple[int, str, str, str]] = []
        add_person = persons.append
        person_ordinal = self.next_person
        card_ordinal = self.next_card

        def mobile() -> str:
            return f"{prefixes[int(rnd() * n_prefixes)]}{int(rnd() * 10_000_000):07d}"

        for position in range(count):
            index = self.next_household + position
            province_id, city_id = places[
                min(bisect_right(place_cum, rnd() * place_total), last_place)
            ]
            size = sizes[bisect_right(size_cum, rnd() * size_total)]
            decile = int(rnd() * 10) + 1
            households.append((index, _registry_code(seed, index), province_id, city_id, decile))

            # Who lives here besides the head.
            spouse = size >= 2 and rnd() < 0.88
            others = size - 1 - spouse
            parent = others >= 1 and rnd() < 0.12
            other = others - parent >= 1 and rnd() < 0.05
            children = others - parent - other

            if spouse:
                head_male = rnd() < 0.96
            elif size == 1:
                head_male = rnd() < 0.5
            else:
                head_male = rnd() < 0.3
            if children or parent:
                head_age = 25 + int(rnd() * 36)  # 25..60
            elif size == 1 and rnd() < 0.5:
                head_age = 55 + int(rnd() * 26)  # widowed or retired, 55..80
            else:
                head_age = 18 + int(rnd() * 63)  # 18..80
            head_last = lasts[int(rnd() * n_last)]
            family_last = head_last if head_male else lasts[int(rnd() * n_last)]

            add_person(
                (
                    position,
                    _national_code(person_ordinal),
                    males[int(rnd() * n_male)] if head_male else females[int(rnd() * n_female)],
                    head_last,
                    birth(head_age),
                    "M" if head_male else "F",
                    "head",
                    True,
                    mobile(),
                )
            )
            person_ordinal += 1

            if spouse:
                age = head_age + (int(rnd() * 12) - 9 if head_male else int(rnd() * 10) - 1)
                age = min(max(age, 18), 90)
                add_person(
                    (
                        position,
                        _national_code(person_ordinal),
                        females[int(rnd() * n_female)] if head_male else males[int(rnd() * n_male)],
                        lasts[int(rnd() * n_last)],
                        birth(age),
                        "F" if head_male else "M",
                        "spouse",
                        False,
                        mobile() if rnd() < 0.5 else "",
                    )
                )
                person_ordinal += 1
            oldest_child = min(head_age - 18, 32)
            for _ in range(children):
                age = int(rnd() * (oldest_child + 1))
                male = rnd() < 0.51
                add_person(
                    (
                        position,
                        _national_code(person_ordinal),
                        males[int(rnd() * n_male)] if male else females[int(rnd() * n_female)],
                        family_last,
                        birth(age),
                        "M" if male else "F",
                        "child",
                        False,
                        mobile() if age >= 18 and rnd() < 0.4 else "",
                    )
                )
                person_ordinal += 1
            if parent:
                age = min(head_age + 20 + int(rnd() * 16), 95)
                male = rnd() < 0.35  # mostly a widowed mother
                add_person(
                    (
                        position,
                        _national_code(person_ordinal),
                        males[int(rnd() * n_male)] if male else females[int(rnd() * n_female)],
                        head_last if male or not head_male else lasts[int(rnd() * n_last)],
                        birth(age),
                        "M" if male else "F",
                        "parent",
                        False,
                        mobile() if rnd() < 0.3 else "",
                    )
                )
                person_ordinal += 1
            if other:
                age = 5 + int(rnd() * 66)
                male = rnd() < 0.5
                add_person(
                    (
                        position,
                        _national_code(person_ordinal),
                        males[int(rnd() * n_male)] if male else females[int(rnd() * n_female)],
                        lasts[int(rnd() * n_last)],
                        birth(age),
                        "M" if male else "F",
                        "other",
                        False,
                        mobile() if age >= 18 and rnd() < 0.4 else "",
                    )
                )
                person_ordinal += 1

            # One card for most heads, a second for many: any card in the head's name pays.
            for _ in range(1 if rnd() < 0.6 else 2):
                bin_ = bins[int(rnd() * n_bins)]
                number = _card_number(bin_, card_ordinal)
                card_ordinal += 1
                cards.append((position, card_hash(number, key=key), bin_, number[-4:]))

        self.next_household += count
        self.next_person = person_ordinal
        self.next_card = card_ordinal
        return ChunkRows(households=households, persons=persons, cards=cards)
