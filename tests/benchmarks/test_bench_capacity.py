"""The curve to 21 million households (issue 18): the four national batch jobs and the disk they
fill, measured at growing registries in one database.

    make bench BENCH_ARGS="-k capacity"
    # a quick check: BENCH_CAPACITY_STEPS=20000,60000 make bench BENCH_ARGS="-k capacity"

``BENCH_CAPACITY_STEPS`` (default ``1000000,3000000,5000000``) are cumulative registry sizes. At
each step the generator adds the households up to the step's size, then, on the whole registry:

1. **credit run**: the ledger and the runs are emptied first (``TRUNCATE``, the system accounts
   made again, the cycle planned again), so every step is a first charge of every household at
   that size, as in ``test_bench_credit_run.py``: a phase covering every decile, one real Celery
   worker node (prefork, one process per core), chunks of 25,000. Then the bare
   ``INSERT … SELECT`` floor of the same rows.
2. **SMS outbox build**: the outbox emptied, then the decile-notice campaign of every covered
   head built chunk by chunk in this process (as ``test_bench_sms.py``), not sent.
3. **store settlement**: ``BENCH_CAPACITY_STORES`` stores (default 260,000, the programme's
   connected stores) made at the first step; one purchase per household of the step's size
   (``devdata.purchases``, 1 % reversed) in a day after the last cut-off; the settlement up to
   the step's cut-off, in this process (``settle_stores --inline``), step by step.
4. **dashboard refresh**: ``refresh_figures`` (the cycle charged by step 1, with its purchases).
5. **disk**: the registry, the money tables (summed over their month partitions), the settlement
   lines, the outbox and the whole database; WAL written by each job (the cluster's WAL position,
   so other databases' writes on the same server count too: an upper bound).

At the first step only, ``BENCH_CAPACITY_FOOTPRINT`` (default 4,000) purchases go through the
real checkout (3 lines each): the generator writes a purchase's row only, and this measures what
a real one adds (lines, ledger entry and postings, idempotency record) for the disk per month.

A step is skipped, with its reason printed, when the free disk would not hold it. Nothing is
asserted about time; a few correctness checks stop a run whose figures would mean nothing.
This machine's PostgreSQL runs with ``autovacuum = off``; a thread does autovacuum's analyse
instead, every ``BENCH_CAPACITY_NAPTIME`` seconds (default 2; see ``_AutoAnalyze``).
The broker is a private Redis (tests/private_redis.py): the runs' "refresh the figures" tasks
land there and are never run, so they load neither this benchmark nor anyone else's workers.
"""

import contextlib
import datetime as dt
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import DatabaseError, connection, connections
from django.db.models import Max
from django.utils import timezone

from devdata.households import generate_households
from devdata.purchases import generate_purchases
from devdata.stores import generate_stores
from households import services as household_services
from households.models import Person
from kalabarg.figures.refresh import refresh_figures
from kalabarg.lib.bulk import analyze
from kalabarg.lib.persian import jalali_month_key
from notifications.defaults import ensure_default_templates
from notifications.models import SmsMessage
from notifications.services import campaigns
from settlements.models import (
    CreditBasis,
    CreditRun,
    Cycle,
    CycleStatus,
    Phase,
    PhaseBand,
    RunKind,
    RunStatus,
)
from settlements.services import rules, runs, store_settlement
from settlements.services.checkout import LineRequest, checkout
from settlements.services.ledger import SYSTEM_KINDS, system_account
from settlements.tasks import run_chunk
from stores import services as store_services
from stores.models import BasketItem, PriceKind, Purchase
from tests.benchmarks.conftest import bare_charge_insert_seconds, open_payables, report
from tests.households.factories import next_card_number
from tests.private_redis import PrivateRedis, publishing_to
from tests.stores.factories import make_store, make_terminal
from tests.worker import WorkerProcess, _worker_memory_kib

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker]

CHUNK = 25_000
SMS_CHUNK = 50_000
# One seed's people and cards are numbered in a block of 10,000,000 (devdata.population): at
# about 3.5 people a household, a seed holds 2,000,000 households safely. Larger steps use more.
HOUSEHOLDS_PER_SEED = 2_000_000
FIRST_SEED = 60
REGISTRY = (
    "households_household",
    "households_person",
    "households_decileassignment",
    "households_bankcard",
)
LEDGER = (
    "settlements_charge",
    "settlements_journalentry",
    "settlements_posting",
    "settlements_account",
)
OUTBOX = ("notifications_smsmessage", "notifications_smsbuildchunk", "notifications_smscampaign")
# Emptied before each step's credit run: every step charges every household for the first time.
LEDGER_RESET = (
    "settlements_charge",
    "settlements_posting",
    "settlements_journalentry",
    "settlements_balancerollup",
    "settlements_archivedbalance",
    "settlements_account",
    "settlements_runchunk",
    "settlements_creditrun",
)
FOOTPRINT_TABLES = (
    "stores_purchase",
    "stores_purchaseline",
    "stores_idempotencyrecord",
    "settlements_charge",
    "settlements_journalentry",
    "settlements_posting",
)
# A step needs at most this many bytes per household it adds and per purchase (measured at the
# first step of a trial run, with room to spare), and this much besides (WAL, sorts).
FIRST_GUESS_BYTES_PER_HOUSEHOLD = 8_000
DISK_MARGIN_BYTES = 4 * 1024**3


def _steps() -> list[int]:
    raw = os.environ.get("BENCH_CAPACITY_STEPS", "1000000,3000000,5000000")
    steps = [int(part.replace("_", "")) for part in raw.split(",") if part.strip()]
    assert steps == sorted(steps) and steps[0] > 0, "BENCH_CAPACITY_STEPS: growing sizes"
    return steps


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}/{five:.2f}/{fifteen:.2f}"


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _scalar(sql: str, params: list[Any] | None = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def _bytes(table: str) -> int:
    """A table with its indexes and TOAST, summed over its partitions when it has any."""
    return int(
        _scalar(
            "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT COALESCE(SUM(pg_total_relation_size(t.relid)), 0) "
            "FROM pg_partition_tree(c.oid) t) ELSE pg_total_relation_size(c.oid) END "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        )
    )


class _StatementClock:
    """The slowest statements a block runs on this connection (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seen.append((time.perf_counter() - started, " ".join(str(sql).split())[:70]))

    def slowest(self, count: int = 3) -> str:
        return "; ".join(
            f"{seconds:.1f}s {sql}" for seconds, sql in sorted(self.seen)[::-1][:count]
        )


def _wal() -> int:
    return int(_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')"))


def _free_disk() -> int:
    return shutil.disk_usage(_scalar("SHOW data_directory")).free


def _mb(value: float) -> float:
    return round(value / 1024**2, 1)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, WAL bytes the cluster wrote meanwhile)."""
    wal = _wal()
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started, _wal() - wal


class _AutoAnalyze:
    """What autovacuum's analyse does, for a cluster that runs with ``autovacuum = off`` (this
    machine's shared one does): every ``naptime`` seconds, ``ANALYZE`` each table of this database
    changed by more than 50 rows + 10 % since its last analyse (autovacuum's default rule).

    Without it, a month partition the credit run is filling keeps the statistics of an empty
    table, and each chunk is planned for an empty ledger: at 1,000,000 households the chunks took
    2.6, 3.2, 45, 85 and 206 s (docs/capacity.md). Runs in a thread, on a connection of its own."""

    def __init__(self, naptime: float) -> None:
        self.naptime = naptime
        self.analyses = 0
        self.seconds = 0.0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="auto-analyze")

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def __enter__(self) -> "_AutoAnalyze":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self.naptime):
                with connection.cursor() as cursor:
                    # Only this database's own tables: another session's temporary table (the
                    # refresh's, the settlement's) cannot be analysed from here and would stop
                    # the thread, as it did in the first full run.
                    cursor.execute(
                        "SELECT s.relid::regclass::text FROM pg_stat_user_tables s JOIN pg_class c "
                        "ON c.oid = s.relid WHERE c.relkind = 'r' AND c.relpersistence = 'p' "
                        "AND s.n_mod_since_analyze > 50 + 0.1 * GREATEST(c.reltuples, 0)"
                    )
                    tables = [row[0] for row in cursor.fetchall()]
                    for table in tables:
                        started = time.perf_counter()
                        try:
                            cursor.execute(f"ANALYZE {table}")
                        except DatabaseError as exc:  # a table dropped meanwhile
                            self.errors.append(f"{table}: {exc}")
                            continue
                        self.seconds += time.perf_counter() - started
                        self.analyses += 1
        finally:
            connections.close_all()


def _grow_registry(*, have: int, want: int, seeds: list[int]) -> tuple[int, int]:
    """Households from ``have`` to ``want``, one seed per 2,000,000; (people, cards) added."""
    people = cards = 0
    while have < want:
        size = min(HOUSEHOLDS_PER_SEED, want - have)
        result = generate_households(households=size, seed=FIRST_SEED + len(seeds))
        seeds.append(FIRST_SEED + len(seeds))
        assert result.households == size, "the generator skipped households: use fresh seeds"
        people, cards, have = people + result.persons, cards + result.cards, have + size
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(REGISTRY)}")
    return people, cards


def _forget_statistics(*tables: str) -> None:
    """Empty ``tables`` and their partitions and drop what the planner knew of them, so that they
    are as the migrations leave them: an ``ANALYZE`` of an empty table keeps its old column
    statistics, and plans made from the last step's ids would not be the plans of a first run."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
        cursor.execute(
            "SELECT array_agg(DISTINCT x) FROM (SELECT n::regclass::oid AS x FROM unnest(%s::text[]) n "
            "UNION ALL SELECT t.relid FROM unnest(%s::text[]) n, pg_partition_tree(n::regclass) t) s",
            [list(tables), list(tables)],
        )
        relids = cursor.fetchone()[0]
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = ANY(%s::oid[])", [relids])
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = ANY(%s::oid[])", [relids]
        )
    analyze(*tables)  # as test_bench_credit_run.py's VACUUM ANALYZE leaves them: empty, analysed


def _reset_ledger(cycle: Cycle) -> None:
    """An empty ledger, as the migrations leave it: the system accounts, no run; the cycle planned."""
    _forget_statistics(*LEDGER_RESET)
    for kind in SYSTEM_KINDS:
        system_account(kind=kind)
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.PLANNED)


class _PlanOnly(Exception):
    """Raised inside a transaction to roll back a statement run only to read its plan."""


def _plan_of_charge_staging() -> str:
    """The plan the refresh's first ledger statement gets on the tables as the run left them
    (autovacuum may or may not have analysed them yet): the refresh is started, the statement's
    ``EXPLAIN`` taken instead of running it, and the refresh rolled back."""
    plan: list[str] = []

    def explain(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        text = str(sql)
        if text.startswith("CREATE TEMPORARY TABLE cycle_charge AS "):
            with connection.cursor() as cursor:
                cursor.execute(
                    "EXPLAIN " + text.removeprefix("CREATE TEMPORARY TABLE cycle_charge AS "),
                    params,
                )
                plan.extend(row[0].strip() for row in cursor.fetchall())
            raise _PlanOnly
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain), contextlib.suppress(_PlanOnly):
        refresh_figures(trigger="bench-capacity-plan")
    nodes = [line.split("  (")[0].lstrip("-> ") for line in plan if "cost=" in line]
    return " / ".join(nodes)


def _credit_run(worker: WorkerProcess, cycle: Cycle) -> tuple[float, int, int, CreditRun]:
    """(seconds, worker peak PSS KiB, WAL bytes, run) of one charge of the cycle on the worker."""

    def enqueue(chunk_ids: list[int]) -> None:
        for chunk_id in chunk_ids:
            run_chunk.apply_async(args=(chunk_id,), queue=worker.queue)

    assert worker.process is not None
    wal = _wal()
    started = time.perf_counter()
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=CHUNK, enqueue=enqueue)
    peak = 0
    while True:
        run.refresh_from_db()
        peak = max(peak, _worker_memory_kib(worker.process.pid)[0])
        if run.status != RunStatus.RUNNING:
            break
        time.sleep(0.2)
    return time.perf_counter() - started, peak, _wal() - wal, run


def _build_outbox(phase: Phase) -> tuple[int, float, int]:
    """(messages queued, seconds, WAL bytes) of the decile notice to every covered head."""
    _forget_statistics(*OUTBOX)

    def build() -> int:
        campaign = campaigns.start_decile_notices(
            deciles=list(range(1, 11)), phase=phase, chunk_size=SMS_CHUNK, enqueue=lambda c, i: None
        )
        for chunk_id in campaign.chunks.order_by("index").values_list("pk", flat=True):
            campaigns.build_chunk(chunk_id=chunk_id)
        return SmsMessage.objects.filter(campaign=campaign).count()

    queued, seconds, wal = _timed(build)
    return queued, seconds, wal


def _settle(cutoff: dt.datetime) -> tuple[Any, dict[str, float]]:
    phases: dict[str, float] = {}
    clock = time.perf_counter()
    run = store_settlement.start_settlement(cutoff=cutoff, enqueue=None)
    store_settlement.stage_lines(run_id=run.pk)
    phases["stage"] = time.perf_counter() - clock
    clock = time.perf_counter()
    for chunk_id in store_settlement.pending_chunks(run_id=run.pk):
        store_settlement.execute_chunk(chunk_id=chunk_id)
    phases["chunks"] = time.perf_counter() - clock
    run.refresh_from_db()
    return run, phases


def _cutoffs(count: int, now: dt.datetime) -> list[dt.datetime]:
    """One cut-off per step, the last two hours ago. A step's purchases fall in the day that
    ends one day before its cut-off, so the next step's staging, which looks one day back
    (``store_settlement.LOOKBACK``), sees only its own purchases, and each step settles the same
    kind of night: the purchases since the last cut-off."""
    spacing = store_settlement.LOOKBACK + dt.timedelta(hours=2)
    last = now - dt.timedelta(hours=2)
    return [last - spacing * (count - 1 - index) for index in range(count)]


def _real_purchase_footprint(count: int) -> dict[str, object]:
    """Bytes a real purchase adds, by table: ``count`` purchases of 3 lines through the checkout
    (in this process, by card), 2 per head of the first households (charged by the run before)."""
    items = list(BasketItem.objects.order_by("pk")[:3])
    long_ago = timezone.now() - dt.timedelta(days=800)
    for item in items:
        for kind, price in ((PriceKind.BASE, 500_000), (PriceKind.CURRENT, 800_000)):
            store_services.set_price(
                item=item, kind=kind, price_rial=price, effective_from=long_ago, reason="bench",
                created_by=None,
            )  # fmt: skip
    terminal = make_terminal(make_store())
    heads = list(Person.objects.filter(is_head=True).order_by("household_id")[: (count + 1) // 2])
    cards = []
    for head in heads:
        number = next_card_number()
        household_services.register_card(person=head, card_number=number)
        cards.append(number)
    analyze("households_bankcard")
    before = {table: _bytes(table) for table in FOOTPRINT_TABLES}
    lines = [LineRequest(item=item.code, quantity=Decimal("1.000")) for item in items]
    body = {"lines": [{"item": item.code, "quantity": "1.000"} for item in items]}

    def buy() -> int:
        for index in range(count):
            card = cards[index % len(cards)]
            checkout(
                terminal=terminal,
                idempotency_key=f"capacity-{index}",
                card_number=card,
                payment_code=None,
                lines=lines,
                request_body={**body, "card_number": card},
            )
        return count

    _, seconds, wal = _timed(buy)
    made = Purchase.objects.filter(terminal=terminal).count()
    assert made == count, f"{made} of {count} real purchases"
    figures: dict[str, object] = {"purchases": count, "lines_each": len(items)}
    for table in FOOTPRINT_TABLES:
        figures[f"{table}_bytes_each"] = round((_bytes(table) - before[table]) / count)
    figures["wal_bytes_each_upper_bound"] = round(wal / count)
    figures["seconds"] = round(seconds, 1)
    return figures


def _disk(*, households: int, purchases: int) -> tuple[dict[str, object], int]:
    """The step's sizes as printed, and the database's bytes per household (the next step's guess)."""
    sizes = {
        "registry": sum(_bytes(table) for table in REGISTRY),
        "purchases": _bytes("stores_purchase"),
        "charges": _bytes("settlements_charge"),
        "entries": _bytes("settlements_journalentry"),
        "postings": _bytes("settlements_posting"),
        "accounts": _bytes("settlements_account"),
        "settlement_lines": _bytes("settlements_settlementline"),
        "store_settlements": _bytes("settlements_storesettlement"),
        "outbox": _bytes("notifications_smsmessage"),
        "database": int(_scalar("SELECT pg_database_size(current_database())")),
    }
    figures: dict[str, object] = {f"{name}_mb": _mb(size) for name, size in sizes.items()}
    figures["registry_bytes_per_household"] = round(sizes["registry"] / households)
    figures["purchase_bytes_each"] = round(sizes["purchases"] / purchases)
    figures["settlement_line_bytes_each"] = round(sizes["settlement_lines"] / purchases)
    figures["outbox_bytes_per_head"] = round(sizes["outbox"] / households)
    figures["database_bytes_per_household"] = round(sizes["database"] / households)
    figures["free_disk_gb"] = round(_free_disk() / 1024**3, 1)
    return figures, sizes["database"] // households


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_capacity():
    steps = _steps()
    stores = int(os.environ.get("BENCH_CAPACITY_STORES", "260000"))
    footprint = int(os.environ.get("BENCH_CAPACITY_FOOTPRINT", "4000"))
    concurrency = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
    now = timezone.now()
    cutoffs = _cutoffs(len(steps), now)
    month = jalali_month_key(timezone.localdate())
    starts_on, _ = rules.jalali_month_bounds(key=month)
    first_purchase = cutoffs[0] - store_settlement.LOOKBACK - dt.timedelta(days=1)
    report(
        "capacity",
        commit=_commit(),
        steps="/".join(str(step) for step in steps),
        stores=stores,
        chunk_size=CHUNK,
        worker_concurrency=concurrency,
        autovacuum=_scalar("SHOW autovacuum"),
        cycle=month,
        purchases_in_cycle=timezone.localdate(first_purchase) >= starts_on,
        free_disk_gb=round(_free_disk() / 1024**3, 1),
        cpus=os.cpu_count(),
        load=_load(),
    )
    ensure_default_templates()
    phase = Phase.objects.create(name="capacity", starts_on=starts_on, basis=CreditBasis.PER_MEMBER)
    PhaseBand.objects.create(
        phase=phase, min_decile=1, max_decile=10, credit_per_cycle_rial=2_000_000, bonus_threshold_rial=2_000_000,
        bonus_amount_rial=1_200_000,
    )  # fmt: skip
    cycle = rules.ensure_cycle(key=month)

    have, purchases_total = 0, 0
    seeds: list[int] = []
    bytes_per_household = FIRST_GUESS_BYTES_PER_HOUSEHOLD
    naptime = float(os.environ.get("BENCH_CAPACITY_NAPTIME", "2"))
    with (
        _AutoAnalyze(naptime) as autoanalyze,
        PrivateRedis() as broker,
        publishing_to(broker.url),
    ):
        worker = WorkerProcess(concurrency=concurrency, broker_url=broker.url).start()
        try:
            time.sleep(3)  # let the worker connect before the first clock starts
            for index, size in enumerate(steps):
                tag = f"capacity households={size}"
                # A step adds (size - have) households and size purchases; everything else it
                # writes is replaced at the next step.
                need = bytes_per_household * (2 * size - have) + DISK_MARGIN_BYTES
                free = _free_disk()
                if free < need:
                    report(
                        tag,
                        skipped=f"free disk {free / 1024**3:.1f} GB < about {need / 1024**3:.1f} GB needed",
                    )
                    break
                load_before = _load()

                # 0. The registry grows to the step's size.
                (people, cards), gen_s, gen_wal = _timed(
                    lambda: _grow_registry(have=have, want=size, seeds=seeds)  # noqa: B023
                )
                report(
                    tag + " generate",
                    added=size - have,
                    people=people,
                    cards=cards,
                    seconds=round(gen_s, 1),
                    households_per_s=round((size - have) / gen_s),
                    wal_mb=_mb(gen_wal),
                    load=_load(),
                )
                have = size

                # 1. The credit run of every household, on an empty ledger.
                _reset_ledger(cycle)
                run_load = _load()
                run_s, peak_kib, run_wal, run = _credit_run(worker, cycle)
                assert run.status == RunStatus.COMPLETED and run.entries_created == size, (
                    worker.output()[-2000:]
                )
                ledger_after_run = {table: _bytes(table) for table in LEDGER}
                bare_s = bare_charge_insert_seconds()
                report(
                    tag + " credit_run",
                    seconds=round(run_s, 1),
                    households_per_s=round(size / run_s),
                    chunks=run.chunks_total,
                    worker_peak_pss_mb=round(peak_kib / 1024),
                    bare_insert_select_s=round(bare_s, 2),
                    ratio_to_bare=round(run_s / bare_s, 1),
                    charges_mb=_mb(ledger_after_run["settlements_charge"]),
                    entries_mb=_mb(ledger_after_run["settlements_journalentry"]),
                    postings_mb=_mb(ledger_after_run["settlements_posting"]),
                    accounts_mb=_mb(ledger_after_run["settlements_account"]),
                    ledger_bytes_per_household=round(sum(ledger_after_run.values()) / size),
                    wal_mb=_mb(run_wal),
                    load_before=run_load,
                    load=_load(),
                )
                if index == 0 and footprint:
                    report(tag + " real_purchase_footprint", **_real_purchase_footprint(footprint))

                # 2. The SMS outbox of every covered head.
                queued, sms_s, sms_wal = _build_outbox(phase)
                report(
                    tag + " sms_outbox_build",
                    queued=queued,
                    seconds=round(sms_s, 1),
                    queued_per_s=round(queued / sms_s),
                    outbox_mb=_mb(_bytes("notifications_smsmessage")),
                    wal_mb=_mb(sms_wal),
                    load=_load(),
                )

                # 3. The stores' settlement of one purchase per household since the last cut-off.
                if index == 0:
                    _, stores_s, _ = _timed(lambda: generate_stores(count=stores, seed=18))
                    report(tag + " stores", stores=stores, seconds=round(stores_s, 1))
                last_id = Purchase.objects.aggregate(last=Max("pk"))["last"] or 0
                made, buy_s, buy_wal = _timed(
                    lambda: generate_purchases(
                        purchases=size,  # noqa: B023
                        seed=1800 + index,  # noqa: B023
                        terminals=stores,
                        now=cutoffs[index] - store_settlement.LOOKBACK,  # noqa: B023
                        history_days=1,
                    )
                )
                with connection.cursor() as cursor:
                    cursor.execute(
                        "UPDATE stores_purchase SET status = 'reversed', reversed_at = created_at + interval '1 minute' "
                        "WHERE id > %s AND id %% 100 = 0",
                        [last_id],
                    )
                purchases_total += made.purchases
                open_payables(batch=f"capacity-{size}", after_id=last_id)
                analyze(
                    "stores_purchase",
                    "settlements_settlementline",
                    "settlements_storesettlement",
                )
                report(
                    tag + " purchases",
                    added=made.purchases,
                    seconds=round(buy_s, 1),
                    purchases_per_s=round(made.purchases / buy_s),
                    wal_mb=_mb(buy_wal),
                    load=_load(),
                )
                settle_load = _load()
                (settlement, phases), settle_s, settle_wal = _timed(
                    lambda: _settle(cutoffs[index])  # noqa: B023
                )
                report(
                    tag + " settlement",
                    purchases_since_cutoff=made.purchases,
                    seconds=round(settle_s, 1),
                    stage_seconds=round(phases["stage"], 1),
                    chunks_seconds=round(phases["chunks"], 1),
                    lines=settlement.lines_total,
                    settlements=settlement.settlements_total,
                    chunks=settlement.chunks_total,
                    wal_mb=_mb(settle_wal),
                    load_before=settle_load,
                    load=_load(),
                )
                assert settlement.lines_total >= made.purchases, "the step's purchases not settled"

                # 4. The programme figures, after the statistics are brought up to date (as
                # test_bench_figures.py does): the plan before is printed, not run.
                plan = _plan_of_charge_staging()
                _, analyze_s, _ = _timed(lambda: analyze(*LEDGER, *OUTBOX))
                refresh_load = _load()
                clock = _StatementClock()
                with connection.execute_wrapper(clock):
                    record, refresh_s, _ = _timed(lambda: refresh_figures(trigger="bench-capacity"))
                report(
                    tag + " refresh",
                    seconds=round(refresh_s, 1),
                    cycles="/".join(record.cycles),
                    slowest=repr(clock.slowest()),
                    analyze_before_s=round(analyze_s, 1),
                    charge_staging_plan_before_analyze=repr(plan),
                    load_before=refresh_load,
                    load=_load(),
                )

                # 5. The disk.
                disk, bytes_per_household = _disk(households=size, purchases=purchases_total)
                report(
                    tag + " disk",
                    purchases_total=purchases_total,
                    **disk,
                    auto_analyses=autoanalyze.analyses,
                    auto_analyze_s=round(autoanalyze.seconds, 1),
                    load_at_start=load_before,
                    load=_load(),
                )
        finally:
            worker.stop()
