"""The programme figures at national scale (issue 17): 1,000,000 households (BENCH_HOUSEHOLDS)
charged for two cycles, 5,000,000 purchases (BENCH_PURCHASES) over those two months; the
summary tables' refresh of both cycles timed; then the officers' dashboard and the public
transparency page, BENCH_REQUESTS requests each through Django's test client (server time:
middleware, session, OTP, the page), median and p95.

    make bench BENCH_ARGS="-k figures"
"""

import datetime as dt
import os
import statistics
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
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
from tests.conftest import OfficerClient


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
    analyze(
        "stores_purchase", "settlements_charge", "settlements_journalentry", "settlements_posting"
    )

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
    _time_pages(count=int(os.environ.get("BENCH_REQUESTS", "50")), month=this_month)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 1)


def _timed(client: Client, url: str, count: int) -> dict[str, object]:
    first = client.get(url)  # warm: the transparency page is built once per refresh and cycle
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return {
        "status": response.status_code,
        "first_status": first.status_code,
        "p50_ms": round(statistics.median(timings), 1),
        "p95_ms": _percentile(timings, 0.95),
    }


def _time_pages(*, count: int, month: str) -> None:
    officer = get_user_model().objects.create_superuser("bench-figures", password="bench-only-1405")
    client = OfficerClient()
    client.force_login(officer)
    dashboard = _timed(client, "/admin/programme/", count)
    report("figures_dashboard", requests=count, **dashboard)
    by_province = _timed(client, f"/admin/programme/?cycle={month}", count)
    report("figures_dashboard_this_cycle", requests=count, **by_province)
    public = _timed(Client(), "/transparency/", count)
    report("figures_transparency", requests=count, **public)
    cache.clear()  # the page built from the summary tables, every time
    started, builds = time.perf_counter(), []
    anonymous = Client()
    for _ in range(min(count, 20)):
        cache.clear()
        t0 = time.perf_counter()
        anonymous.get("/transparency/")
        builds.append((time.perf_counter() - t0) * 1000)
    report(
        "figures_transparency_uncached",
        requests=len(builds),
        p50_ms=round(statistics.median(builds), 1),
        p95_ms=_percentile(builds, 0.95),
        seconds=round(time.perf_counter() - started, 2),
    )
