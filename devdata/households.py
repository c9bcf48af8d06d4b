"""Load the synthetic population (:mod:`devdata.population`) into the registry tables.

Rows come from :class:`~devdata.population.PopulationSynthesizer` as plain tuples per chunk and
are loaded with COPY on PostgreSQL (``executemany`` on SQLite); after the households of a chunk
are in, one range query maps their registry codes to ids, and after the people, one scan of the
partial "one head" index gives the heads' ids for their cards. Each chunk is one transaction,
which PostgreSQL's deferred "exactly one head" trigger checks at commit. On PostgreSQL two
writer threads, each with its own connection, load two chunks at once while the main thread
synthesizes the next: the load is CPU-bound in the server, and one backend can use only one core.

Re-running is safe: a chunk leaves out the households whose registry code already exists. A
national code or card that some *other* data already uses stops the run with
:class:`~devdata.population.GenerationConflict` (chunks committed before it stay).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from devdata.population import (
    DECILE_EFFECTIVE_FROM,
    SEED_SLOTS,
    ChunkRows,
    GenerationConflict,
    PopulationSynthesizer,
    load_places,
)
from kalabarg.lib.bulk import analyze, copy_rows


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


# --- Loading ----------------------------------------------------------------------------------
# PostgreSQL gets COPY text built here (one f-string per row is much cheaper than a per-value
# adapter); every value is a digit string, an ISO date or a name from devdata.population's
# lists, none of which holds a tab, newline or backslash, so nothing needs escaping. SQLite
# gets tuples. Both go through kalabarg.lib.bulk.copy_rows.

_HOUSEHOLD_COLUMNS = ("registry_code", "province_id", "city_id", "created_at", "updated_at")
_PERSON_COLUMNS = (
    "household_id", "national_code", "first_name", "last_name", "birth_date", "gender",
    "relation", "is_head", "mobile", "created_at", "updated_at",
)  # fmt: skip
_DECILE_COLUMNS = ("household_id", "decile", "effective_from", "source", "reason", "created_at")
_CARD_COLUMNS = ("person_id", "card_hash", "bin", "last4", "status", "registered_at")


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
            f"did not create (e.g. {min(taken)}); seeds equal modulo {SEED_SLOTS} share one "
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
        copy_rows(
            table="households_household",
            columns=_HOUSEHOLD_COLUMNS,
            lines=(f"{h[1]}\t{h[2]}\t{h[3]}\t{stamp}\t{stamp}\n" for h in households),
        )
    else:
        copy_rows(
            table="households_household",
            columns=_HOUSEHOLD_COLUMNS,
            rows=((h[1], h[2], h[3], stamp, stamp) for h in households),
        )
    # Ids come back by registry code (one index range scan) instead of one nextval per row.
    id_by_code = _pairs(
        "SELECT registry_code, id FROM households_household WHERE registry_code BETWEEN %s AND %s",
        [households[0][1], households[-1][1]],
    )
    hid = {h[0] - base: id_by_code[h[1]] for h in households}  # chunk position -> id

    if postgres:
        copy_rows(
            table="households_person",
            columns=_PERSON_COLUMNS,
            lines=(
                f"{hid[p[0]]}\t{p[1]}\t{p[2]}\t{p[3]}\t{p[4]}\t{p[5]}\t{p[6]}\t"
                f"{'t' if p[7] else 'f'}\t{p[8]}\t{stamp}\t{stamp}\n"
                for p in persons
            ),
        )
    else:
        copy_rows(
            table="households_person",
            columns=_PERSON_COLUMNS,
            rows=((hid[p[0]], *p[1:], stamp, stamp) for p in persons),
        )
    # The heads' ids, for their cards: one scan of the partial "one head" index.
    head_id = _pairs(
        "SELECT household_id, id FROM households_person"
        " WHERE is_head AND household_id BETWEEN %s AND %s",
        [min(hid.values()), max(hid.values())],
    )

    effective = DECILE_EFFECTIVE_FROM.isoformat()
    if postgres:
        copy_rows(
            table="households_decileassignment",
            columns=_DECILE_COLUMNS,
            lines=(
                f"{hid[h[0] - base]}\t{h[4]}\t{effective}\tgenerated\t\t{stamp}\n"
                for h in households
            ),
        )
        copy_rows(
            table="households_bankcard",
            columns=_CARD_COLUMNS,
            lines=(
                f"{head_id[hid[c[0]]]}\t{c[1]}\t{c[2]}\t{c[3]}\tactive\t{stamp}\n" for c in cards
            ),
        )
    else:
        copy_rows(
            table="households_decileassignment",
            columns=_DECILE_COLUMNS,
            rows=((hid[h[0] - base], h[4], effective, "generated", "", stamp) for h in households),
        )
        copy_rows(
            table="households_bankcard",
            columns=_CARD_COLUMNS,
            rows=((head_id[hid[c[0]]], c[1], c[2], c[3], "active", stamp) for c in cards),
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
