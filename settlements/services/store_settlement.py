"""Settling the stores: every purchase and reversal not yet settled up to a cut-off, per store.

A run has two steps, each idempotent and each one transaction per piece:

1. **Stage** (``stage_lines``): every purchase made and every reversal done up to the cut-off
   that no run has settled becomes a ``SettlementLine`` of this run, in two ``INSERT … SELECT``
   statements over the days since the last cut-off. The line's unique key (purchase, kind) is
   what settles each purchase and each reversal exactly once: a concurrent run's insert waits
   for this one's rows and skips them.
2. **Chunks of store ids** (``execute_chunk``): each store with lines in the run (or a failed
   payout waiting) gets one ``StoreSettlement`` with its store's Sheba and payee at that moment,
   taking in what earlier settlements carried (a negative net, a failed payout), and an entry
   store payable → settlement clearing for a positive amount.

Every write that changes which of a store's settlements wait to be carried (a chunk, a failed
payout) first takes the store's row lock (``FOR NO KEY UPDATE``, which purchases' foreign-key
locks do not wait for), so two of them never both take the same carried amount.
"""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from kalabarg.lib.errors import field_error
from kalabarg.lib.partitions import period_of
from kalabarg.lib.persian import format_jalali_datetime, to_persian_digits
from settlements.models import (
    AccountKind,
    SettlementChunk,
    SettlementRun,
    SettlementRunStatus,
)
from settlements.services.ledger import system_account
from settlements.signals import run_finished
from stores.models import Store

logger = logging.getLogger(__name__)

DEFAULT_STORE_CHUNK = 10_000
CHUNK_ATTEMPTS = 3
# How far before the last run's cut-off the staging looks again, for a purchase that committed
# after that run read (the cut-off is at least SETTLEMENT_CUTOFF_MIN_AGE old, so none should).
LOOKBACK = dt.timedelta(days=1)
STAGE_TABLE = "settlements_settlement_batch"


def last_midnight(*, now: dt.datetime | None = None) -> dt.datetime:
    """The default cut-off: the most recent midnight in Tehran."""
    local = timezone.localtime(now or timezone.now())
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def validate_cutoff(*, cutoff: dt.datetime, now: dt.datetime | None = None) -> None:
    """Refuse a cut-off so recent that a purchase at the till may not have committed yet."""
    now = now or timezone.now()
    if timezone.is_naive(cutoff):
        raise field_error(
            field="until", message="زمان پایان باید با منطقه زمانی باشد", code="cutoff_naive"
        )
    min_age = dt.timedelta(minutes=settings.SETTLEMENT_CUTOFF_MIN_AGE_MINUTES)
    if cutoff > now - min_age:
        raise field_error(
            field="until",
            message=(
                f"زمان پایان تسویه باید دست‌کم {to_persian_digits(settings.SETTLEMENT_CUTOFF_MIN_AGE_MINUTES)} "
                "دقیقه پیش از اکنون باشد تا خریدهای در جریان ثبت شده باشند"
            ),
            code="cutoff_too_recent",
        )


def launch_settlement(
    *,
    cutoff: dt.datetime | None = None,
    started_by: User | None = None,
    process: str = "",
    chunk_size: int = DEFAULT_STORE_CHUNK,
    inline: bool | None = None,
    enqueue: Callable[[int], None],
) -> SettlementRun:
    """Start (or resume) a settlement and get it done: here (``inline``; by default whenever
    Celery is eager), or by the workers (``enqueue(run_id)`` on commit: services never import tasks)."""
    if inline is None:
        inline = bool(settings.CELERY_TASK_ALWAYS_EAGER)
    run = start_settlement(
        cutoff=cutoff,
        started_by=started_by,
        process=process,
        chunk_size=chunk_size,
        enqueue=None if inline else enqueue,
    )
    # An earlier run left unfinished (a failed chunk, a lost queue) holds staged lines that no
    # other run takes: it is finished first, or queued beside this one.
    earlier = list(
        SettlementRun.objects.exclude(status=SettlementRunStatus.COMPLETED)
        .exclude(pk=run.pk)
        .order_by("cutoff")
        .values_list("pk", flat=True)
    )
    for run_id in [*earlier, run.pk]:
        if inline:
            SettlementRun.objects.filter(pk=run_id).update(status=SettlementRunStatus.RUNNING)
            stage_lines(run_id=run_id)
            for chunk_id in pending_chunks(run_id=run_id):
                execute_chunk(chunk_id=chunk_id)
            finish_if_complete(run_id=run_id)
        elif run_id != run.pk:
            SettlementRun.objects.filter(pk=run_id).update(status=SettlementRunStatus.RUNNING)
            enqueue(run_id)
    run.refresh_from_db()
    return run


@transaction.atomic
def start_settlement(
    *,
    cutoff: dt.datetime | None = None,
    started_by: User | None = None,
    process: str = "",
    chunk_size: int = DEFAULT_STORE_CHUNK,
    enqueue: Callable[[int], None] | None = None,
) -> SettlementRun:
    """Create the run up to ``cutoff`` (default: last midnight, Tehran) with its store chunks,
    or resume the unfinished run of that cut-off."""
    cutoff = cutoff or last_midnight()
    validate_cutoff(cutoff=cutoff)
    if chunk_size < 1:
        raise field_error(
            field="chunk_size", message="اندازه بخش باید مثبت باشد", code="chunk_size_invalid"
        )
    run = (
        SettlementRun.objects.select_for_update()
        .filter(cutoff=cutoff)
        .exclude(status=SettlementRunStatus.COMPLETED)
        .first()
    )
    if run is None:
        previous = SettlementRun.objects.filter(
            status=SettlementRunStatus.COMPLETED, cutoff__lte=cutoff
        ).aggregate(last=Max("cutoff"))["last"]
        bounds = Store.objects.aggregate(low=Min("pk"), high=Max("pk"))
        low, high = bounds["low"] or 0, (bounds["high"] or -1) + 1
        run = SettlementRun.objects.create(
            cutoff=cutoff,
            scan_from=previous - LOOKBACK if previous else None,
            chunk_size=chunk_size,
            started_by=started_by,
            started_by_process=process[:64],
        )
        chunks = [
            SettlementChunk(
                run=run, index=index, from_store_id=start, to_store_id=min(start + chunk_size, high)
            )
            for index, start in enumerate(range(low, high, chunk_size))
        ]
        SettlementChunk.objects.bulk_create(chunks)
        SettlementRun.objects.filter(pk=run.pk).update(chunks_total=len(chunks))
    else:
        SettlementRun.objects.filter(pk=run.pk).update(status=SettlementRunStatus.RUNNING)
    run.refresh_from_db()
    if enqueue is not None:
        run_id = run.pk
        transaction.on_commit(lambda: enqueue(run_id))
    return run


def pending_chunks(*, run_id: int) -> list[int]:
    return list(
        SettlementChunk.objects.filter(run_id=run_id, done=False)
        .order_by("index")
        .values_list("pk", flat=True)
    )


def _window(run: SettlementRun, column: str) -> tuple[str, list[dt.datetime]]:
    if run.scan_from is None:
        return f"{column} <= %s", [run.cutoff]
    return f"{column} > %s AND {column} <= %s", [run.scan_from, run.cutoff]


def stage_lines(*, run_id: int) -> int:
    """Step 1: make every unsettled purchase and reversal up to the cut-off a line of this run.

    Returns the lines staged (0 when the run was staged already). Rows are inserted in
    purchase-id order, so two runs staging at once take their row locks in the same order."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                run = SettlementRun.objects.select_for_update().get(pk=run_id)
                if run.staged:
                    return 0
                staged = 0
                with connection.cursor() as cursor:
                    for kind, sign, time_column, extra in (
                        ("purchase", "", "p.created_at", ""),
                        ("reversal", "-", "p.reversed_at", "p.reversed_at IS NOT NULL AND "),
                    ):
                        window, params = _window(run, time_column)
                        cursor.execute(
                            "INSERT INTO settlements_settlementline "
                            "(run_id, store_id, purchase_id, kind, amount_rial, occurred_at) "
                            f"SELECT %s, p.store_id, p.id, %s, {sign}(p.credit_rial + p.compensation_rial), "
                            f"{time_column} FROM stores_purchase p WHERE {extra}{window} "
                            "AND NOT EXISTS (SELECT 1 FROM settlements_settlementline l "
                            "WHERE l.purchase_id = p.id AND l.kind = %s) "
                            "ORDER BY p.id ON CONFLICT (purchase_id, kind) DO NOTHING",
                            [run_id, kind, *params, kind],
                        )
                        staged += max(cursor.rowcount, 0)
                SettlementRun.objects.filter(pk=run_id).update(
                    staged=True, lines_total=F("lines_total") + staged
                )
                return staged
        except OperationalError as exc:
            logger.warning("settlement %s staging attempt %s: %s", run_id, attempt, exc)
            if attempt == CHUNK_ATTEMPTS:
                _record_failure(run_id=run_id, exc=exc)
                raise
        except DatabaseError as exc:
            _record_failure(run_id=run_id, exc=exc)
            raise
    return 0


@dataclass(frozen=True)
class ChunkTotals:
    settlements: int
    amount_rial: int


def lock_stores(*, low: int, high: int) -> None:
    """Take the row locks of the stores ``[low, high)`` in id order (PostgreSQL; SQLite's single
    writer serialises the whole transaction instead)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM stores_store WHERE id >= %s AND id < %s ORDER BY id FOR NO KEY UPDATE",
            [low, high],
        )


def settle_store_range(*, run: SettlementRun, low: int, high: int, process: str) -> ChunkTotals:
    """Step 2 for stores ``[low, high)``, in the caller's transaction (the stores are locked here).

    One settlement per store with lines in this run or a failed payout waiting; amounts are
    the lines plus every amount waiting to be carried (a negative net, a failed payout)."""
    lock_stores(low=low, high=high)
    now = timezone.now()
    clearing = system_account(kind=AccountKind.SETTLEMENT_CLEARING)
    memo = f"تسویه فروشگاه تا {format_jalali_datetime(run.cutoff)}"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {STAGE_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE_TABLE} (store_id bigint PRIMARY KEY, "
            "purchase_count bigint NOT NULL, reversal_count bigint NOT NULL, "
            "purchases_rial bigint NOT NULL, reversals_rial bigint NOT NULL, "
            "carried_in_rial bigint NOT NULL)"
        )
        # The run's lines and the amounts waiting to be carried, per store. A store with only a
        # negative amount waiting and nothing new gets no settlement: it would only carry it on.
        cursor.execute(
            f"INSERT INTO {STAGE_TABLE} SELECT x.store_id, SUM(x.pc), SUM(x.rc), SUM(x.pr), "
            "SUM(x.rr), SUM(x.ci) FROM ("
            "SELECT l.store_id, CASE WHEN l.kind = 'purchase' THEN 1 ELSE 0 END AS pc, "
            "CASE WHEN l.kind = 'reversal' THEN 1 ELSE 0 END AS rc, "
            "CASE WHEN l.kind = 'purchase' THEN l.amount_rial ELSE 0 END AS pr, "
            "CASE WHEN l.kind = 'reversal' THEN l.amount_rial ELSE 0 END AS rr, "
            "0 AS ci, 0 AS failed FROM settlements_settlementline l "
            "WHERE l.run_id = %s AND l.store_id >= %s AND l.store_id < %s "
            "UNION ALL SELECT s.store_id, 0, 0, 0, 0, s.amount_rial, "
            "CASE WHEN s.status = 'failed' THEN 1 ELSE 0 END FROM settlements_storesettlement s "
            "WHERE s.store_id >= %s AND s.store_id < %s AND s.status IN ('carried', 'failed') "
            "AND s.carried_into_id IS NULL AND s.run_id <> %s"
            ") x WHERE NOT EXISTS (SELECT 1 FROM settlements_storesettlement d "
            "WHERE d.run_id = %s AND d.store_id = x.store_id) "
            "GROUP BY x.store_id HAVING SUM(x.pc) + SUM(x.rc) > 0 OR MAX(x.failed) = 1",
            [run.pk, low, high, low, high, run.pk, run.pk],
        )
        cursor.execute(
            "INSERT INTO settlements_storesettlement (run_id, store_id, cutoff, sheba, owner_name, "
            "owner_national_code, purchase_count, reversal_count, purchases_rial, reversals_rial, "
            "carried_in_rial, amount_rial, status, bank_reference, failure_reason, created_at) "
            "SELECT %s, b.store_id, %s, st.sheba, st.owner_name, st.owner_national_code, "
            "b.purchase_count, b.reversal_count, b.purchases_rial, b.reversals_rial, b.carried_in_rial, "
            "b.purchases_rial + b.reversals_rial + b.carried_in_rial, "
            "CASE WHEN b.purchases_rial + b.reversals_rial + b.carried_in_rial <= 0 THEN 'carried' "
            "WHEN st.status = 'suspended' THEN 'held' ELSE 'draft' END, '', '', %s "
            f"FROM {STAGE_TABLE} b JOIN stores_store st ON st.id = b.store_id ORDER BY b.store_id",
            [run.pk, run.cutoff, now],
        )
        created = max(cursor.rowcount, 0)
        if not created:
            return ChunkTotals(0, 0)
        # What waited is now inside the new settlements' amounts.
        cursor.execute(
            "UPDATE settlements_storesettlement SET carried_into_id = (SELECT n.id FROM "
            "settlements_storesettlement n WHERE n.run_id = %s AND n.store_id = settlements_storesettlement.store_id) "
            "WHERE store_id >= %s AND store_id < %s AND status IN ('carried', 'failed') "
            "AND carried_into_id IS NULL AND run_id <> %s "
            f"AND store_id IN (SELECT store_id FROM {STAGE_TABLE})",
            [run.pk, low, high, run.pk],
        )
        cursor.execute(
            "SELECT COALESCE(SUM(amount_rial), 0) FROM settlements_storesettlement "
            "WHERE run_id = %s AND store_id >= %s AND store_id < %s AND amount_rial > 0",
            [run.pk, low, high],
        )
        owed = int(cursor.fetchone()[0])
        # Store payable → settlement clearing for every positive amount, both legs in one statement.
        # The settlements were created just above, once per (run, store): their keys are new, and
        # filed under this month (settlements.services.partitions).
        period = period_of(now)
        cursor.execute(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, created_at, period) "
            "SELECT 'settlement', 'settlement:' || CAST(s.id AS varchar(20)), %s, %s, %s, %s "
            "FROM settlements_storesettlement s WHERE s.run_id = %s AND s.store_id >= %s "
            "AND s.store_id < %s AND s.amount_rial > 0 ORDER BY s.id",
            [process[:64], memo, now, period, run.pk, low, high],
        )
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            "SELECT e.id, a.id, -s.amount_rial, e.period FROM settlements_storesettlement s "
            "JOIN settlements_journalentry e ON e.idempotency_key = 'settlement:' || CAST(s.id AS varchar(20)) "
            "AND e.period = %s "
            "JOIN settlements_account a ON a.store_id = s.store_id AND a.kind = 'store_payable' "
            "WHERE s.run_id = %s AND s.store_id >= %s AND s.store_id < %s AND s.amount_rial > 0 "
            "UNION ALL SELECT e.id, %s, s.amount_rial, e.period FROM settlements_storesettlement s "
            "JOIN settlements_journalentry e ON e.idempotency_key = 'settlement:' || CAST(s.id AS varchar(20)) "
            "AND e.period = %s "
            "WHERE s.run_id = %s AND s.store_id >= %s AND s.store_id < %s AND s.amount_rial > 0",
            [period, run.pk, low, high, clearing.pk, period, run.pk, low, high],
        )
    return ChunkTotals(created, owed)


def execute_chunk(*, chunk_id: int) -> bool:
    """Settle one chunk of stores, exactly once (False if it was done). Needs the run staged.
    Transient database errors (deadlock, lock timeout) are retried a bounded number of times."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                chunk = (
                    SettlementChunk.objects.select_for_update(of=("self",))
                    .select_related("run")
                    .get(pk=chunk_id)
                )
                if chunk.done:
                    return False
                if not chunk.run.staged:
                    raise RuntimeError(f"settlement run {chunk.run_id} is not staged yet")
                totals = settle_store_range(
                    run=chunk.run,
                    low=chunk.from_store_id,
                    high=chunk.to_store_id,
                    process=f"settlement:{chunk.run_id}",
                )
                SettlementChunk.objects.filter(pk=chunk.pk).update(
                    done=True,
                    settlements=totals.settlements,
                    amount_rial=totals.amount_rial,
                    attempts=F("attempts") + 1,
                    last_error="",
                    finished_at=timezone.now(),
                )
                SettlementRun.objects.filter(pk=chunk.run_id).update(
                    chunks_done=F("chunks_done") + 1,
                    settlements_total=F("settlements_total") + totals.settlements,
                    amount_rial=F("amount_rial") + totals.amount_rial,
                )
            finish_if_complete(run_id=chunk.run_id)
            return True
        except OperationalError as exc:
            logger.warning("settlement chunk %s attempt %s: %s", chunk_id, attempt, exc)
            if attempt == CHUNK_ATTEMPTS:
                _record_failure(run_id=None, chunk_id=chunk_id, exc=exc)
                raise
        except DatabaseError as exc:
            _record_failure(run_id=None, chunk_id=chunk_id, exc=exc)
            raise
    return False


def _record_failure(*, run_id: int | None, exc: Exception, chunk_id: int | None = None) -> None:
    """A step gave up: the run is marked failed (starting it again resumes it); the error is kept."""
    with transaction.atomic():
        if chunk_id is not None:
            chunk = SettlementChunk.objects.filter(pk=chunk_id).first()
            if chunk is None:
                return
            run_id = chunk.run_id
            SettlementChunk.objects.filter(pk=chunk_id).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:2000]
            )
        if run_id is None:
            return
        SettlementRun.objects.filter(pk=run_id).update(
            failures=F("failures") + 1,
            last_error=str(exc)[:2000],
            status=SettlementRunStatus.FAILED,
        )


def finish_if_complete(*, run_id: int) -> bool:
    """Mark the run completed once it is staged and every chunk is done (listeners hear of it
    after the commit: the programme figures refresh)."""
    with transaction.atomic():
        finished = SettlementRun.objects.filter(
            pk=run_id,
            status=SettlementRunStatus.RUNNING,
            staged=True,
            chunks_done__gte=F("chunks_total"),
        ).update(status=SettlementRunStatus.COMPLETED, finished_at=timezone.now())
        if finished:
            transaction.on_commit(
                partial(run_finished.send_robust, sender=SettlementRun, kind="store_settlement")
            )
    return bool(finished)
