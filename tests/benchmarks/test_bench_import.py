"""Import of a registry CSV: 1,000,000 person rows (BENCH_IMPORT_ROWS) on PostgreSQL.

make bench BENCH_ARGS="-k import"
"""

import csv
import os
import random
import time

import pytest

from households.importer import COLUMNS, import_households
from households.models import Person
from kalabarg.lib.identifiers import national_code_check_digit
from tests.benchmarks.conftest import peak_rss_mb, report

PROVINCES = [
    ("تهران", "تهران"),
    ("اصفهان", "اصفهان"),
    ("فارس", "شیراز"),
    ("خراسان رضوی", "مشهد"),
    ("گیلان", "رشت"),
]


def write_registry_csv(path, rows: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    written = 0
    household = 0
    counter = 200_000_000
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        while written < rows:
            household += 1
            size = min(rng.choice([1, 2, 3, 3, 4, 4, 5, 6]), rows - written)
            province, city = PROVINCES[household % len(PROVINCES)]
            decile = str(rng.randint(1, 10))
            for member in range(size):
                counter += 1
                if counter % 1_000_000 == 0:  # digits 4-9 all zero make an invalid code
                    counter += 1
                nine = f"{counter:09d}"
                head = member == 0
                writer.writerow(
                    [
                        f"B{household:09d}",
                        nine + str(national_code_check_digit(nine)),
                        "مریم" if head else "علی",
                        "احمدی",
                        "1360/05/12" if head else "1390/01/01",
                        "head" if head else "child",
                        "1" if head else "0",
                        f"09{counter:09d}" if head else "",
                        province,
                        city,
                        decile,
                        "1401/01/01",
                    ]
                )
                written += 1
    return household


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_import_households(tmp_path):
    rows = int(os.environ.get("BENCH_IMPORT_ROWS", "1000000"))
    path = tmp_path / "registry.csv"
    households = write_registry_csv(path, rows)

    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        result = import_households(stream=stream)
    first = time.perf_counter() - started

    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as stream:
        again = import_households(stream=stream)
    second = time.perf_counter() - started

    assert result.rows_applied == rows and not result.errors
    assert again.rows_applied == rows and Person.objects.count() == rows
    report(
        "import_households",
        rows=rows,
        households=households,
        first_run_s=round(first, 1),
        rows_per_s=round(rows / first),
        rerun_no_change_s=round(second, 1),
        peak_rss_mb=round(peak_rss_mb()),
    )
