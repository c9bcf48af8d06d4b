"""The programme figures at national scale (issue 17): 1,000,000 households (BENCH_HOUSEHOLDS)
charged for two cycles, 5,000,000 purchases (BENCH_PURCHASES) over those two months; the
summary tables' refresh of both cycles timed.

    make bench BENCH_ARGS="-k figures"
"""

import datetime as dt
import os
import time

import pytest
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from kalabarg.figures.models import CycleFigure
from kalabarg.figures.refresh import refresh_figures
from kalabarg.lib.bulk import analyze
from kalabarg.lib.persian import jalali_month_key
from settlements.models import CycleStatus, RunKind
from settlements.services import rules, runs
from tests.benchmarks.conftest import report


def _charge(key: str) -> None:
    cycle = rules.ensure_cycle(key=key)
    runs.run_inline(run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50_000))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_figures_refresh():
    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    purchases = int(os.environ.get("BENCH_PURCHASES", "5000000"))
    today = timezone.localdate()
    this_month = jalali_month_key(today)
    starts_on, _ = rules.jalali_month_bounds(key=this_month)
    last_month = jalali_month_key(starts_on - dt.timedelta(days=1))
    last_starts_on, _ = rules.jalali_month_bounds(key=last_month)

    generate_households(households=households, seed=17)
    generate_stores(count=max(households // 50, 100), seed=17)
    _charge(last_month)
    _charge(this_month)
    days = (today - last_starts_on).days + 1
    generate_purchases(
        purchases=purchases,
        seed=171,
        terminals=max(households // 50, 100),
        now=timezone.now(),
        history_days=days,
    )
    analyze("stores_purchase", "settlements_journalentry", "settlements_posting")

    started = time.perf_counter()
    record = refresh_figures(trigger="bench")
    seconds = time.perf_counter() - started
    assert sorted(record.cycles) == sorted([last_month, this_month])
    report(
        "figures_refresh",
        households=households,
        purchases=purchases,
        cycles=len(record.cycles),
        seconds=round(seconds, 2),
        rows=CycleFigure.objects.count(),
        open_cycles=rules.ensure_cycle(key=this_month).status == CycleStatus.OPEN,
    )
