"""Household dashboard over 1,000,000 households and 5,000,000 purchases: server time per request.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/kalabarg_portal_bench \\
  uv run pytest tests/benchmarks/test_bench_dashboard.py -s -o addopts=""

BENCH_HOUSEHOLDS and BENCH_PURCHASES scale it down. The data is loaded into the DATABASE_URL
database itself (use a dedicated one) and kept: a second run skips the loading and only times. Households come from the registry generator,
purchases from ``devdata.purchases`` (COPY; uneven: the busiest households have
about 20 times the median), this month is charged for every eligible household (wallets, entries, postings).
Requests go through Django's test client with a real session per head (middleware, session
read and save, the view, the template), to the dashboard of many different households.
"""

import os
import random
import statistics
import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from households.models import Person
from kalabarg.lib.persian import jalali_month_key
from kalabarg.portal.auth import mobile_digest
from settlements.models import RunKind
from settlements.services import rules, runs
from tests.benchmarks.conftest import peak_rss_mb, report

SAMPLED_HOUSEHOLDS = 1_000
BUSIEST_HOUSEHOLDS = 50
REQUESTS = 2_000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 1)


def _client_for(person_id: int) -> Client:
    session = SessionStore()
    session["portal_person_id"] = person_id
    session["portal_mobile_digest"] = mobile_digest(Person.objects.only("mobile").get(pk=person_id))
    session.create()
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    return client


def test_bench_dashboard(django_db_blocker):
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or "bench" not in name:
        pytest.fail(
            f"the dashboard benchmark loads 6 million rows into {name!r} and keeps them: point "
            "DATABASE_URL at a dedicated PostgreSQL database whose name contains 'bench'"
        )
    # Works in the DATABASE_URL database itself (a dedicated benchmark database, migrated
    # here), with no test transaction and no flush: the 6 million rows stay for the next run,
    # which then only repeats the timing.
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)
        _bench()


def _bench() -> None:
    from households.models import Household
    from stores.models import Purchase

    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    purchases = int(os.environ.get("BENCH_PURCHASES", "5000000"))
    figures: dict[str, object] = {"households": households, "purchases": purchases}

    started = time.perf_counter()
    if Household.objects.count() < households:
        generate_households(households=households, seed=42)
        figures["load_households_s"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    if Purchase.objects.count() < purchases:
        generate_stores(count=2_000, seed=7)
        result = generate_purchases(purchases=purchases, seed=11, terminals=500)
        figures["load_purchases_s"] = round(time.perf_counter() - started, 1)
        figures["purchases_per_s"] = int(result.purchases / result.elapsed_seconds)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh COPY-loaded tables: give the planner their sizes

    started = time.perf_counter()
    cycle = rules.ensure_cycle(key=jalali_month_key(timezone.localdate()))
    runs.run_inline(run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50_000))
    figures["charge_s"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute(
            "SELECT household_id, count(*) FROM stores_purchase GROUP BY household_id"
            " ORDER BY count(*) DESC LIMIT %s",
            [BUSIEST_HOUSEHOLDS],
        )
        busiest = cursor.fetchall()
        cursor.execute("SELECT min(id), max(id) FROM households_household")
        low, high = cursor.fetchone()
    figures["busiest_household_purchases"] = busiest[0][1]

    rng = random.Random(3)
    sampled = rng.sample(range(low, high + 1), SAMPLED_HOUSEHOLDS)
    busy_ids = [row[0] for row in busiest]
    from households.models import Person

    heads = dict(
        Person.objects.filter(household_id__in=sampled + busy_ids, is_head=True).values_list(
            "household_id", "id"
        )
    )
    clients = {household_id: _client_for(heads[household_id]) for household_id in heads}

    for household_id in list(clients)[:50]:  # warm caches and connections
        assert clients[household_id].get("/me/").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        clients[busy_ids[0]].get("/me/")
    figures["queries_per_request"] = len(queries)

    def timed(household_ids: list[int], count: int) -> list[float]:
        timings = []
        for index in range(count):
            client = clients[household_ids[index % len(household_ids)]]
            t0 = time.perf_counter()
            response = client.get("/me/")
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        return timings

    everyone = timed([h for h in sampled if h in clients], REQUESTS)
    busy = timed([h for h in busy_ids if h in clients], 500)
    figures.update(
        p50_ms=round(statistics.median(everyone), 1),
        p95_ms=_percentile(everyone, 0.95),
        p99_ms=_percentile(everyone, 0.99),
        busiest_p50_ms=round(statistics.median(busy), 1),
        busiest_p95_ms=_percentile(busy, 0.95),
        peak_rss_mb=round(peak_rss_mb()),
    )
    report("dashboard", **figures)
