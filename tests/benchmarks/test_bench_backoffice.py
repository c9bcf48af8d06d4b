"""Officers' pages over 1,000,000 households and 5,000,000 purchases: server time per request of
every registered model's admin list (with and without a search), the purchases' and the objection
queue's filters, the household 360° page, the objection decision page and a purchase's page.

DATABASE_URL=postgres://postgres@127.0.0.1:5432/kalabarg_bench \\
  uv run pytest tests/benchmarks/test_bench_backoffice.py -s -o addopts=""

BENCH_HOUSEHOLDS and BENCH_PURCHASES scale it down (e.g. 2000 and 10000 to check it works);
BENCH_REQUESTS is the number of timed requests per page (median and p95 of them); BENCH_SMS=0
skips the national SMS campaign (1,000,000 outbox rows). The data is loaded into the DATABASE_URL
database itself and kept, like the dashboard benchmark's (the same generators and seeds, so
either loads what the other reuses): households, stores and purchases, this month's charge,
then this benchmark's own rows if missing — objections for 1 household in 100 (a fifth of them
decided), 1 purchase in 1,000 marked reversed, and a decile-notice campaign to every covered head.
Requests go through Django's test client as a superuser officer (middleware, session, OTP, the
view and its template). Nothing is asserted: the table is printed (figures in docs/benchmarks.md).
"""

import datetime as dt
import os
import random
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib import admin
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from kalabarg.lib.persian import format_jalali_date, jalali_month_key, to_persian_digits
from tests.benchmarks.conftest import peak_rss_mb, report
from tests.conftest import OfficerClient

OBJECTION_EVERY = 100  # one household in this many has objected
REVERSED_EVERY = 1_000  # one purchase in this many is marked reversed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share) - 1)], 1)


def test_bench_backoffice(django_db_blocker):
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or "bench" not in name:
        pytest.fail(
            f"the back-office benchmark loads millions of rows into {name!r} and keeps them: "
            "point DATABASE_URL at a dedicated PostgreSQL database whose name contains 'bench'"
        )
    from django.core.management import call_command

    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)
        _bench()


def _load(households: int, purchases: int, figures: dict[str, object]) -> None:
    """The dashboard benchmark's data (same generators and seeds), then this benchmark's own."""
    from households.models import Household
    from notifications.defaults import ensure_default_templates
    from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
    from notifications.services import campaigns
    from settlements.models import EntryKind, JournalEntry, RunKind
    from settlements.services import rules, runs
    from stores.models import Purchase

    started = time.perf_counter()
    if Household.objects.count() < households:
        generate_households(households=households, seed=42)
    if Purchase.objects.count() < purchases:
        generate_stores(count=2_000, seed=7)
        generate_purchases(purchases=purchases, seed=11, terminals=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    cycle = rules.ensure_cycle(key=jalali_month_key(timezone.localdate()))
    if not JournalEntry.objects.filter(cycle=cycle, kind=EntryKind.CYCLE_CHARGE).exists():
        run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50_000)
        runs.run_inline(run=run)
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM households_objection)")
        if not cursor.fetchone()[0]:
            # Households k·100 object; every fifth of them (k divisible by 5) was answered.
            decided = f"(p.household_id / {OBJECTION_EVERY}) %% 5 = 0"
            cursor.execute(
                "INSERT INTO households_objection (household_id, filed_by_id, category, "  # noqa: S608
                "description, decile_at_filing, status, created_at, decided_at, decision_reason) "
                "SELECT p.household_id, p.id, (ARRAY['income_fell', 'job_loss', 'illness', "
                "'wrong_assets', 'household_changed', 'other'])[1 + p.household_id / %s %% 6], "
                f"'داده آزمایشی', NULL, CASE WHEN {decided} THEN 'rejected' ELSE 'open' END, "
                "now() - (p.household_id %% 90) * interval '1 day', "
                f"CASE WHEN {decided} THEN now() END, "
                f"CASE WHEN {decided} THEN 'داده آزمایشی' ELSE '' END "
                "FROM households_person p WHERE p.is_head AND p.household_id %% %s = 0",
                [OBJECTION_EVERY, OBJECTION_EVERY],
            )
        cursor.execute("SELECT EXISTS (SELECT 1 FROM stores_purchase WHERE status = 'reversed')")
        if not cursor.fetchone()[0]:
            cursor.execute(
                "UPDATE stores_purchase SET status = 'reversed', "
                "reversed_at = created_at + interval '1 minute' WHERE id %% %s = 0",
                [REVERSED_EVERY],
            )
    if os.environ.get("BENCH_SMS", "1") != "0" and not SmsCampaign.objects.exists():
        ensure_default_templates()
        phase = rules.phase_on(day=timezone.localdate())
        assert phase is not None
        covered = {d for b in phase.bands.all() for d in range(b.min_decile, b.max_decile + 1)}
        campaign = campaigns.start_decile_notices(
            deciles=sorted(covered),
            phase=phase,
            chunk_size=50_000,
            enqueue=lambda c, i: None,
        )
        # Built here, never dispatched (its status is not "building", so the last chunk queues
        # no dispatch), then recorded as sent.
        SmsCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.COMPLETED)
        for chunk_id in campaign.chunks.order_by("index").values_list("pk", flat=True):
            campaigns.build_chunk(chunk_id=chunk_id)
        SmsMessage.objects.filter(campaign=campaign).update(
            status=MessageStatus.SENT, sent_at=timezone.now()
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    figures["load_s"] = round(time.perf_counter() - started, 1)


def _samples(rng: random.Random) -> dict[str, Any]:
    """Real values to search for: a head's codes, a terminal, a store, a card, busy households."""
    from households.models import Objection, ObjectionStatus, Person
    from stores.models import Purchase, Store, Terminal

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(id), max(id) FROM households_household")
        low, high = cursor.fetchone()
        cursor.execute(
            "SELECT household_id FROM stores_purchase GROUP BY household_id"
            " ORDER BY count(*) DESC LIMIT 20"
        )
        busiest = [row[0] for row in cursor.fetchall()]
    sampled = rng.sample(range(low, high + 1), min(100, high - low + 1))
    head = (
        Person.objects.select_related("household")
        .filter(household_id__in=sampled, is_head=True)
        .order_by("pk")
        .first()
    )
    assert head is not None
    store = Store.objects.order_by("pk").first()
    terminal = Terminal.objects.order_by("pk").first()
    purchase = Purchase.objects.order_by("-pk").first()
    open_objection = Objection.objects.filter(status=ObjectionStatus.OPEN).order_by("pk").first()
    today = timezone.localdate()
    month_ago = today - dt.timedelta(days=30)
    return {
        "households": sampled,
        "busiest": busiest,
        "national_code": head.national_code,
        "mobile": head.mobile,
        "household_id": head.household_id,
        "province_id": head.household.province_id,
        "store_id": store.pk if store else 0,
        "store_name": store.name if store else "",
        "terminal_id": terminal.terminal_id if terminal else "00000000",
        "card_last4": purchase.card_last4 if purchase else "0000",
        "purchase_id": purchase.pk if purchase else 0,
        "objection_id": open_objection.pk if open_objection else 0,
        "from": format_jalali_date(month_ago, with_month_name=False),
        "to": format_jalali_date(today, with_month_name=False),
    }


def _search_term(label: str, samples: dict[str, Any]) -> str:
    """What an officer would type into the list's search box of the model ``label``."""
    terms = {
        "stores.store": samples["store_name"],
        "stores.terminal": samples["terminal_id"],
        "stores.basketitem": "برنج",
        "settlements.cycle": to_persian_digits(jalali_month_key(timezone.localdate())),
        "households.province": "تهران",
        "households.city": "تهران",
        "notifications.smsmessage": samples["mobile"],
    }
    return terms.get(label, samples["national_code"])


def _pages(samples: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """(name, url, query) of every page to time."""
    pages: list[tuple[str, str, dict[str, str]]] = []
    for model, model_admin in sorted(
        admin.site._registry.items(), key=lambda item: item[0]._meta.label_lower
    ):
        label = model._meta.label_lower
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        pages.append((f"{label} list", url, {}))
        if model_admin.search_fields:
            pages.append((f"{label} search", url, {"q": _search_term(label, samples)}))
    purchases = reverse("admin:stores_purchase_changelist")
    pages += [
        ("purchases by store id", purchases, {"store": str(samples["store_id"])}),
        ("purchases by store name", purchases, {"store": samples["store_name"]}),
        ("purchases by terminal", purchases, {"terminal": samples["terminal_id"]}),
        ("purchases by card last four", purchases, {"card": samples["card_last4"]}),
        ("purchases by card, q box", purchases, {"q": samples["card_last4"]}),
        (
            "purchases in the last 30 days",
            purchases,
            {"from": samples["from"], "to": samples["to"]},
        ),
        (
            "purchases by store, 30 days",
            purchases,
            {"store": str(samples["store_id"]), "from": samples["from"], "to": samples["to"]},
        ),
        ("purchases of a household", purchases, {"household": str(samples["household_id"])}),
        ("purchases reversed", purchases, {"status": "reversed"}),
        ("purchases page 20", purchases, {"p": "20"}),
    ]
    queue = reverse("admin:households_objection_changelist")
    pages += [
        ("objections, open by province", queue, {"province": str(samples["province_id"])}),
        ("objections, waiting > 30 days", queue, {"age": "gt30"}),
        ("objections, job loss", queue, {"category__exact": "job_loss"}),
        ("objections, all statuses", queue, {"status": "all"}),
        (
            "household 360° search",
            reverse("backoffice:household_search"),
            {"q": samples["national_code"]},
        ),
    ]
    if samples["objection_id"]:
        pages.append(
            (
                "objection decision page",
                reverse("admin:households_objection_change", args=[samples["objection_id"]]),
                {},
            )
        )
    if samples["purchase_id"]:
        pages.append(
            (
                "purchase page",
                reverse("admin:stores_purchase_change", args=[samples["purchase_id"]]),
                {},
            )
        )
    return pages


def _time(client: OfficerClient, url: Callable[[int], str] | str, count: int) -> dict[str, Any]:
    """Median and p95 of ``count`` requests (``url`` may vary with the request's number)."""
    first = url(0) if callable(url) else url
    reset_queries()  # the log of an earlier capture would shift this one's
    with CaptureQueriesContext(connection) as queries:
        response = client.get(first)
    query_count = len(queries)  # now: the next request's start empties the log it reads
    timings = []
    for index in range(count):
        target = url(index) if callable(url) else url
        t0 = time.perf_counter()
        response = client.get(target)
        timings.append((time.perf_counter() - t0) * 1000)
    return {
        "status": response.status_code,
        "queries": query_count,
        "p50": round(statistics.median(timings), 1),
        "p95": _percentile(timings, 0.95),
    }


def _bench() -> None:
    from django.contrib.auth import get_user_model

    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    purchases = int(os.environ.get("BENCH_PURCHASES", "5000000"))
    count = int(os.environ.get("BENCH_REQUESTS", "20"))
    figures: dict[str, object] = {"households": households, "purchases": purchases}
    _load(households, purchases, figures)

    samples = _samples(random.Random(3))
    user_model = get_user_model()
    officer = user_model.objects.filter(username="bench-officer").first()
    if officer is None:
        officer = user_model.objects.create_superuser("bench-officer", password="bench-only-1403")
    client = OfficerClient()
    client.force_login(officer)

    rows: list[tuple[str, dict[str, Any]]] = []
    for name, url, query in _pages(samples):
        target = f"{url}?{urlencode(query)}" if query else url
        rows.append((name, _time(client, target, count)))

    def household_page(households_: list[int]) -> Callable[[int], str]:
        return lambda index: reverse(
            "backoffice:household", args=[households_[index % len(households_)]]
        )

    rows.append(
        (
            "household 360°, sampled households",
            _time(client, household_page(samples["households"]), max(count, 100)),
        )
    )
    rows.append(
        (
            "household 360°, busiest households",
            _time(client, household_page(samples["busiest"]), max(count, 20)),
        )
    )

    width = max(len(name) for name, _ in rows)
    print(f"\n{'page'.ljust(width)}  status  queries  p50_ms  p95_ms", flush=True)
    for name, result in rows:
        print(
            f"{name.ljust(width)}  {result['status']:>6}  {result['queries']:>7}  "
            f"{result['p50']:>6}  {result['p95']:>6}",
            flush=True,
        )
    slowest = max(rows, key=lambda row: row[1]["p95"])
    figures.update(
        pages=len(rows),
        requests_per_page=count,
        slowest_page=slowest[0].replace(" ", "_"),
        slowest_p95_ms=slowest[1]["p95"],
        pages_over_300ms_p95=sum(1 for _, result in rows if result["p95"] > 300),
        errors=sum(1 for _, result in rows if result["status"] >= 400),
        peak_rss_mb=round(peak_rss_mb()),
    )
    report("backoffice", **figures)
