"""Import of the welfare registry's household file (CSV, one row per person).

Rows are validated in Python (identifiers, Jalali dates, reference data, one head per
household, consistent household fields), checked against the database in chunks (a person
already in another household, a household that would lose or lack its head), and the good rows
are applied set-based: COPY into a staging table, then one ``INSERT … SELECT … ON CONFLICT``
per table. Re-running the same file changes nothing. A chunk the database still refuses is
re-applied one household at a time, so one bad household never blocks the rest and no row is
ever half-applied.

One module on purpose (over 500 lines): it is one pipeline — read, validate, check,
stage, apply — whose steps share the row types and the staging table, and a reader follows a
row through it from top to bottom.
"""

import csv
import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from households.models import City, Person, Province, Relation
from households.services import end_sign_ins
from kalabarg.lib.bulk import analyze, copy_rows
from kalabarg.lib.identifiers import IdentifierError, normalize_mobile, normalize_national_code
from kalabarg.lib.persian import (
    JalaliDateError,
    latin_number,
    normalize_text,
    parse_jalali_date,
    to_latin_digits,
)
from kalabarg.lib.spreadsheet import write_rows

logger = logging.getLogger(__name__)

COLUMNS = (
    "household_id",
    "national_code",
    "first_name",
    "last_name",
    "birth_date",
    "relation",
    "is_head",
    "mobile",
    "province",
    "city",
    "decile",
    "decile_effective_from",
)

RELATIONS = frozenset(Relation.values)
STAGE_TABLE = "households_import_stage"
STAGE_COLUMNS = (
    "line",
    "household_code",
    "national_code",
    "first_name",
    "last_name",
    "birth_date",
    "relation",
    "is_head",
    "mobile",
    "province_id",
    "city_id",
    "decile",
    "decile_from",
)


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong header, not UTF-8): nothing was applied."""


@dataclass(frozen=True)
class RowError:
    line: int
    national_code: str
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class ParsedRow:
    line: int
    household_code: str
    national_code: str
    first_name: str
    last_name: str
    birth_date: dt.date | None
    relation: str
    is_head: bool
    mobile: str
    province_id: int
    city_id: int
    decile: int
    decile_from: dt.date

    def as_stage_tuple(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in STAGE_COLUMNS)


@dataclass
class ImportResult:
    rows_read: int = 0
    rows_applied: int = 0
    households_in_file: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len(self.errors)


class _RowInvalid(Exception):
    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.message = message


class _ReferenceData:
    """Provinces and cities by normalised Persian name; an unknown name is an error, never a new row."""

    def __init__(self) -> None:
        self.provinces = {normalize_text(p.name): p.pk for p in Province.objects.all()}
        self.cities = {(c.province_id, normalize_text(c.name)): c.pk for c in City.objects.all()}

    def province_id(self, name: str) -> int:
        try:
            return self.provinces[normalize_text(name)]
        except KeyError:
            raise _RowInvalid(
                "province", "province_unknown", f"استان «{name}» شناخته نیست"
            ) from None

    def city_id(self, province_id: int, name: str) -> int:
        try:
            return self.cities[(province_id, normalize_text(name))]
        except KeyError:
            raise _RowInvalid(
                "city", "city_unknown", f"شهر «{name}» در این استان شناخته نیست"
            ) from None


def _parse_row(line: int, raw: dict[str, str], ref: _ReferenceData) -> ParsedRow:
    def value(name: str) -> str:
        return (raw.get(name) or "").strip()

    household_code = to_latin_digits(value("household_id"))
    if not household_code:
        raise _RowInvalid("household_id", "household_id_required", "شناسه خانوار خالی است")
    if len(household_code) > 32:
        raise _RowInvalid(
            "household_id", "household_id_too_long", "شناسه خانوار بیش از ۳۲ نویسه است"
        )
    try:
        national_code = normalize_national_code(value("national_code"))
    except IdentifierError as exc:
        raise _RowInvalid("national_code", exc.code, exc.message) from exc
    first_name, last_name = normalize_text(value("first_name")), normalize_text(value("last_name"))
    if not first_name:
        raise _RowInvalid("first_name", "first_name_required", "نام خالی است")
    if not last_name:
        raise _RowInvalid("last_name", "last_name_required", "نام خانوادگی خالی است")
    if len(first_name) > 64 or len(last_name) > 64:
        raise _RowInvalid("first_name", "name_too_long", "نام یا نام خانوادگی بیش از ۶۴ نویسه است")
    birth_date = None
    if value("birth_date"):
        try:
            birth_date = parse_jalali_date(value("birth_date"))
        except JalaliDateError as exc:
            raise _RowInvalid("birth_date", "birth_date_invalid", f"تاریخ تولد: {exc}") from exc
    relation = value("relation").lower()
    if relation not in RELATIONS:
        raise _RowInvalid(
            "relation",
            "relation_invalid",
            "نسبت باید یکی از head, spouse, child, parent, other باشد",
        )
    is_head_raw = to_latin_digits(value("is_head"))
    if is_head_raw not in {"0", "1"}:
        raise _RowInvalid("is_head", "is_head_invalid", "ستون is_head باید ۰ یا ۱ باشد")
    is_head = is_head_raw == "1"
    if is_head != (relation == Relation.HEAD):
        raise _RowInvalid(
            "is_head", "head_relation_mismatch", "is_head=1 فقط برای نسبت head درست است"
        )
    mobile = ""
    if value("mobile"):
        try:
            mobile = normalize_mobile(value("mobile"))
        except IdentifierError as exc:
            raise _RowInvalid("mobile", exc.code, exc.message) from exc
    elif is_head:
        raise _RowInvalid("mobile", "head_mobile_required", "شماره همراه سرپرست خانوار لازم است")
    province_id = ref.province_id(value("province"))
    city_id = ref.city_id(province_id, value("city"))
    decile = latin_number(value("decile"), max_digits=2)
    if decile is None or not 1 <= decile <= 10:
        raise _RowInvalid("decile", "decile_out_of_range", "دهک باید عددی از ۱ تا ۱۰ باشد")
    try:
        decile_from = parse_jalali_date(value("decile_effective_from"))
    except JalaliDateError as exc:
        raise _RowInvalid(
            "decile_effective_from", "decile_date_invalid", f"تاریخ دهک: {exc}"
        ) from exc
    return ParsedRow(
        line=line,
        household_code=household_code,
        national_code=national_code,
        first_name=first_name,
        last_name=last_name,
        birth_date=birth_date,
        relation=relation,
        is_head=is_head,
        mobile=mobile,
        province_id=province_id,
        city_id=city_id,
        decile=decile,
        decile_from=decile_from,
    )


def _household_field_conflict(first: ParsedRow, row: ParsedRow) -> _RowInvalid | None:
    """Household-level columns are repeated on every row; they must agree."""
    if (row.province_id, row.city_id) != (first.province_id, first.city_id):
        return _RowInvalid(
            "province",
            "household_place_mismatch",
            "استان یا شهر با ردیف‌های دیگر همین خانوار یکی نیست",
        )
    if (row.decile, row.decile_from) != (first.decile, first.decile_from):
        return _RowInvalid(
            "decile",
            "household_decile_mismatch",
            "دهک یا تاریخ آن با ردیف‌های دیگر همین خانوار یکی نیست",
        )
    return None


def _checked_header(fieldnames: Sequence[str] | None) -> list[str]:
    header = [name.strip().lstrip("\ufeff") for name in fieldnames or []]
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        raise ImportFileError(f"ستون‌های لازم در سرسطر فایل نیست: {', '.join(missing)}")
    return header


def check_file(*, text: str) -> None:
    """Refuse (``ImportFileError``) a file whose header lacks a required column or whose CSV
    cannot be read to its end: what can be checked of an upload before a second officer approves
    it (the rows themselves are checked then, against the registry as it is)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        _checked_header(next(reader, []))
        for _values in reader:  # read to the end: a broken quote fails here, not on approval
            continue
    except csv.Error as exc:
        raise ImportFileError(f"فایل CSV خراب است (سطر {reader.line_num}): {exc}") from exc


def read_upload_text(*, stream: TextIO) -> str:
    """An uploaded file's whole text, to keep on a change request until it is approved; a file
    that is not UTF-8 text is refused (``ImportFileError``)."""
    try:
        text = stream.read()
    except UnicodeDecodeError as exc:
        raise ImportFileError("فایل باید با کدگذاری UTF-8 ذخیره شده باشد") from exc
    if "\x00" in text:
        raise ImportFileError("فایل متنی نیست؛ فایل CSV با کدگذاری UTF-8 بارگذاری کنید")
    return text


def _read_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(stream)
    reader.fieldnames = _checked_header(reader.fieldnames)
    try:
        for raw in reader:
            yield reader.line_num, raw
    except UnicodeDecodeError as exc:
        raise ImportFileError("فایل باید با کدگذاری UTF-8 ذخیره شده باشد") from exc
    except csv.Error as exc:
        raise ImportFileError(f"فایل CSV خراب است (سطر {reader.line_num}): {exc}") from exc


def _households_in_chunks(
    rows: Iterable[ParsedRow], chunk_rows: int
) -> Iterator[dict[str, list[ParsedRow]]]:
    """Group rows by household and yield chunks of whole households (files are grouped by household).

    A household whose rows are scattered through the file is still kept whole: rows of a
    household already yielded in an earlier chunk go into a later chunk as an update.
    """
    chunk: dict[str, list[ParsedRow]] = {}
    size = 0
    last_code = None
    for row in rows:
        if size >= chunk_rows and row.household_code != last_code:
            yield chunk
            chunk, size = {}, 0
        chunk.setdefault(row.household_code, []).append(row)
        size += 1
        last_code = row.household_code
    if chunk:
        yield chunk


# The tables an import (or the generator) fills; analysed after the load.
REGISTRY_TABLES = (
    "households_household",
    "households_person",
    "households_decileassignment",
    "households_bankcard",
)


def import_households(
    *,
    stream: TextIO,
    chunk_rows: int = 20_000,
    progress: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Validate and apply a registry CSV. Returns counts and the rejected rows with reasons."""
    result = ImportResult()
    ref = _ReferenceData()
    seen_codes: dict[str, int] = {}

    def parsed_rows() -> Iterator[ParsedRow]:
        for line, raw in _read_rows(stream):
            result.rows_read += 1
            try:
                row = _parse_row(line, raw, ref)
            except _RowInvalid as exc:
                code = to_latin_digits((raw.get("national_code") or "").strip())
                result.errors.append(RowError(line, code, exc.field, exc.code, exc.message))
                continue
            if row.national_code in seen_codes:
                result.errors.append(
                    RowError(
                        line,
                        row.national_code,
                        "national_code",
                        "national_code_duplicate_in_file",
                        f"این کد ملی در سطر {seen_codes[row.national_code]} هم آمده است",
                    )
                )
                continue
            seen_codes[row.national_code] = line
            yield row

    households_seen: set[str] = set()
    with _stage_table():
        for chunk in _households_in_chunks(parsed_rows(), chunk_rows):
            households_seen.update(chunk)
            good = _check_chunk(chunk, result)
            _apply_chunk(good, result)
            if progress:
                progress(result)
    result.households_in_file = len(households_seen)
    result.errors.sort(key=lambda error: error.line)
    if result.rows_read:
        analyze(*REGISTRY_TABLES)
    return result


def _reject(result: ImportResult, row: ParsedRow, exc: _RowInvalid) -> None:
    result.errors.append(RowError(row.line, row.national_code, exc.field, exc.code, exc.message))


def _check_chunk(chunk: dict[str, list[ParsedRow]], result: ImportResult) -> list[ParsedRow]:
    """Household consistency and database checks for a chunk; returns the rows that may be applied."""
    codes = [row.national_code for rows in chunk.values() for row in rows]
    existing_people = dict(
        Person.objects.filter(national_code__in=codes).values_list(
            "national_code", "household__registry_code"
        )
    )
    existing_heads = dict(
        Person.objects.filter(household__registry_code__in=list(chunk), is_head=True).values_list(
            "household__registry_code", "national_code"
        )
    )
    good: list[ParsedRow] = []
    for household_code, rows in chunk.items():
        kept: list[ParsedRow] = []
        for row in rows:
            conflict = _household_field_conflict(rows[0], row) if row is not rows[0] else None
            other = existing_people.get(row.national_code)
            if conflict:
                _reject(result, row, conflict)
            elif other is not None and other != household_code:
                _reject(
                    result,
                    row,
                    _RowInvalid(
                        "national_code",
                        "person_in_other_household",
                        f"این فرد عضو خانوار {other} است؛ جابه‌جایی میان خانوارها کار کارشناس است",
                    ),
                )
            else:
                kept.append(row)
        heads = [row for row in kept if row.is_head]
        for extra in heads[1:]:
            _reject(
                result,
                extra,
                _RowInvalid("is_head", "second_head", "این خانوار در همین فایل سرپرست دیگری دارد"),
            )
        kept = [row for row in kept if not row.is_head or row is heads[0]]
        current_head = existing_heads.get(household_code)
        new_head = heads[0] if heads else None
        if new_head and current_head and current_head != new_head.national_code:
            demoted = any(row.national_code == current_head and not row.is_head for row in kept)
            if not demoted:
                _reject(
                    result,
                    new_head,
                    _RowInvalid(
                        "is_head",
                        "second_head",
                        "این خانوار سرپرست دیگری دارد؛ نخست نقش او را در فایل تغییر دهید",
                    ),
                )
                kept.remove(new_head)
                new_head = None
        if current_head is None and new_head is None:
            for row in kept:
                _reject(
                    result,
                    row,
                    _RowInvalid(
                        "is_head",
                        "household_without_head",
                        "این خانوار سرپرست معتبری در فایل ندارد",
                    ),
                )
            continue
        if (
            current_head
            and new_head is None
            and any(r.national_code == current_head and not r.is_head for r in kept)
        ):
            for row in kept:
                _reject(
                    result,
                    row,
                    _RowInvalid(
                        "is_head", "household_without_head", "با این فایل خانوار بی‌سرپرست می‌شود"
                    ),
                )
            continue
        good.extend(kept)
    return good


class _stage_table:
    """A temporary staging table for the import's connection, dropped afterwards."""

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
            cursor.execute(
                f"""CREATE TEMPORARY TABLE {STAGE_TABLE} (
                    line integer NOT NULL, household_code varchar(32) NOT NULL,
                    national_code varchar(10) NOT NULL, first_name varchar(64) NOT NULL,
                    last_name varchar(64) NOT NULL, birth_date date NULL, relation varchar(8) NOT NULL,
                    is_head boolean NOT NULL, mobile varchar(11) NOT NULL, province_id bigint NOT NULL,
                    city_id bigint NOT NULL, decile smallint NOT NULL, decile_from date NOT NULL)"""
            )

    def __exit__(self, *exc_info: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")


# Set-based statements over the staging table; they run the same on PostgreSQL and SQLite.
# ("WHERE TRUE" lets SQLite parse INSERT … SELECT … ON CONFLICT.)
_UPSERT_HOUSEHOLDS = f"""
INSERT INTO households_household (registry_code, province_id, city_id, created_at, updated_at)
SELECT household_code, MIN(province_id), MIN(city_id), %s, %s FROM {STAGE_TABLE} WHERE TRUE GROUP BY household_code
ON CONFLICT (registry_code) DO UPDATE SET
    province_id = excluded.province_id, city_id = excluded.city_id, updated_at = excluded.updated_at
WHERE households_household.province_id <> excluded.province_id OR households_household.city_id <> excluded.city_id
"""  # noqa: S608

# A head stepping down goes first, so the "one head" index never sees two heads at once.
_DEMOTE_HEADS = f"""
UPDATE households_person SET is_head = FALSE, relation = s.relation, updated_at = %s
FROM {STAGE_TABLE} s
WHERE households_person.national_code = s.national_code AND households_person.is_head AND NOT s.is_head
"""  # noqa: S608

_UPSERT_PEOPLE = f"""
INSERT INTO households_person (household_id, national_code, first_name, last_name, birth_date, gender,
    relation, is_head, mobile, created_at, updated_at)
SELECT h.id, s.national_code, s.first_name, s.last_name, s.birth_date, '', s.relation, s.is_head, s.mobile, %s, %s
FROM {STAGE_TABLE} s JOIN households_household h ON h.registry_code = s.household_code WHERE TRUE
ON CONFLICT (national_code) DO UPDATE SET
    first_name = excluded.first_name, last_name = excluded.last_name, birth_date = excluded.birth_date,
    relation = excluded.relation, is_head = excluded.is_head, mobile = excluded.mobile,
    updated_at = excluded.updated_at
WHERE households_person.household_id = excluded.household_id AND (
    households_person.first_name <> excluded.first_name OR households_person.last_name <> excluded.last_name
    OR COALESCE(households_person.birth_date, '0001-01-01') <> COALESCE(excluded.birth_date, '0001-01-01')
    OR households_person.relation <> excluded.relation OR households_person.is_head <> excluded.is_head
    OR households_person.mobile <> excluded.mobile)
"""  # noqa: S608

# People of this chunk whose registered mobile the upsert below will change (same household,
# as the upsert's own condition).
_NEW_MOBILES = f"""
SELECT p.id FROM {STAGE_TABLE} s
JOIN households_person p ON p.national_code = s.national_code
JOIN households_household h ON h.registry_code = s.household_code AND h.id = p.household_id
WHERE p.mobile <> s.mobile
"""  # noqa: S608

_INSERT_DECILES = f"""
INSERT INTO households_decileassignment (household_id, decile, effective_from, source, reason, created_at)
SELECT DISTINCT h.id, s.decile, s.decile_from, 'import', '', %s
FROM {STAGE_TABLE} s JOIN households_household h ON h.registry_code = s.household_code WHERE TRUE
ON CONFLICT (household_id, effective_from, decile) DO NOTHING
"""  # noqa: S608


def _apply_rows(rows: list[ParsedRow]) -> None:
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Demoting one head and promoting another are two statements: defer the
            # "exactly one head" check to the end of this block (a caller may have set it
            # immediate earlier in its transaction).
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"DELETE FROM {STAGE_TABLE}")  # noqa: S608
        copy_rows(
            table=STAGE_TABLE,
            columns=STAGE_COLUMNS,
            rows=(row.as_stage_tuple() for row in rows),
        )
        cursor.execute(_UPSERT_HOUSEHOLDS, [now, now])
        cursor.execute(_DEMOTE_HEADS, [now])
        # Before the upsert changes them: people whose mobile the registry changes are signed
        # out, as when an officer changes it (``services.end_sign_ins``; a chunk has few).
        cursor.execute(_NEW_MOBILES)
        end_sign_ins(person_ids=[row[0] for row in cursor.fetchall()])
        cursor.execute(_UPSERT_PEOPLE, [now, now])
        cursor.execute(_INSERT_DECILES, [now])
        if postgres:
            # Check the deferred triggers inside this block, so a refusal rolls back this
            # block only (and can be isolated), not a caller's transaction; then restore.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def _apply_chunk(rows: list[ParsedRow], result: ImportResult) -> None:
    if not rows:
        return
    try:
        _apply_rows(rows)
        result.rows_applied += len(rows)
        return
    except DatabaseError as exc:
        # Not the exception's text: PostgreSQL's DETAIL quotes the row (a national code, a
        # mobile); the row-by-row retry below reports each row's error to the officers.
        logger.warning(
            "import chunk refused by the database (%s); retrying household by household",
            type(exc).__name__,
        )
    by_household: dict[str, list[ParsedRow]] = {}
    for row in rows:
        by_household.setdefault(row.household_code, []).append(row)
    for household_rows in by_household.values():
        try:
            _apply_rows(household_rows)
            result.rows_applied += len(household_rows)
        except DatabaseError as exc:
            for row in household_rows:
                result.errors.append(
                    RowError(
                        row.line,
                        row.national_code,
                        "household_id",
                        "database_refused",
                        f"پایگاه داده نپذیرفت: {exc}",
                    )
                )


def write_error_report(*, errors: Iterable[RowError], stream: TextIO) -> None:
    """The rejected rows as CSV for officers; cells copied from the file (a national code, a
    message quoting a value) are neutralised so a spreadsheet does not run them as formulas."""
    rows = ((e.line, e.national_code, e.field, e.code, e.message) for e in errors)
    write_rows(stream, [("line", "national_code", "field", "code", "message"), *rows])
