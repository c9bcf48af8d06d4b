"""Import of the welfare registry's household file (CSV, one row per person).

Rows are validated in Python (identifiers, Jalali dates, reference data, one head per
household, consistent household fields) in a thread of their own, checked against the database
in chunks (a person already in another household, a household that would lose or lack its
head), and the good rows are applied set-based: COPY into a staging table, then one
``INSERT … SELECT … ON CONFLICT`` per table. The registry as read for the checks also says
which rows it already holds as they are: those are not staged, so re-running the same file
writes nothing. On PostgreSQL two chunks are written at once, each on its own connection. A
chunk the database still refuses is re-applied one household at a time, so one bad household
never blocks the rest and no row is ever half-applied.

One module on purpose (over 500 lines): it is one pipeline — read, validate, check,
stage, apply — whose steps share the row types and the staging table, and a reader follows a
row through it from top to bottom.
"""

import csv
import datetime as dt
import io
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TextIO

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from households.models import City, Province, Relation
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


class ParsedRow(NamedTuple):
    """A validated row; its fields are the staging table's columns, in order (``STAGE_COLUMNS``),
    so the row itself is what COPY writes (a tuple: no object per field, no getattr per value)."""

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
        return self


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


class _Normalized(dict[str, str]):
    """``normalize_text`` of each distinct text once: a registry file repeats the same names,
    provinces and cities hundreds of thousands of times. Bounded: cleared when it grows large."""

    def __missing__(self, text: str) -> str:
        if len(self) >= 200_000:
            self.clear()
        value = self[text] = normalize_text(text)
        return value


class _ReferenceData:
    """Provinces and cities by normalised Persian name; an unknown name is an error, never a new row."""

    def __init__(self) -> None:
        self.normalized = _Normalized()
        self.provinces = {normalize_text(p.name): p.pk for p in Province.objects.all()}
        self.cities = {(c.province_id, normalize_text(c.name)): c.pk for c in City.objects.all()}

    def province_id(self, name: str) -> int:
        try:
            return self.provinces[self.normalized[name]]
        except KeyError:
            raise _RowInvalid(
                "province", "province_unknown", f"استان «{name}» شناخته نیست"
            ) from None

    def city_id(self, province_id: int, name: str) -> int:
        try:
            return self.cities[(province_id, self.normalized[name])]
        except KeyError:
            raise _RowInvalid(
                "city", "city_unknown", f"شهر «{name}» در این استان شناخته نیست"
            ) from None


_HEAD = Relation.HEAD.value


def _parse_row(line: int, values: Sequence[str], ref: _ReferenceData) -> ParsedRow:
    """One row's cells (stripped, in ``COLUMNS`` order) validated into a ``ParsedRow``; raises
    ``_RowInvalid`` naming the first field that is wrong."""
    (
        raw_household,
        raw_national_code,
        raw_first_name,
        raw_last_name,
        raw_birth_date,
        raw_relation,
        raw_is_head,
        raw_mobile,
        raw_province,
        raw_city,
        raw_decile,
        raw_decile_from,
    ) = values
    household_code = to_latin_digits(raw_household)
    if not household_code:
        raise _RowInvalid("household_id", "household_id_required", "شناسه خانوار خالی است")
    if len(household_code) > 32:
        raise _RowInvalid(
            "household_id", "household_id_too_long", "شناسه خانوار بیش از ۳۲ نویسه است"
        )
    try:
        national_code = normalize_national_code(raw_national_code)
    except IdentifierError as exc:
        raise _RowInvalid("national_code", exc.code, exc.message) from exc
    first_name, last_name = ref.normalized[raw_first_name], ref.normalized[raw_last_name]
    if not first_name:
        raise _RowInvalid("first_name", "first_name_required", "نام خالی است")
    if not last_name:
        raise _RowInvalid("last_name", "last_name_required", "نام خانوادگی خالی است")
    if len(first_name) > 64 or len(last_name) > 64:
        raise _RowInvalid("first_name", "name_too_long", "نام یا نام خانوادگی بیش از ۶۴ نویسه است")
    birth_date = None
    if raw_birth_date:
        try:
            birth_date = parse_jalali_date(raw_birth_date)
        except JalaliDateError as exc:
            raise _RowInvalid("birth_date", "birth_date_invalid", f"تاریخ تولد: {exc}") from exc
    relation = raw_relation.lower()
    if relation not in RELATIONS:
        raise _RowInvalid(
            "relation",
            "relation_invalid",
            "نسبت باید یکی از head, spouse, child, parent, other باشد",
        )
    is_head_raw = to_latin_digits(raw_is_head)
    if is_head_raw not in {"0", "1"}:
        raise _RowInvalid("is_head", "is_head_invalid", "ستون is_head باید ۰ یا ۱ باشد")
    is_head = is_head_raw == "1"
    if is_head != (relation == _HEAD):
        raise _RowInvalid(
            "is_head", "head_relation_mismatch", "is_head=1 فقط برای نسبت head درست است"
        )
    mobile = ""
    if raw_mobile:
        try:
            mobile = normalize_mobile(raw_mobile)
        except IdentifierError as exc:
            raise _RowInvalid("mobile", exc.code, exc.message) from exc
    elif is_head:
        raise _RowInvalid("mobile", "head_mobile_required", "شماره همراه سرپرست خانوار لازم است")
    province_id = ref.province_id(raw_province)
    city_id = ref.city_id(province_id, raw_city)
    decile = latin_number(raw_decile, max_digits=2)
    if decile is None or not 1 <= decile <= 10:
        raise _RowInvalid("decile", "decile_out_of_range", "دهک باید عددی از ۱ تا ۱۰ باشد")
    try:
        decile_from = parse_jalali_date(raw_decile_from)
    except JalaliDateError as exc:
        raise _RowInvalid(
            "decile_effective_from", "decile_date_invalid", f"تاریخ دهک: {exc}"
        ) from exc
    return ParsedRow(
        line,
        household_code,
        national_code,
        first_name,
        last_name,
        birth_date,
        relation,
        is_head,
        mobile,
        province_id,
        city_id,
        decile,
        decile_from,
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


def _read_rows(stream: TextIO) -> Iterator[tuple[int, list[str]]]:
    """(line number, the row's cells stripped and in ``COLUMNS`` order) for each non-blank row.

    As ``csv.DictReader`` read them: blank rows skipped, a short row's missing cells empty, a
    repeated column's last cell taken, extra cells ignored."""
    reader = csv.reader(stream)
    try:
        header = _checked_header(next(reader, None))
        width = len(header)
        positions = [width - 1 - header[::-1].index(name) for name in COLUMNS]
        padding = [""] * width
        for cells in reader:
            if not cells:
                continue
            if len(cells) < width:
                cells = cells + padding[len(cells) :]
            yield reader.line_num, [cells[position].strip() for position in positions]
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
    writers: int | None = None,
) -> ImportResult:
    """Validate and apply a registry CSV. Returns counts and the rejected rows with reasons.

    The file is read and its rows validated in a thread of their own, at most two chunks ahead.
    Each chunk is checked against the database and applied in one transaction; with ``writers``
    > 1 (the default on PostgreSQL outside a caller's transaction: 2) that many chunks are
    written at once, each by a thread with its own connection, since one PostgreSQL backend
    uses one core. A chunk that shares a household with a chunk still being written waits for
    it, so each chunk is checked against the registry as the chunks before it left it. Counts,
    errors, progress and the point where a broken file stops the import are those of applying
    the chunks one after the other."""
    if writers is None:
        writers = _default_writers()
    if writers < 1:
        raise ValueError("writers must be at least 1")
    if writers > 1 and connection.in_atomic_block:
        raise ValueError("parallel writers cannot run inside a transaction")
    result = ImportResult()
    ref = _ReferenceData()
    households_seen: set[str] = set()

    def finish(validated: _Validated, outcome: ImportResult) -> None:
        result.rows_read += validated.rows_read
        result.errors.extend(validated.errors)
        if not validated.households:
            return  # the rows after the last household's: counted, nothing to apply
        households_seen.update(validated.households)
        result.rows_applied += outcome.rows_applied
        result.errors.extend(outcome.errors)
        if progress:
            progress(result)

    with closing(_read_ahead(_validated_chunks(stream, ref, chunk_rows), depth=2)) as chunks:
        if writers == 1:
            with _stage_table():
                for validated in chunks:
                    finish(validated, _import_chunk(validated.households))
        else:
            _import_in_parallel(chunks, writers, finish)
    result.households_in_file = len(households_seen)
    result.errors.sort(key=lambda error: error.line)
    if result.rows_read:
        analyze(*REGISTRY_TABLES)
    return result


def _default_writers() -> int:
    # Parallel writers need connections and commits of their own: only on PostgreSQL, and never
    # inside a caller's transaction (an approval's, a test's), whose rows they could not see.
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return 2


def _import_chunk(households: dict[str, list[ParsedRow]]) -> ImportResult:
    """Check and apply one chunk on this thread's connection; its rows applied and rejected."""
    outcome = ImportResult()
    if households:
        registered = _Registered.read(households)
        good = _check_chunk(households, outcome, registered)
        _apply_chunk(good, outcome, registered)
    return outcome


def _import_chunk_in_own_connection(households: dict[str, list[ParsedRow]]) -> ImportResult:
    """A writer thread's unit of work: its own connection and staging table, then closed."""
    try:
        with _stage_table():
            return _import_chunk(households)
    finally:
        connection.close()


def _import_in_parallel(
    chunks: Iterator["_Validated"],
    writers: int,
    finish: Callable[["_Validated", ImportResult], None],
) -> None:
    """Write ``chunks`` with ``writers`` threads; ``finish`` each in the file's order."""
    with ThreadPoolExecutor(max_workers=writers, thread_name_prefix="import-write") as pool:
        in_flight: deque[tuple[_Validated, Future[ImportResult]]] = deque()
        try:
            for validated in _until_failure(chunks, in_flight):
                while in_flight and (
                    len(in_flight) >= writers
                    or any(
                        not validated.households.keys().isdisjoint(earlier.households)
                        for earlier, _ in in_flight
                    )
                ):
                    earlier, future = in_flight.popleft()
                    finish(earlier, future.result())
                in_flight.append(
                    (validated, pool.submit(_import_chunk_in_own_connection, validated.households))
                )
            while in_flight:
                earlier, future = in_flight.popleft()
                finish(earlier, future.result())
        finally:
            for _, future in in_flight:
                future.cancel()  # what has not started yet; what has, finishes (its own commit)


def _until_failure(
    chunks: Iterator["_Validated"], in_flight: deque[tuple["_Validated", Future[ImportResult]]]
) -> Iterator["_Validated"]:
    """``chunks``; if reading the file fails, the chunks read before it are written first (as
    one writer would have), then the error is raised."""
    try:
        yield from chunks
    except BaseException:
        for _, future in in_flight:
            future.result()
        raise


@dataclass
class _Validated:
    """A chunk of whole households of valid rows, with the rows read and rejected since the
    chunk before (a rejected row's error belongs to the chunk during whose reading it was read)."""

    households: dict[str, list[ParsedRow]]
    rows_read: int
    errors: list[RowError]


def _validated_chunks(stream: TextIO, ref: _ReferenceData, chunk_rows: int) -> Iterator[_Validated]:
    """The file's valid rows in chunks of whole households; the last item holds no households,
    only what was read after the last chunk."""
    seen_codes: dict[str, int] = {}
    pending = _Validated({}, 0, [])

    def parsed_rows() -> Iterator[ParsedRow]:
        for line, values in _read_rows(stream):
            pending.rows_read += 1
            try:
                row = _parse_row(line, values, ref)
            except _RowInvalid as exc:
                code = to_latin_digits(values[1])
                pending.errors.append(RowError(line, code, exc.field, exc.code, exc.message))
                continue
            if row.national_code in seen_codes:
                pending.errors.append(
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

    for households in _households_in_chunks(parsed_rows(), chunk_rows):
        yield _Validated(households, pending.rows_read, pending.errors)
        pending.rows_read, pending.errors = 0, []
    yield pending


_DONE = object()


def _read_ahead(items: Iterator[Any], *, depth: int) -> Generator[Any, None, None]:
    """``items`` as they are, produced by a thread of their own up to ``depth`` items ahead.

    An exception of the producer is raised here, in its place in the sequence. When the consumer
    stops early (it raised, or closed this generator), the producer stops too and is joined, so
    nothing reads the stream after this generator has finished."""
    handoff: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any, error: BaseException | None = None) -> bool:
        while not stop.is_set():
            try:
                handoff.put((item, error), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            offer(_DONE, exc)
            return
        offer(_DONE)

    producer = threading.Thread(target=produce, name="import-validate", daemon=True)
    producer.start()
    try:
        while True:
            item, error = handoff.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        producer.join()


def _lookup(cursor: Any, select: str, key: str, values: Sequence[Any], cast: str) -> list[Any]:
    """The rows of ``select`` (an SQL query whose ``WHERE`` holds ``{match}``) for the rows whose
    ``key`` is among ``values``: one index probe per value.

    On PostgreSQL the values are one array parameter and the query runs once per value (a
    ``LATERAL`` subquery, fenced by ``OFFSET 0`` so that the planner does not turn it into a
    join): with the same values as an ``IN`` list or ``= ANY``, it expects thousands of rows and
    reads the whole table instead, a scan that grows with the registry. On SQLite, an ``IN``
    list."""
    if connection.vendor == "postgresql":
        one = select.format(match=f"{key} = wanted.value")
        cursor.execute(
            f"SELECT found.* FROM unnest(%s::{cast}[]) AS wanted(value)"  # noqa: S608
            f" CROSS JOIN LATERAL ({one} OFFSET 0) AS found",
            [list(values)],
        )
    else:
        cursor.execute(
            select.format(match=f"{key} IN ({', '.join(['%s'] * len(values))})"), list(values)
        )
    return list(cursor.fetchall())


class _Person(NamedTuple):
    household_code: str
    id: int
    first_name: str
    last_name: str
    birth_date: dt.date | None
    relation: str
    is_head: bool
    mobile: str


@dataclass
class _Registered:
    """What the registry holds for a chunk's people and households, read before it is applied:
    for the checks, and so that rows the registry already holds as they are are not written again."""

    people: dict[str, _Person]  # by national code
    households: dict[str, tuple[int, int, int]]  # by registry code: id, province, city
    heads: dict[str, str]  # registry code -> the head's national code
    deciles: set[tuple[int, dt.date, int]]  # household id, effective from, decile

    @classmethod
    def read(cls, chunk: dict[str, list[ParsedRow]]) -> "_Registered":
        codes = [row.national_code for rows in chunk.values() for row in rows]
        people: dict[str, _Person] = {}
        households: dict[str, tuple[int, int, int]] = {}
        heads: dict[str, str] = {}
        deciles: set[tuple[int, dt.date, int]] = set()
        with connection.cursor() as cursor:
            found = _lookup(
                cursor,
                "SELECT p.national_code, h.registry_code, p.id, p.first_name, p.last_name,"
                " p.birth_date, p.relation, p.is_head, p.mobile FROM households_person p"
                " JOIN households_household h ON h.id = p.household_id WHERE {match}",
                "p.national_code",
                codes,
                "text",
            )
            for national_code, *person in found:
                people[national_code] = _Person(*person)
            found = _lookup(
                cursor,
                "SELECT h.registry_code, h.id, h.province_id, h.city_id, p.national_code"
                " FROM households_household h"
                " LEFT JOIN households_person p ON p.household_id = h.id AND p.is_head"
                " WHERE {match}",
                "h.registry_code",
                list(chunk),
                "text",
            )
            for registry_code, household_id, province_id, city_id, head in found:
                households[registry_code] = (household_id, province_id, city_id)
                if head is not None:
                    heads[registry_code] = head
            if households:
                found = _lookup(
                    cursor,
                    "SELECT household_id, effective_from, decile"
                    " FROM households_decileassignment WHERE {match}",
                    "household_id",
                    [h[0] for h in households.values()],
                    "bigint",
                )
                deciles = {(household, since, decile) for household, since, decile in found}
        return cls(people, households, heads, deciles)


def _reject(result: ImportResult, row: ParsedRow, exc: _RowInvalid) -> None:
    result.errors.append(RowError(row.line, row.national_code, exc.field, exc.code, exc.message))


def _check_chunk(
    chunk: dict[str, list[ParsedRow]], result: ImportResult, registered: "_Registered"
) -> list[ParsedRow]:
    """Household consistency and database checks for a chunk; returns the rows that may be applied."""
    existing_people = {code: person.household_code for code, person in registered.people.items()}
    existing_heads = registered.heads
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
# ("WHERE TRUE" lets SQLite parse INSERT … SELECT … ON CONFLICT.) A household's id is a
# scalar subquery, one probe of the registry-code index per staged row: as a join, the
# planner, which has no statistics for the staging table, hashes the whole households table
# for every chunk (the import then slows down as the registry grows).
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
SELECT (SELECT h.id FROM households_household h WHERE h.registry_code = s.household_code),
    s.national_code, s.first_name, s.last_name, s.birth_date, '', s.relation, s.is_head, s.mobile, %s, %s
FROM {STAGE_TABLE} s WHERE TRUE
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

_INSERT_DECILES = f"""
INSERT INTO households_decileassignment (household_id, decile, effective_from, source, reason, created_at)
SELECT (SELECT h.id FROM households_household h WHERE h.registry_code = s.household_code),
    s.decile, s.decile_from, 'import', '', %s
FROM (SELECT DISTINCT household_code, decile, decile_from FROM {STAGE_TABLE}) s WHERE TRUE
ON CONFLICT (household_id, effective_from, decile) DO NOTHING
"""  # noqa: S608


def _apply_rows(
    rows: list[ParsedRow], *, signed_out: Sequence[int] = (), demote: bool = True
) -> None:
    """Stage ``rows`` and apply them in one transaction. ``signed_out``: the people whose mobile
    they change; ``demote``: whether a head among them steps down."""
    now = timezone.now()
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            # Demoting one head and promoting another are two statements: defer the
            # "exactly one head" check to the end of this block (a caller may have set it
            # immediate earlier in its transaction).
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(f"DELETE FROM {STAGE_TABLE}")  # noqa: S608
        copy_rows(table=STAGE_TABLE, columns=STAGE_COLUMNS, rows=rows)
        cursor.execute(_UPSERT_HOUSEHOLDS, [now, now])
        if demote:
            cursor.execute(_DEMOTE_HEADS, [now])
        # Before the upsert changes them: people whose mobile the registry changes are signed
        # out, as when an officer changes it (``services.end_sign_ins``; a chunk has few).
        end_sign_ins(person_ids=signed_out)
        cursor.execute(_UPSERT_PEOPLE, [now, now])
        cursor.execute(_INSERT_DECILES, [now])
        if postgres:
            # Check the deferred triggers inside this block, so a refusal rolls back this
            # block only (and can be isolated), not a caller's transaction; then restore.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


@dataclass
class _Changes:
    """What of a household's good rows the registry does not hold yet."""

    rows: list[ParsedRow]  # every good row of the household
    staged: list[ParsedRow]  # the rows to write: all, or only the people who changed
    signed_out: list[int]  # people whose registered mobile these rows change
    demote: bool  # a registered head who is no longer one


def _changes(household_code: str, rows: list[ParsedRow], registered: _Registered) -> _Changes:
    """A household's rows against what the registry holds. A new household, or one whose place
    or decile is new, is staged whole (its rows carry the household's columns); otherwise only
    the people who are new or changed are. What the statements below would leave as it is is
    not staged at all: re-importing an unchanged file writes nothing."""
    first = rows[0]
    known = registered.households.get(household_code)
    household_changed = (
        known is None
        or (known[1], known[2]) != (first.province_id, first.city_id)
        or (known[0], first.decile_from, first.decile) not in registered.deciles
    )
    changes = _Changes(rows, rows if household_changed else [], [], False)
    for row in rows:
        person = registered.people.get(row.national_code)
        if person is None:
            if not household_changed:
                changes.staged.append(row)
            continue
        if person.mobile != row.mobile and person.household_code == household_code:
            changes.signed_out.append(person.id)
        changes.demote = changes.demote or (person.is_head and not row.is_head)
        if not household_changed and (
            person.first_name,
            person.last_name,
            person.birth_date,
            person.relation,
            person.is_head,
            person.mobile,
        ) != (row.first_name, row.last_name, row.birth_date, row.relation, row.is_head, row.mobile):
            changes.staged.append(row)
    return changes


def _apply_chunk(rows: list[ParsedRow], result: ImportResult, registered: _Registered) -> None:
    """Apply a chunk's good rows (``registered``: the registry as ``_check_chunk`` read it)."""
    by_household: dict[str, list[ParsedRow]] = {}
    for row in rows:
        by_household.setdefault(row.household_code, []).append(row)
    households = [_changes(code, members, registered) for code, members in by_household.items()]
    staged = [row for changes in households for row in changes.staged]
    try:
        if staged:
            _apply_rows(
                staged,
                signed_out=[person for changes in households for person in changes.signed_out],
                demote=any(changes.demote for changes in households),
            )
        result.rows_applied += len(rows)
        return
    except DatabaseError as exc:
        # Not the exception's text: PostgreSQL's DETAIL quotes the row (a national code, a
        # mobile); the row-by-row retry below reports each row's error to the officers.
        logger.warning(
            "import chunk refused by the database (%s); retrying household by household",
            type(exc).__name__,
        )
    for changes in households:
        try:
            if changes.staged:
                _apply_rows(changes.staged, signed_out=changes.signed_out, demote=changes.demote)
            result.rows_applied += len(changes.rows)
        except DatabaseError as exc:
            for row in changes.rows:
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
