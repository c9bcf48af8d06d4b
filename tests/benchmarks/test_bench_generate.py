"""Benchmark: generate a synthetic population on PostgreSQL through the COPY path.

Not part of the default run. Figures are printed, never asserted::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kalabarg_bench \\
    TEST_DATABASE_NAME=test_kalabarg_bench \\
        uv run pytest tests/benchmarks/test_bench_generate.py -s -o addopts=""

``BENCH_HOUSEHOLDS`` (default 1,000,000), ``BENCH_CHUNK_SIZE`` (default 50,000) and
``BENCH_WRITERS`` (default: the generator's own choice) tune the run.
"""

import os
import resource
import sys
import time

import pytest
from django.db import connection

from devdata.households import ChunkProgress, generate_households


def _env_int(name: str, default: int | None) -> int | None:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "").strip()
    return int(raw) if raw else default


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes vs KiB


def _table_rows() -> dict[str, int]:
    tables = (
        "households_household",
        "households_person",
        "households_decileassignment",
        "households_bankcard",
    )
    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            counts[table] = cursor.fetchone()[0]
    return counts


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_generate_households():
    households = _env_int("BENCH_HOUSEHOLDS", 1_000_000) or 0
    chunk_size = _env_int("BENCH_CHUNK_SIZE", 50_000) or 50_000
    writers = _env_int("BENCH_WRITERS", None)

    def progress(step: ChunkProgress) -> None:
        print(
            f"  chunk {step.chunk}/{step.chunks}: {step.households_done:,} households,"
            f" {step.elapsed_seconds:.1f}s",
            flush=True,
        )

    cpu_before = time.process_time()
    result = generate_households(
        households=households,
        seed=20240320,
        chunk_size=chunk_size,
        writers=writers,
        progress=progress,
    )
    cpu_seconds = time.process_time() - cpu_before
    rows = _table_rows()

    elapsed = result.elapsed_seconds
    print(
        "\ngenerate_households benchmark (PostgreSQL, COPY)\n"
        f"  households      {result.households:>12,}  ({result.households / elapsed:,.0f}/s)\n"
        f"  persons         {result.persons:>12,}  ({result.persons / elapsed:,.0f}/s)\n"
        f"  deciles         {result.deciles:>12,}\n"
        f"  cards           {result.cards:>12,}\n"
        f"  chunks          {result.chunks:>12,}  (chunk size {chunk_size:,})\n"
        f"  elapsed         {elapsed:>12.1f} s\n"
        f"  python cpu      {cpu_seconds:>12.1f} s  (all threads of this process)\n"
        f"  peak RSS        {_peak_rss_mb():>12.0f} MiB\n"
        f"  rows in tables  {rows}",
        flush=True,
    )
    assert result.households == households  # a correctness check, not a timing one
