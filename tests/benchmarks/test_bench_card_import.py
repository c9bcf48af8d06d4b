"""Import of the banks' card-owner feed: 2,000,000 card rows against 1,000,000 households.

make bench BENCH_ARGS="-k card_import"

``BENCH_HOUSEHOLDS`` (default 1,000,000) households are generated first (``devdata``), then a CSV
of ``BENCH_CARD_ROWS`` (default twice the households) cards of their members, one in twenty
closed, is imported twice. Targets (issue 13): the first import under 2 minutes with memory
flat, the re-import (nothing changes) under 1 minute. Memory: the peak RSS of the import alone
(``VmHWM`` reset just before it), which must not grow with the file.
"""

import contextlib
import csv
import os
import time
from pathlib import Path

import pytest

from devdata.households import generate_households
from households.card_import import COLUMNS, import_bank_cards
from households.models import BankCard, Person
from kalabarg.lib.identifiers import luhn_check_digit
from tests.benchmarks.conftest import peak_rss_mb, report

BINS = ("610433", "589210", "627353", "621986")  # not the generator's cards


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "").strip()
    return int(raw) if raw else default


def _import_peak_rss_mb() -> float:
    """The peak RSS since :func:`_reset_peak_rss` (Linux), else the process's peak."""
    with contextlib.suppress(OSError):  # no /proc: the process's own peak
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def _reset_peak_rss() -> float:
    """Reset the kernel's peak-RSS mark for this process; the RSS now, in MiB."""
    with contextlib.suppress(OSError):  # no /proc: the process's own peak
        Path("/proc/self/clear_refs").write_text("5")
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return peak_rss_mb()


def write_cards_csv(path: Path, rows: int) -> int:
    """``rows`` cards of registered people (each person in turn, again until enough)."""
    written = 0
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        while written < rows:
            codes = Person.objects.order_by("pk").values_list("national_code", flat=True)
            for code in codes.iterator(chunk_size=20_000):
                partial = f"{BINS[written % len(BINS)]}{500_000_000 + written:09d}"
                status = "closed" if written % 20 == 0 else "active"
                writer.writerow([partial + str(luhn_check_digit(partial)), code, status])
                written += 1
                if written == rows:
                    break
    return written


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_card_import(tmp_path):
    households = _env_int("BENCH_HOUSEHOLDS", 1_000_000)
    rows = _env_int("BENCH_CARD_ROWS", 2 * households)
    generate_households(households=households, seed=20240320)
    cards_before = BankCard.objects.count()
    path = tmp_path / "cards.csv"
    write_cards_csv(path, rows)

    rss_before = _reset_peak_rss()
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        result = import_bank_cards(stream=stream)
    first = time.perf_counter() - started
    first_peak = _import_peak_rss_mb()

    _reset_peak_rss()
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        again = import_bank_cards(stream=stream)
    second = time.perf_counter() - started
    second_peak = _import_peak_rss_mb()

    assert result.rows_applied == rows and not result.errors and not result.moved
    assert again.rows_applied == rows and again.cards_changed == 0
    assert BankCard.objects.count() == cards_before + rows
    report(
        "card_import",
        households=households,
        rows=rows,
        first_run_s=round(first, 1),
        rows_per_s=round(rows / first),
        rerun_no_change_s=round(second, 1),
        rss_before_import_mb=round(rss_before),
        import_peak_rss_mb=round(first_peak),
        rerun_peak_rss_mb=round(second_peak),
    )
