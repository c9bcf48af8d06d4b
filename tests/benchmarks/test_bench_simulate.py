"""What-if of a phase over 1,000,000 households and 5,000,000 purchases (issue 17:
``simulate_phase`` under 10 s).

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE kalabarg_simulate_bench"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kalabarg_simulate_bench \\
      uv run pytest tests/benchmarks/test_bench_simulate.py -s -o addopts=""

BENCH_HOUSEHOLDS and BENCH_PURCHASES scale it down (in a database of their own). The data is
loaded into the DATABASE_URL database itself (its name must contain ``bench``) and kept: a
second run only times. What it loads:

- households from the registry generator (deciles 1–10, effective since 1401);
- a phase from last month's first day covering every decile (2,000,000 rial per member, bonus
  1,200,000 at 2,000,000 spent), last month charged by the real credit run;
- 5,000,000 purchases in last month by ``devdata.purchases`` (COPY; no lines, no ledger entry),
  1 % of them reversed; then, set-based, what the ledger would hold for them: one purchase
  entry each (wallet −credit, inflation fund −compensation, store payable +both), a reversal
  entry for each reversed one, and the bonus of each household whose credit spent reached the
  threshold (entries by ``settlements.services.ledger.post_batch``, the runs' own writer);
- this month charged by the real credit run, which closes last month;
- the programme figures of last month refreshed (the hourly task), which records its actual cost.

It then times ``simulate_phase --deciles 1-6 … --json`` in this process (the projection and the
actual cost of last month, the whole command) and once as its own process, and prints the
figures. Wallet balances are not debited by the set-based purchases (reconcile would notice):
nothing here reads them.
"""

import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from kalabarg.figures.refresh import refresh_figures
from kalabarg.lib.bulk import analyze
from kalabarg.lib.partitions import month_start
from kalabarg.lib.persian import jalali_month_key
from settlements.models import (
    AccountKind,
    CreditBasis,
    Cycle,
    CycleCost,
    EntryKind,
    JournalEntry,
    Phase,
    RunKind,
    UnspentPolicy,
)
from settlements.services import projection, rules, runs
from settlements.services.ledger import BATCH_TABLE, create_batch_table, post_batch, system_account
from tests.benchmarks.conftest import peak_rss_mb, report

ROOT = Path(__file__).resolve().parents[2]
COMMAND = (
    "simulate_phase",
    "--deciles",
    "1-6",
    "--credit-rial",
    "2000000",
    "--threshold-rial",
    "2000000",
    "--bonus-rial",
    "1200000",
    "--basis",
    "member",
    "--json",
)
ENTRY_CHUNK = 500_000
CREDIT, THRESHOLD, BONUS = 2_000_000, 2_000_000, 1_200_000


def test_bench_simulate(django_db_blocker):
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or "bench" not in name:
        pytest.fail(
            f"the what-if benchmark loads millions of rows into {name!r} and keeps them: point "
            "DATABASE_URL at a dedicated PostgreSQL database whose name contains 'bench'"
        )
    with django_db_blocker.unblock():
        call_command("migrate", verbosity=0)
        figures = _load()
        figures.update(_time())
    report("simulate_phase", **figures)


def _step(figures: dict[str, object], label: str, started: float) -> None:
    figures[f"{label}_s"] = round(time.perf_counter() - started, 1)
    print(f"  {label}: {figures[f'{label}_s']} s", flush=True)


def _load() -> dict[str, object]:
    from households.models import Household
    from stores.models import Purchase, Store

    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    purchases = int(os.environ.get("BENCH_PURCHASES", "5000000"))
    figures: dict[str, object] = {"households": households, "purchases": purchases}

    started = time.perf_counter()
    if Household.objects.count() < households:
        generate_households(households=households, seed=17)
        analyze("households_household", "households_person", "households_decileassignment")
        _step(figures, "load_households", started)

    today = timezone.localdate()
    first_of_month = rules.jalali_month_bounds(key=jalali_month_key(today))[0]
    closed_key = jalali_month_key(first_of_month - dt.timedelta(days=1))
    starts_on, ends_on = rules.jalali_month_bounds(key=closed_key)
    if not Phase.objects.filter(starts_on=starts_on).exists():
        rules.save_phase(
            phase=None,
            name="محک: همه دهک‌ها",
            starts_on=starts_on,
            ends_on=None,
            basis=CreditBasis.PER_MEMBER,
            unspent_policy=UnspentPolicy.CARRY_OVER,
            min_distinct_items=0,
            bands=[rules.BandRule(1, 10, CREDIT, THRESHOLD, BONUS)],
        )
    cycle = rules.ensure_cycle(key=closed_key)
    started = time.perf_counter()
    if not JournalEntry.objects.filter(cycle=cycle, kind=EntryKind.CYCLE_CHARGE).exists():
        runs.run_inline(
            run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50_000)
        )
        _step(figures, "charge_closed_cycle", started)

    started = time.perf_counter()
    if Purchase.objects.count() < purchases:
        if Store.objects.count() < 2_000:
            generate_stores(count=2_000, seed=7)
        zone = timezone.get_default_timezone()
        generate_purchases(
            purchases=purchases - Purchase.objects.count(),
            seed=23,
            terminals=500,
            now=dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time(), tzinfo=zone),
            history_days=(ends_on - starts_on).days + 1,
        )
        _step(figures, "load_purchases", started)
    if not Purchase.objects.filter(status="reversed").exists():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE stores_purchase SET status = 'reversed', reversed_at = created_at "
                "+ interval '1 minute' WHERE id %% 100 = 0 AND %s",
                [True],
            )
        analyze("stores_purchase")

    started = time.perf_counter()
    if not JournalEntry.objects.filter(cycle=cycle, kind=EntryKind.PURCHASE).exists():
        _purchase_entries(cycle)
        _step(figures, "purchase_entries", started)
    started = time.perf_counter()
    if not JournalEntry.objects.filter(cycle=cycle, kind=EntryKind.BONUS).exists():
        _bonuses(cycle)
        _step(figures, "bonuses", started)

    started = time.perf_counter()
    current = rules.ensure_cycle(key=jalali_month_key(today))
    if not JournalEntry.objects.filter(cycle=current, kind=EntryKind.CYCLE_CHARGE).exists():
        runs.run_inline(
            run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=current, chunk_size=50_000)
        )
        _step(figures, "charge_this_month", started)
    cycle.refresh_from_db()
    assert cycle.status == "closed", cycle.status
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    started = time.perf_counter()
    if not CycleCost.objects.filter(cycle=cycle).exists():
        # What the hourly figures refresh does: it records the cycle's actual cost.
        refresh_figures(trigger="bench", cycles=[cycle])
        _step(figures, "figures_refresh", started)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM settlements_journalentry")
        figures["ledger_entries"] = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM settlements_posting")
        figures["ledger_postings"] = cursor.fetchone()[0]
    figures["closed_cycle"] = cycle.key
    return figures


def _purchase_entries(cycle: Cycle) -> None:
    """One purchase entry per purchase of the cycle (the checkout's legs), and one reversal entry
    per reversed purchase (the original negated), in chunks of purchase ids."""
    fund = system_account(kind=AccountKind.INFLATION_FUND)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO settlements_account (kind, store_id, balance_rial) "
            "SELECT 'store_payable', id, 0 FROM stores_store ON CONFLICT DO NOTHING"
        )
        cursor.execute("SELECT min(id), max(id) FROM stores_purchase")
        low, high = cursor.fetchone()
    for start in range(low, high + 1, ENTRY_CHUNK):
        end = start + ENTRY_CHUNK
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, cycle_id, "
                "phase_id, purchase_id, created_by_process, memo, created_at, period) "
                "SELECT 'purchase', 'purchase:' || p.id, p.household_id, %s, %s, p.id, 'bench', '', "
                "p.created_at, p.period FROM stores_purchase p WHERE p.id >= %s AND p.id < %s "
                "AND p.credit_rial + p.compensation_rial > 0",
                [cycle.pk, cycle.phase_id, start, end],
            )
            legs = (
                "FROM settlements_journalentry e JOIN stores_purchase p ON p.id = e.purchase_id "
                "WHERE e.kind = 'purchase' AND e.purchase_id >= %s AND e.purchase_id < %s"
            )
            cursor.execute(
                "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
                f"SELECT e.id, w.id, -p.credit_rial, e.period {legs.replace('WHERE', 'JOIN settlements_account w ON w.household_id = p.household_id WHERE')} "
                "AND p.credit_rial > 0 "
                f"UNION ALL SELECT e.id, %s, -p.compensation_rial, e.period {legs} AND p.compensation_rial > 0 "
                f"UNION ALL SELECT e.id, s.id, p.credit_rial + p.compensation_rial, e.period "
                f"{legs.replace('WHERE', 'JOIN settlements_account s ON s.store_id = p.store_id WHERE')}",
                [start, end, fund.pk, start, end, start, end],
            )
            cursor.execute(
                "INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, cycle_id, "
                "phase_id, purchase_id, reverses_id, created_by_process, memo, created_at, period) "
                "SELECT 'reversal', 'reversal:' || e.id, e.household_id, e.cycle_id, e.phase_id, "
                "e.purchase_id, e.id, 'bench', '', p.reversed_at, e.period FROM settlements_journalentry e "
                "JOIN stores_purchase p ON p.id = e.purchase_id WHERE e.kind = 'purchase' "
                "AND p.status = 'reversed' AND e.purchase_id >= %s AND e.purchase_id < %s",
                [start, end],
            )
            cursor.execute(
                "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
                "SELECT r.id, po.account_id, -po.amount_rial, r.period FROM settlements_journalentry r "
                "JOIN settlements_posting po ON po.entry_id = r.reverses_id "
                "WHERE r.kind = 'reversal' AND r.purchase_id >= %s AND r.purchase_id < %s",
                [start, end],
            )
        print(f"    entries for purchases {start}…{end}", flush=True)


def _bonuses(cycle: Cycle) -> None:
    """The bonus of every household whose credit spent in the cycle (not reversed) reached the
    threshold, posted by the runs' writer."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(cycle.starts_on, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(cycle.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    with transaction.atomic():
        create_batch_table()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "  # noqa: S608 - constants
                "SELECT s.household_id, %s * m.members, 'bonus:' || %s || ':' || s.household_id FROM "
                "(SELECT household_id, SUM(credit_rial) AS spent FROM stores_purchase "
                "WHERE status = 'completed' AND created_at >= %s AND created_at < %s GROUP BY household_id) s "
                "JOIN (SELECT household_id, count(*) AS members FROM households_person "
                "WHERE birth_date IS NULL OR birth_date <= %s GROUP BY household_id) m "
                "ON m.household_id = s.household_id WHERE s.spent >= %s * m.members",
                [BONUS, cycle.key, start, end, cycle.starts_on, THRESHOLD],
            )
        post_batch(
            kind=EntryKind.BONUS,
            fund=system_account(kind=AccountKind.PROGRAMME_FUND),
            to_wallet=True,
            cycle_id=cycle.pk,
            phase_id=cycle.phase_id,
            run_id=None,
            process="bench",
            memo=f"اعتبار مضاعف دوره {cycle.key}",
            period=month_start(cycle.starts_on),
        )


def _time() -> dict[str, object]:
    figures: dict[str, object] = {}
    parts: dict[str, list[float]] = {"projection": [], "actual": [], "command": []}
    printed = ""
    for _ in range(3):
        clock = time.perf_counter()
        projected = projection.project_phase(
            min_decile=1,
            max_decile=6,
            credit_rial=CREDIT,
            threshold_rial=THRESHOLD,
            bonus_rial=BONUS,
            basis="member",
        )
        parts["projection"].append(time.perf_counter() - clock)
        clock = time.perf_counter()
        projection.actual_beside(projected=projected)
        parts["actual"].append(time.perf_counter() - clock)
        out = StringIO()
        clock = time.perf_counter()
        call_command(*COMMAND, stdout=out)
        parts["command"].append(time.perf_counter() - clock)
        printed = out.getvalue()
    for label, seconds in parts.items():
        figures[f"{label}_s"] = round(statistics.median(seconds), 2)
        figures[f"{label}_max_s"] = round(max(seconds), 2)
    clock = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *COMMAND],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env=os.environ.copy(),
    )
    figures["own_process_s"] = round(time.perf_counter() - clock, 2)
    print(f"\n  {printed[:400]}…", flush=True)
    figures["peak_rss_mb"] = round(peak_rss_mb())
    return figures
