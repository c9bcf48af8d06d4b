"""A synthetic population for demos and benchmarks: households, people, deciles and bank cards.

Everything is derived from ``random.Random(seed)`` and a running counter, so one seed always
yields the same population, whatever the chunk size and whatever the database. Rows are built as
plain tuples per chunk and loaded with COPY on PostgreSQL (``executemany`` on SQLite); after
the households of a chunk are in, one range query maps their registry codes to ids, and after
the people, one scan of the partial "one head" index gives the heads' ids for their cards. Each
chunk is one transaction, which PostgreSQL's deferred "exactly one head" trigger checks at
commit. On PostgreSQL two writer threads, each with its own connection, load two chunks at once
while the main thread synthesizes the next: the load is CPU-bound in the server, and one
backend can use only one core.

Re-running is safe: registry codes (``GEN-<seed>-<index>``), national codes and card numbers are
functions of the seed and the counter, and a chunk leaves out the households whose registry code
already exists. A national code or card that some *other* data already uses stops the run with
:class:`GenerationConflict` (chunks committed before it stay).
"""

from __future__ import annotations

import json
import time
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from itertools import accumulate
from pathlib import Path
from random import Random
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from households.models import City, Province
from kalabarg.lib.bulk import analyze, copy_rows
from kalabarg.lib.identifiers import BANKS_BY_BIN, card_hash, national_code_check_digit

PROVINCES_FILE = Path(__file__).resolve().parent / "data" / "provinces.json"

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
_SEED_SLOTS = 98
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


@dataclass(frozen=True)
class ChunkProgress:
    chunk: int
    chunks: int
    households_done: int
    households_total: int
    households_written: int
    persons_written: int
    cards_written: int
    households_skipped: int
    elapsed_seconds: float


@dataclass(frozen=True)
class GenerationResult:
    seed: int
    households_requested: int
    households: int
    persons: int
    deciles: int
    cards: int
    households_skipped: int
    chunks: int
    elapsed_seconds: float


def registry_code(seed: int, index: int) -> str:
    return f"{REGISTRY_PREFIX}-{seed}-{index:09d}"


def national_code_for(ordinal: int) -> str:
    """The ``ordinal``-th national code of the generator's space: always valid, never repeated."""
    ordinal %= NATIONAL_CODE_CAPACITY
    block, serial = divmod(ordinal, _NATIONAL_SERIALS)
    first_nine = f"{_NATIONAL_BLOCKS[block]:03d}{serial + 1:06d}"
    return f"{first_nine}{national_code_check_digit(first_nine)}"


def luhn_check_digit(partial: str) -> int:
    """The digit that makes ``partial`` + digit pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:  # doubled once the check digit is appended
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return (10 - total % 10) % 10


def card_number_for(bin_: str, ordinal: int) -> str:
    """A 16-digit Luhn-valid card number on ``bin_``; distinct ordinals give distinct numbers."""
    partial = f"{bin_}{ordinal % CARD_BODY_CAPACITY:09d}"
    return f"{partial}{luhn_check_digit(partial)}"


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
        base = (seed % _SEED_SLOTS) * SEED_STRIDE
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
            households.append((index, registry_code(seed, index), province_id, city_id, decile))

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
                    national_code_for(person_ordinal),
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
                        national_code_for(person_ordinal),
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
                        national_code_for(person_ordinal),
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
                        national_code_for(person_ordinal),
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
                        national_code_for(person_ordinal),
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
                number = card_number_for(bin_, card_ordinal)
                card_ordinal += 1
                cards.append((position, card_hash(number, key=key), bin_, number[-4:]))

        self.next_household += count
        self.next_person = person_ordinal
        self.next_card = card_ordinal
        return ChunkRows(households=households, persons=persons, cards=cards)


# --- Loading ----------------------------------------------------------------------------------
# PostgreSQL gets COPY text built here (one f-string per row is much cheaper than a per-value
# adapter); every value is a digit string, an ISO date or a name from the lists above, none of
# which holds a tab, newline or backslash, so nothing needs escaping. SQLite gets tuples.

_HOUSEHOLD_COLUMNS = ("registry_code", "province_id", "city_id", "created_at", "updated_at")
_PERSON_COLUMNS = (
    "household_id", "national_code", "first_name", "last_name", "birth_date", "gender",
    "relation", "is_head", "mobile", "created_at", "updated_at",
)  # fmt: skip
_DECILE_COLUMNS = ("household_id", "decile", "effective_from", "source", "reason", "created_at")
_CARD_COLUMNS = ("person_id", "card_hash", "bin", "last4", "is_active", "registered_at")
_COPY_BATCH = 5_000  # rows per write, so PostgreSQL parses one batch while we format the next


def _copy_text(table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            batch: list[str] = []
            for line in lines:
                batch.append(line)
                if len(batch) >= _COPY_BATCH:
                    copy.write("".join(batch))
                    batch = []
            if batch:
                copy.write("".join(batch))


def _existing(table: str, column: str, low: str, high: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {column} FROM {table} WHERE {column} BETWEEN %s AND %s",  # noqa: S608
            [low, high],
        )
        return {row[0] for row in cursor.fetchall()}


def _pairs(sql: str, params: Sequence[Any]) -> dict[Any, int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


@dataclass(frozen=True)
class _Written:
    households: int
    persons: int
    cards: int
    skipped: int


def _write_chunk(rows: ChunkRows, *, now: datetime, seed: int) -> _Written:
    """Write one chunk in the caller's transaction, leaving out households that already exist."""
    if not rows.households:
        return _Written(0, 0, 0, 0)
    codes = [h[1] for h in rows.households]
    existing = _existing("households_household", "registry_code", min(codes), max(codes))
    keep = [code not in existing for code in codes]
    kept = [h for h, k in zip(rows.households, keep, strict=True) if k]
    if not kept:
        return _Written(0, 0, 0, len(codes))
    persons = [p for p in rows.persons if keep[p[0]]] if existing else rows.persons
    cards = [c for c in rows.cards if keep[c[0]]] if existing else rows.cards
    national_codes = [p[1] for p in persons]
    taken = _existing(
        "households_person", "national_code", min(national_codes), max(national_codes)
    ).intersection(national_codes)
    if taken:
        raise GenerationConflict(
            f"{len(taken)} national code(s) of seed {seed} already belong to people this seed "
            f"did not create (e.g. {min(taken)}); seeds equal modulo {_SEED_SLOTS} share one "
            "range of codes. Use another seed or a clean database."
        )
    try:
        with connection.wrap_database_errors:
            _load_rows(rows.households[0][0], kept, persons, cards, now=now)
    except IntegrityError as exc:
        raise GenerationConflict(
            f"rows generated for seed {seed} clash with existing data (another run of the same "
            f"seed at the same time, or a card this seed did not create): {exc}"
        ) from exc
    return _Written(len(kept), len(persons), len(cards), len(codes) - len(kept))


def _load_rows(
    base: int,
    households: list[tuple[int, str, int, int, int]],
    persons: list[tuple[int, str, str, str, str, str, str, bool, str]],
    cards: list[tuple[int, str, str, str]],
    *,
    now: datetime,
) -> None:
    postgres = connection.vendor == "postgresql"
    stamp = now.isoformat() if postgres else connection.ops.adapt_datetimefield_value(now)
    if postgres:
        _copy_text(
            "households_household",
            _HOUSEHOLD_COLUMNS,
            (f"{h[1]}\t{h[2]}\t{h[3]}\t{stamp}\t{stamp}\n" for h in households),
        )
    else:
        copy_rows(
            "households_household",
            _HOUSEHOLD_COLUMNS,
            ((h[1], h[2], h[3], stamp, stamp) for h in households),
        )
    # Ids come back by registry code (one index range scan) instead of one nextval per row.
    id_by_code = _pairs(
        "SELECT registry_code, id FROM households_household WHERE registry_code BETWEEN %s AND %s",
        [households[0][1], households[-1][1]],
    )
    hid = {h[0] - base: id_by_code[h[1]] for h in households}  # chunk position -> id

    if postgres:
        _copy_text(
            "households_person",
            _PERSON_COLUMNS,
            (
                f"{hid[p[0]]}\t{p[1]}\t{p[2]}\t{p[3]}\t{p[4]}\t{p[5]}\t{p[6]}\t"
                f"{'t' if p[7] else 'f'}\t{p[8]}\t{stamp}\t{stamp}\n"
                for p in persons
            ),
        )
    else:
        copy_rows(
            "households_person",
            _PERSON_COLUMNS,
            ((hid[p[0]], *p[1:], stamp, stamp) for p in persons),
        )
    # The heads' ids, for their cards: one scan of the partial "one head" index.
    head_id = _pairs(
        "SELECT household_id, id FROM households_person"
        " WHERE is_head AND household_id BETWEEN %s AND %s",
        [min(hid.values()), max(hid.values())],
    )

    effective = DECILE_EFFECTIVE_FROM.isoformat()
    if postgres:
        _copy_text(
            "households_decileassignment",
            _DECILE_COLUMNS,
            (
                f"{hid[h[0] - base]}\t{h[4]}\t{effective}\tgenerated\t\t{stamp}\n"
                for h in households
            ),
        )
        _copy_text(
            "households_bankcard",
            _CARD_COLUMNS,
            (f"{head_id[hid[c[0]]]}\t{c[1]}\t{c[2]}\t{c[3]}\tt\t{stamp}\n" for c in cards),
        )
    else:
        copy_rows(
            "households_decileassignment",
            _DECILE_COLUMNS,
            ((hid[h[0] - base], h[4], effective, "generated", "", stamp) for h in households),
        )
        copy_rows(
            "households_bankcard",
            _CARD_COLUMNS,
            ((head_id[hid[c[0]]], c[1], c[2], c[3], True, stamp) for c in cards),
        )


def _write_chunk_in_own_connection(rows: ChunkRows, *, now: datetime, seed: int) -> _Written:
    """A writer thread's unit of work: its own connection, one transaction, then close."""
    try:
        with transaction.atomic():
            return _write_chunk(rows, now=now, seed=seed)
    finally:
        connection.close()


def _default_writers() -> int:
    # Parallel writers need their own connections and commits: only on PostgreSQL, and never
    # inside a caller's transaction (a test's, say), whose rows other connections cannot see.
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return 2


def generate_households(
    *,
    households: int,
    seed: int,
    chunk_size: int = 50_000,
    progress: Callable[[ChunkProgress], None] | None = None,
    writers: int | None = None,
) -> GenerationResult:
    """Generate ``households`` synthetic households (with people, deciles and cards) for ``seed``.

    Each chunk of ``chunk_size`` households is one transaction. Households this seed already
    generated are skipped, so a re-run (or a larger ``households`` later) only adds what is
    missing. Rows are synthesized in this thread, always in the same order, so the data does
    not depend on timing; with ``writers`` > 1 (the default on PostgreSQL outside a
    transaction) chunks are written by that many threads, each on its own connection, so
    PostgreSQL works on two chunks at once while the next one is being synthesized. Raises
    :class:`GenerationConflict` when generated identifiers clash with other data, and
    :class:`GenerationError` when there are no provinces and cities to place households in.
    """
    if households < 0:
        raise ValueError("households must not be negative")
    if households > 10**9:
        raise ValueError("households must be at most 1,000,000,000")
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if writers is None:
        writers = _default_writers()
    if writers < 1:
        raise ValueError("writers must be at least 1")
    if writers > 1 and connection.in_atomic_block:
        raise ValueError("parallel writers cannot run inside a transaction")

    started = time.monotonic()
    synth = PopulationSynthesizer(
        seed=seed, places=load_places(), card_hash_key=settings.CARD_HASH_KEY
    )
    now = timezone.now()
    counts = [min(chunk_size, households - start) for start in range(0, households, chunk_size)]
    totals = {"households": 0, "persons": 0, "cards": 0, "skipped": 0, "done": 0, "chunks": 0}

    def record(written: _Written, synthesized: int) -> None:
        totals["households"] += written.households
        totals["persons"] += written.persons
        totals["cards"] += written.cards
        totals["skipped"] += written.skipped
        totals["done"] += synthesized
        totals["chunks"] += 1
        if progress is not None:
            progress(
                ChunkProgress(
                    chunk=totals["chunks"],
                    chunks=len(counts),
                    households_done=totals["done"],
                    households_total=households,
                    households_written=written.households,
                    persons_written=written.persons,
                    cards_written=written.cards,
                    households_skipped=written.skipped,
                    elapsed_seconds=time.monotonic() - started,
                )
            )

    if writers == 1:
        for count in counts:
            rows = synth.next_chunk(count)
            with transaction.atomic():
                record(_write_chunk(rows, now=now, seed=seed), count)
    else:
        with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="generate") as pool:
            in_flight: deque[tuple[Future[_Written], int]] = deque()
            try:
                for count in counts:
                    rows = synth.next_chunk(count)  # overlaps with the chunks being written
                    while len(in_flight) >= writers:
                        future, synthesized = in_flight.popleft()
                        record(future.result(), synthesized)
                    in_flight.append(
                        (
                            pool.submit(_write_chunk_in_own_connection, rows, now=now, seed=seed),
                            count,
                        )
                    )
                    del rows
                while in_flight:
                    future, synthesized = in_flight.popleft()
                    record(future.result(), synthesized)
            finally:
                for future, _ in in_flight:
                    future.cancel()
    analyze(
        "households_household",
        "households_person",
        "households_decileassignment",
        "households_bankcard",
    )
    return GenerationResult(
        seed=seed,
        households_requested=households,
        households=totals["households"],
        persons=totals["persons"],
        deciles=totals["households"],
        cards=totals["cards"],
        households_skipped=totals["skipped"],
        chunks=len(counts),
        elapsed_seconds=time.monotonic() - started,
    )
