"""Celery tasks of the money core: thin wrappers that take ids and call a service."""

import datetime as dt
import logging

from celery import Task, shared_task
from django.conf import settings
from django.db import IntegrityError, OperationalError
from django.utils import timezone

from kalabarg.lib.persian import jalali_month_key
from settlements.models import Cycle, CycleStatus, RunKind
from settlements.services import (
    anomalies,
    bonus,
    coverage,
    partitions,
    reconcile,
    rules,
    runs,
    store_settlement,
)

logger = logging.getLogger(__name__)


def enqueue_chunks(chunk_ids: list[int]) -> None:
    """Queue every chunk of a run on the batch queue (called on commit)."""
    for chunk_id in chunk_ids:
        run_chunk.delay(chunk_id)


@shared_task(
    name="settlements.tasks.run_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_chunk(chunk_id: int) -> bool:
    """One chunk of a credit run, bonus sweep or expiry; idempotent, so a redelivery is harmless."""
    return runs.execute_chunk(chunk_id=chunk_id)


@shared_task(
    name="settlements.tasks.run_monthly_charge",
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_monthly_charge() -> int | None:
    """Beat, daily just after midnight: charge this Jalali month's cycle unless it is charged already.

    Daily rather than monthly because crontab knows no Jalali months; on every day but the
    first of a month (or after a failed night) it finds the cycle open and does nothing."""
    cycle = rules.ensure_cycle(key=jalali_month_key(timezone.localdate()))
    if cycle.status in (CycleStatus.OPEN, CycleStatus.CLOSED):
        return None
    return runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, enqueue=enqueue_chunks).pk


@shared_task(name="settlements.tasks.resume_stalled_runs")
def resume_stalled_runs() -> list[int]:
    """Beat, every minute (default queue): queue again the undone chunks of runs that went quiet
    for ``RUN_STALL_SECONDS`` while no batch node worked — chunks lost with a dead worker node."""
    return runs.resume_stalled_runs(
        quiet_for=dt.timedelta(seconds=settings.RUN_STALL_SECONDS), enqueue=enqueue_chunks
    )


@shared_task(
    name="settlements.tasks.run_bonus_sweep",
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_bonus_sweep() -> list[int]:
    """Beat, nightly: grant any bonus the instant path missed, for every open cycle."""
    return [
        runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle, enqueue=enqueue_chunks).pk
        for cycle in Cycle.objects.filter(status=CycleStatus.OPEN).select_related("phase")
    ]


@shared_task(
    name="settlements.tasks.grant_bonus",
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
)
def grant_bonus(household_id: int, cycle_id: int) -> int:
    """Queued on commit by a purchase that may have crossed the bonus threshold."""
    cycle = Cycle.objects.select_related("phase").get(pk=cycle_id)
    return bonus.grant_bonus_if_earned(household_id=household_id, cycle=cycle)


@shared_task(
    name="settlements.tasks.charge_newly_covered",
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
)
def charge_newly_covered(household_id: int, effective_from: str) -> int:
    """Queued on commit by a decile decision: the credit of the open cycles it newly covers.

    A race with the monthly run's chunk ends in a unique-key violation; the retry finds it posted."""
    return coverage.charge_newly_covered(
        household_id=household_id, effective_from=dt.date.fromisoformat(effective_from)
    )


@shared_task(
    name="settlements.tasks.charge_late_entrants", acks_late=True, reject_on_worker_lost=True
)
def charge_late_entrants() -> int:
    """Beat, nightly: the cycle's credit to households covered during it that hold none yet."""
    households, _ = coverage.charge_late_entrants()
    return households


@shared_task(name="settlements.tasks.reconcile_ledger")
def reconcile_ledger() -> bool:
    """Beat, nightly: check every invariant and store the closed days' digests."""
    report = reconcile.reconcile()
    for breach in report.breaches:
        logger.error("ledger breach: %s", breach)
    return report.ok


@shared_task(name="settlements.tasks.roll_up_balances")
def roll_up_balances() -> int:
    return reconcile.roll_up_balances()


@shared_task(name="settlements.tasks.ensure_ledger_months")
def ensure_ledger_months() -> list[str]:
    """Beat, nightly: the money tables' partitions of this month and the next ones, created ahead."""
    created = partitions.ensure_months()
    if created:
        logger.info("money table partitions created: %s", ", ".join(created))
    return created


# --- Store settlements ------------------------------------------------------------------------


def enqueue_settlement(run_id: int) -> None:
    """Queue a settlement run's staging (which then queues its chunks); called on commit."""
    stage_settlement.delay(run_id)


@shared_task(
    name="settlements.tasks.run_store_settlement",
    acks_late=True,
    reject_on_worker_lost=True,
)
def run_store_settlement() -> int:
    """Beat, nightly: settle every store up to last midnight (and resume any unfinished run)."""
    run = store_settlement.launch_settlement(
        process="beat:settle_stores", enqueue=enqueue_settlement
    )
    return run.pk


@shared_task(
    bind=True,
    name="settlements.tasks.run_settlement_stage",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def stage_settlement(self: Task, run_id: int) -> int:
    """Stage the run's lines (once), then queue every chunk not done, on the queue this came by."""
    staged = store_settlement.stage_lines(run_id=run_id)
    # The chunks follow the run's queue (``batch`` by the routes; a test worker's own queue).
    queue = (self.request.delivery_info or {}).get("routing_key") or "batch"
    for chunk_id in store_settlement.pending_chunks(run_id=run_id):
        settle_chunk.apply_async(args=(chunk_id,), queue=queue)
    store_settlement.finish_if_complete(run_id=run_id)
    return staged


@shared_task(
    name="settlements.tasks.run_settlement_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    retry_backoff_max=120,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def settle_chunk(chunk_id: int) -> bool:
    """One chunk of stores of a settlement run; idempotent, so a redelivery is harmless."""
    return store_settlement.execute_chunk(chunk_id=chunk_id)


# --- Store anomaly flags ----------------------------------------------------------------------


@shared_task(
    name="settlements.tasks.flag_store_anomalies",
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=3,
    acks_late=True,
    reject_on_worker_lost=True,
)
def flag_store_anomalies() -> dict[str, int]:
    """Beat, nightly (batch queue, ``kalabarg.celery``): flag the stores whose purchases of
    yesterday (Tehran) show an anomaly.

    Idempotent (a store's open flag of a kind is never raised twice), so a retry or a
    redelivery after a lost worker repeats nothing."""
    yesterday = anomalies.tehran_yesterday()
    return anomalies.flag_store_anomalies(day_from=yesterday, day_to=yesterday).by_kind()
