"""Import of the banks' card-owner feed (CSV ``card_number,national_code,status``).

Any card in a registered person's name is stored (keyed hash, BIN and last four only; the file is
never kept), so a head may pay with any of their cards. An officer's upload waits for a second
officer's approval in its *hashed form* (``hash_card_file``: each valid row's hash, BIN, last four,
national code and status, no card number), which ``import_hashed_cards`` applies on approval
through the same staging and upsert as the file itself. It works like the registry import
(``households.importer``): rows are validated in Python, then each chunk is applied set-based —
COPY into a staging table, checks as ``SELECT``s over it, one ``INSERT … SELECT … ON CONFLICT``.
Memory stays flat: a chunk at a time, and duplicates across the file are found in the staging
table, not in a Python set. Re-running the same file changes nothing.

A card the file gives to another national code than its current owner is moved to the new owner
(the bank's file is the truth about who holds a card) and the move is logged and reported.

One module, past the house's ~500 lines, because it is one pipeline: parsing, the hashed form an
officer's upload waits in (four-eyes), staging, the checks and the upsert share the staging
table's layout and the chunk loop; split, each piece would only be read with the others.

One module on purpose (over 500 lines), like ``households.importer``: one pipeline — read, check,
hash, stage, apply — with two entries (the file, its hashed form) that must never drift apart.
"""

import csv
import io
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TextIO

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from households.importer import ImportFileError, RowError
from households.models import CardStatus
from kalabarg.lib.bulk import analyze, copy_rows
from kalabarg.lib.identifiers import (
    IdentifierError,
    card_hash,
    mask_card,
    mask_national_code,
    normalize_card_number,
    normalize_national_code,
)
from kalabarg.lib.persian import to_latin_digits

logger = logging.getLogger(__name__)

COLUMNS = ("card_number", "national_code", "status")
STATUSES = frozenset(CardStatus.values)
STAGE_TABLE = "households_card_import_stage"
STAGE_COLUMNS = ("chunk", "line", "card_hash", "bin", "last4", "national_code", "status")
MOVED_CODE = "card_moved"


@dataclass(frozen=True)
class CardMove:
    """A card the file gives to another person than its current owner (applied, and reported)."""

    line: int
    masked: str
    from_national_code: str
    to_national_code: str

    def as_report_row(self) -> RowError:
        return RowError(
            self.line,
            self.to_national_code,
            "card_number",
            MOVED_CODE,
            f"کارت {self.masked} از کد ملی {self.from_national_code} به این کد ملی منتقل شد",
        )


@dataclass
class CardImportResult:
    rows_read: int = 0
    rows_applied: int = 0
    cards_changed: int = 0  # cards added, moved or whose status changed (0 on a re-run)
    errors: list[RowError] = field(default_factory=list)
    moved: list[CardMove] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return len(self.errors)

    def report_rows(self) -> list[RowError]:
        """Rejected rows and moved cards, by line: what the error report lists."""
        return sorted(
            [*self.errors, *(move.as_report_row() for move in self.moved)],
            key=lambda row: row.line,
        )


class _RowInvalid(Exception):
    def __init__(self, field_name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.code = code
        self.message = message


def _parse_row(values: list[str], key: str) -> tuple[str, str, str, str, str]:
    """(card hash, BIN, last four, national code, status) of a valid row, or ``_RowInvalid``."""
    number, national, status = (*values, "", "", "")[:3]
    try:
        card = normalize_card_number(number.strip())
    except IdentifierError as exc:
        raise _RowInvalid("card_number", exc.code, exc.message) from exc
    try:
        national_code = normalize_national_code(national.strip())
    except IdentifierError as exc:
        raise _RowInvalid("national_code", exc.code, exc.message) from exc
    status = status.strip().lower()
    if status not in STATUSES:
        raise _RowInvalid("status", "status_invalid", "وضعیت باید active یا closed باشد")
    return card_hash(card.number, key=key), card.bin, card.last4, national_code, status


def _read_rows(stream: TextIO) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(stream)
    try:
        header = [name.strip().lstrip("\ufeff") for name in next(reader, [])]
        if tuple(header) != COLUMNS:
            raise ImportFileError(f"سرسطر فایل باید دقیقاً این باشد: {','.join(COLUMNS)}")
        for values in reader:
            if values:
                yield reader.line_num, values
    except UnicodeDecodeError as exc:
        raise ImportFileError("فایل باید با کدگذاری UTF-8 ذخیره شده باشد") from exc
    except csv.Error as exc:
        raise ImportFileError(f"فایل CSV خراب است (سطر {reader.line_num}): {exc}") from exc


def _valid_rows(stream: TextIO, result: CardImportResult) -> Iterator[tuple[object, ...]]:
    """(line, card hash, BIN, last four, national code, status) of each valid row of the
    banks' file; bad rows go to ``result.errors``."""
    key = settings.CARD_HASH_KEY
    for line, values in _read_rows(stream):
        result.rows_read += 1
        try:
            parsed = _parse_row(values, key)
        except _RowInvalid as exc:
            code = to_latin_digits((values[1] if len(values) > 1 else "").strip())
            result.errors.append(RowError(line, code, exc.field, exc.code, exc.message))
            continue
        yield (line, *parsed)


def _chunks(
    rows: Iterable[tuple[object, ...]], chunk_rows: int
) -> Iterator[list[tuple[object, ...]]]:
    """Rows as staging tuples (chunk number first), ``chunk_rows`` at a time."""
    chunk: list[tuple[object, ...]] = []
    number = 0
    for row in rows:
        chunk.append((number, *row))
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk, number = [], number + 1
    if chunk:
        yield chunk


def import_bank_cards(
    *,
    stream: TextIO,
    chunk_rows: int = 50_000,
    progress: Callable[[CardImportResult], None] | None = None,
    overlap: bool | None = None,
) -> CardImportResult:
    """Validate and apply a card-owner CSV. Returns counts, moved cards and rejected rows.

    With ``overlap`` (the default on PostgreSQL outside a caller's transaction) the database
    work runs on a thread of its own, with its own connection, while this thread reads and
    checks the next chunk (reading, checking and hashing cost about what the database work
    does). At most two chunks are in memory at once either way."""
    result = CardImportResult()
    return _import(
        _valid_rows(stream, result),
        result,
        chunk_rows=chunk_rows,
        progress=progress,
        overlap=overlap,
    )


def _import(
    rows: Iterable[tuple[object, ...]],
    result: CardImportResult,
    *,
    chunk_rows: int,
    progress: Callable[[CardImportResult], None] | None,
    overlap: bool | None,
) -> CardImportResult:
    """Stage and apply valid rows (line, hash, BIN, last four, national code, status), a chunk
    at a time: the one path of the banks' file and of its hashed form."""
    if overlap is None:
        overlap = connection.vendor == "postgresql" and not connection.in_atomic_block
    if overlap and connection.in_atomic_block:
        raise ValueError("overlap cannot run inside a transaction")
    with _Applier(overlap=overlap, result=result) as applier:
        for chunk in _chunks(rows, chunk_rows):
            applier.submit(chunk)
            if progress:
                progress(result)
    result.errors.sort(key=lambda error: error.line)
    if result.cards_changed:
        analyze("households_bankcard")
    return result


# --- The hashed form: what is kept of a file awaiting a second officer's approval ---------------

HASHED_COLUMNS = ("line", "card_hash", "bin", "last4", "national_code", "status")
_HASHED_ROW = re.compile(r"[0-9]{1,9},[0-9a-f]{64},[0-9]{6},[0-9]{4},[0-9]{10},[a-z]{1,6}")


@dataclass(frozen=True)
class HashedCardFile:
    """The banks' file with every card number replaced by what may be kept of it (keyed hash,
    BIN, last four): ``text`` is a CSV of ``HASHED_COLUMNS``, one valid row a line; the rows that
    could not be read are in ``errors`` (reported to the officer who uploads the file)."""

    text: str
    rows_read: int
    rows_kept: int
    errors: list[RowError]


def hash_card_file(*, stream: TextIO) -> HashedCardFile:
    """Read and check the banks' file as the import does, keeping no card number: the form in
    which the upload waits for approval (``import_hashed_cards`` applies it). A file the import
    would refuse whole is refused (``ImportFileError``)."""
    result = CardImportResult()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HASHED_COLUMNS)
    kept = 0
    for row in _valid_rows(stream, result):
        writer.writerow(row)
        kept += 1
    errors = sorted(result.errors, key=lambda error: error.line)
    return HashedCardFile(
        text=out.getvalue(), rows_read=result.rows_read, rows_kept=kept, errors=errors
    )


def _hashed_rows(text: str, result: CardImportResult) -> Iterator[tuple[object, ...]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    if tuple(next(reader, [])) != HASHED_COLUMNS:
        raise ImportFileError("این متن شکل درهم‌شده فایل کارت‌ها نیست")
    for values in reader:
        if not values:
            continue
        result.rows_read += 1
        # Its own earlier output, but checked: its values go into COPY lines unescaped.
        if not _HASHED_ROW.fullmatch(",".join(values)) or values[5] not in STATUSES:
            result.errors.append(
                RowError(
                    reader.line_num,
                    "",
                    "card_number",
                    "hashed_row_invalid",
                    "این سطر در شکل درهم‌شده فایل معتبر نیست",
                )
            )
            continue
        line, digest, bin_, last4, national_code, status = values
        yield int(line), digest, bin_, last4, national_code, status


def import_hashed_cards(
    *,
    text: str,
    chunk_rows: int = 50_000,
    progress: Callable[[CardImportResult], None] | None = None,
    overlap: bool | None = None,
) -> CardImportResult:
    """Apply a file in its hashed form (``hash_card_file``) exactly as ``import_bank_cards``
    applies the file itself: same staging, duplicates, owners, moves and report, by the file's
    own line numbers. ``rows_read`` counts the rows of the hashed form (the valid ones)."""
    result = CardImportResult()
    return _import(
        _hashed_rows(text, result),
        result,
        chunk_rows=chunk_rows,
        progress=progress,
        overlap=overlap,
    )


@dataclass
class _ChunkOutcome:
    applied: int = 0
    changed: int = 0
    errors: list[RowError] = field(default_factory=list)
    moves: list[CardMove] = field(default_factory=list)


class _Applier:
    """Applies chunks in order, here or on one worker thread (its own connection and stage)."""

    def __init__(self, *, overlap: bool, result: CardImportResult) -> None:
        self.result = result
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="cards") if overlap else None
        )
        self.pending: Future[_ChunkOutcome] | None = None

    def _run(self, work: Callable[[], _ChunkOutcome]) -> None:
        self._wait()
        if self.pool is None:
            self._merge(work())
        else:
            self.pending = self.pool.submit(work)

    def _wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self._merge(pending.result())

    def _merge(self, outcome: _ChunkOutcome) -> None:
        self.result.rows_applied += outcome.applied
        self.result.cards_changed += outcome.changed
        self.result.errors.extend(outcome.errors)
        self.result.moved.extend(outcome.moves)

    def submit(self, rows: list[tuple[object, ...]]) -> None:
        number = int(str(rows[0][0]))  # the chunk number every staging tuple starts with
        self._run(lambda: _apply_chunk(number, rows))

    def __enter__(self) -> "_Applier":
        own_connection = self.pool is not None
        self._run(lambda: _create_stage(own_connection=own_connection))
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self._wait()
        finally:
            if self.pool is None:
                _drop_stage()
            else:
                self.pool.submit(_drop_stage_and_close).result()
                self.pool.shutdown()


def _create_stage(*, own_connection: bool) -> _ChunkOutcome:
    """The staging table for the whole file (chunks append; earlier chunks find duplicates),
    indexed by card (duplicates) and by chunk (each chunk's statements read only its rows)."""
    with connection.cursor() as cursor:
        if own_connection and connection.vendor == "postgresql":
            # A file's staging table outgrows the default 8 MB of temporary buffers many times
            # over; on the import's own new connection (before any temporary table, as
            # PostgreSQL requires) give it room, or every probe of its index reads the OS cache.
            cursor.execute("SET temp_buffers = '256MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        cursor.execute(
            f"""CREATE TEMPORARY TABLE {STAGE_TABLE} (
                chunk integer NOT NULL, line integer NOT NULL, card_hash varchar(64) NOT NULL,
                bin varchar(6) NOT NULL, last4 varchar(4) NOT NULL,
                national_code varchar(10) NOT NULL, status varchar(6) NOT NULL)"""
        )
        cursor.execute(f"CREATE INDEX {STAGE_TABLE}_hash ON {STAGE_TABLE} (card_hash, line)")
        cursor.execute(f"CREATE INDEX {STAGE_TABLE}_chunk ON {STAGE_TABLE} (chunk)")
    return _ChunkOutcome()


def _drop_stage() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")


def _drop_stage_and_close() -> None:
    try:
        _drop_stage()
    finally:
        connection.close()  # the worker thread's own connection


# Set-based statements over one chunk of the staging table ("WHERE TRUE" lets SQLite parse
# INSERT … SELECT … ON CONFLICT). SQLite (the embedded default) runs the look-ups and the upsert
# as two statements; PostgreSQL as one (``_RESOLVE_AND_UPSERT``).
_DUPLICATES = f"""
SELECT s.line, s.national_code, MIN(d.line) FROM {STAGE_TABLE} s
JOIN {STAGE_TABLE} d ON d.card_hash = s.card_hash AND d.line < s.line
WHERE s.chunk = %s GROUP BY s.line, s.national_code
"""  # noqa: S608

# One pass finds both the rows whose national code nobody has (no new owner) and the cards the
# file gives to someone other than their current owner (moved, reported).
_UNKNOWN_AND_MOVED = f"""
SELECT s.line, s.national_code, n.id, s.bin, s.last4, o.national_code FROM {STAGE_TABLE} s
LEFT JOIN households_person n ON n.national_code = s.national_code
LEFT JOIN households_bankcard c ON c.card_hash = s.card_hash
LEFT JOIN households_person o ON o.id = c.person_id
WHERE s.chunk = %s AND (n.id IS NULL OR c.person_id <> n.id)
"""  # noqa: S608

_UPSERT_CARDS = f"""
INSERT INTO households_bankcard (person_id, card_hash, bin, last4, status, registered_at)
SELECT p.id, s.card_hash, s.bin, s.last4, s.status, %s
FROM {STAGE_TABLE} s JOIN households_person p ON p.national_code = s.national_code
WHERE s.chunk = %s AND NOT EXISTS (
    SELECT 1 FROM households_bankcard u
    WHERE u.card_hash = s.card_hash AND u.person_id = p.id AND u.status = s.status)
ON CONFLICT (card_hash) DO UPDATE SET person_id = excluded.person_id, status = excluded.status
WHERE households_bankcard.person_id <> excluded.person_id
    OR households_bankcard.status <> excluded.status
"""  # noqa: S608


# PostgreSQL: the owner look-ups and the upsert in one statement, so each row's person and card
# are probed once. ``r`` is read before the upsert writes (one snapshot for the whole statement):
# its problem rows (no such person, or a card moved) come back, after one row with the count of
# cards written (``line`` NULL). Unchanged rows are not upserted at all (a re-run writes nothing).
_RESOLVE_AND_UPSERT = f"""
WITH r AS MATERIALIZED (
  SELECT s.line, s.national_code, s.card_hash, s.bin, s.last4, s.status,
    n.id AS new_owner, c.person_id AS old_owner, c.status AS old_status
  FROM {STAGE_TABLE} s
  LEFT JOIN households_person n ON n.national_code = s.national_code
  LEFT JOIN households_bankcard c ON c.card_hash = s.card_hash
  WHERE s.chunk = %s
), written AS (
  INSERT INTO households_bankcard (person_id, card_hash, bin, last4, status, registered_at)
  SELECT r.new_owner, r.card_hash, r.bin, r.last4, r.status, %s FROM r
  WHERE r.new_owner IS NOT NULL
    AND (r.old_owner IS NULL OR r.old_owner <> r.new_owner OR r.old_status <> r.status)
  ON CONFLICT (card_hash) DO UPDATE SET person_id = excluded.person_id, status = excluded.status
  WHERE households_bankcard.person_id <> excluded.person_id
    OR households_bankcard.status <> excluded.status
  RETURNING 1
)
SELECT NULL, NULL, NULL, NULL, NULL, NULL, (SELECT count(*) FROM written)
UNION ALL
SELECT r.line, r.national_code, r.new_owner, r.bin, r.last4,
  (SELECT o.national_code FROM households_person o WHERE o.id = r.old_owner), NULL
FROM r WHERE r.new_owner IS NULL OR r.old_owner <> r.new_owner
"""  # noqa: S608


def _resolve_and_upsert(cursor: Any, number: int) -> tuple[list[tuple[Any, ...]], int]:
    """(rows with no such person or a moved card: line, national code, new owner id, BIN, last
    four, old owner's national code), and how many cards were written."""
    if connection.vendor == "postgresql":
        cursor.execute(_RESOLVE_AND_UPSERT, [number, timezone.now()])
        rows = cursor.fetchall()
        written = next(int(row[6]) for row in rows if row[0] is None)
        return [row[:6] for row in rows if row[0] is not None], written
    cursor.execute(_UNKNOWN_AND_MOVED, [number])
    problems = cursor.fetchall()
    cursor.execute(_UPSERT_CARDS, [timezone.now(), number])
    return problems, max(cursor.rowcount, 0)


def _stage_lines(rows: list[tuple[object, ...]]) -> Iterator[str]:
    # Every value is digits, hex or a fixed status word: no tab, newline or backslash to escape.
    for row in rows:
        yield "\t".join(map(str, row)) + "\n"


def _apply_chunk(number: int, rows: list[tuple[object, ...]]) -> _ChunkOutcome:
    outcome = _ChunkOutcome()
    postgres = connection.vendor == "postgresql"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if postgres:
                copy_rows(table=STAGE_TABLE, columns=STAGE_COLUMNS, lines=_stage_lines(rows))
            else:
                copy_rows(table=STAGE_TABLE, columns=STAGE_COLUMNS, rows=rows)
            cursor.execute(_DUPLICATES, [number])
            duplicates = cursor.fetchall()
            for line, national_code, first in duplicates:
                outcome.errors.append(
                    RowError(
                        line,
                        national_code,
                        "card_number",
                        "card_duplicate_in_file",
                        f"این کارت در سطر {first} هم آمده است",
                    )
                )
            if duplicates:
                # Only a card's first line counts; later lines never apply nor find duplicates.
                cursor.execute(
                    f"DELETE FROM {STAGE_TABLE} WHERE chunk = %s AND EXISTS ("  # noqa: S608
                    f" SELECT 1 FROM {STAGE_TABLE} d WHERE d.card_hash = {STAGE_TABLE}.card_hash"
                    f" AND d.line < {STAGE_TABLE}.line)",
                    [number],
                )
            problems, outcome.changed = _resolve_and_upsert(cursor, number)
            unknown = 0
            for line, national_code, new_owner, bin_, last4, old in problems:
                if new_owner is None:
                    unknown += 1
                    outcome.errors.append(
                        RowError(
                            line,
                            national_code,
                            "national_code",
                            "person_unknown",
                            "این کد ملی در سامانه کالابرگ ثبت نیست؛ نخست فایل خانوارها را بارگذاری کنید",
                        )
                    )
                else:
                    outcome.moves.append(CardMove(line, mask_card(bin_, last4), old, national_code))
    except DatabaseError as exc:
        # Not the exception's text: PostgreSQL's DETAIL quotes the row (a national code); each
        # row's error goes to the officers' report instead.
        logger.warning("card import chunk refused by the database: %s", type(exc).__name__)
        return _ChunkOutcome(
            errors=[
                RowError(
                    int(str(row[1])),
                    str(row[5]),
                    "card_number",
                    "database_refused",
                    f"پایگاه داده نپذیرفت: {exc}",
                )
                for row in rows
            ]
        )
    for move in outcome.moves:
        # Masked: logs leave the database's protection (shippers, tickets); the report has the rest.
        logger.warning(
            "card %s (line %s) moved from national code %s to %s",
            move.masked,
            move.line,
            mask_national_code(move.from_national_code),
            mask_national_code(move.to_national_code),
        )
    outcome.applied = len(rows) - len(duplicates) - unknown
    return outcome
