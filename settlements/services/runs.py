"""National batch runs: the monthly credit charge, the nightly bonus sweep and phase-end expiry.

A run is a row with progress; its work is split into household-id ranges (chunks). Each chunk
is one transaction of a few set-based statements (``INSERT … SELECT`` into a batch table, then
``post_batch``), never a Python object per household. Chunks are idempotent twice over: a done
chunk is skipped, and the entries' unique keys mean even a chunk executed twice (a killed
worker's redelivered task) posts nothing twice.
"""

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import DatabaseError, OperationalError, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from households.models import Household
from kalabarg.lib.errors import field_error
from settlements.models import (
    CreditRun,
    Cycle,
    CycleStatus,
    EntryKind,
    Phase,
    RunChunk,
    RunKind,
    RunStatus,
    UnspentPolicy,
)
from settlements.services import partitions
from settlements.services.ledger import entry_period
from settlements.services.run_work import execute_work
from settlements.signals import bonus_granted, run_finished

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000
CHUNK_ATTEMPTS = 3


def execute_range(*, run: CreditRun, low: int, high: int) -> tuple[int, int, int]:
    """Do a run's work for households ``[low, high)`` in the caller's transaction.

    Returns (households considered, households credited or debited, amount).
    """
    return execute_work(
        kind=run.kind,
        cycle=run.cycle,
        phase=run.phase,
        run_id=run.pk,
        process=f"{run.kind}:{run.pk}",
        low=low,
        high=high,
    )


# --- Runs -----------------------------------------------------------------------------------------


# Why a cycle's charge must not start; the admin shows these to officers word for word.
CYCLE_NOT_STARTED = "این ماه هنوز آغاز نشده است؛ اعتبار هر دوره از نخستین روز همان ماه شارژ می‌شود."
CYCLE_CLOSED = "این دوره بسته شده است و دوباره شارژ نمی‌شود."


def validate_month_started(*, starts_on: dt.date) -> None:
    """Refuse a charge of a month that has not begun: it would hand out next month's credit early.

    Apart from ``validate_run`` so that the admin can refuse a month by its key before the
    cycle row exists."""
    if starts_on > timezone.localdate():
        raise field_error(field="cycle", message=CYCLE_NOT_STARTED, code="cycle_not_started")


def validate_run(
    *,
    kind: str,
    cycle: Cycle | None = None,
    phase: Phase | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> None:
    """Every reason a run of ``kind`` over ``cycle`` or ``phase`` must not start (or resume) now.

    ``start_run`` asks it first; the admin asks it before it asks the officer for a reason.
    A charge of a closed cycle would reopen it next to the current one
    (``finish_run_if_complete`` opens the cycle it charged)."""
    if kind in (RunKind.CYCLE_CHARGE, RunKind.BONUS_SWEEP) and cycle is None:
        raise field_error(field="cycle", message="دوره را مشخص کنید", code="cycle_required")
    if kind == RunKind.EXPIRY:
        if phase is None:
            raise field_error(field="phase", message="مرحله را مشخص کنید", code="phase_required")
        if phase.unspent_policy != UnspentPolicy.EXPIRE:
            raise field_error(
                field="phase",
                message="در این مرحله اعتبار خرج‌نشده به دوره بعد منتقل می‌شود",
                code="phase_carries_over",
            )
        if phase.ends_on is None or phase.ends_on >= timezone.localdate():
            raise field_error(
                field="phase", message="این مرحله هنوز پایان نیافته است", code="phase_not_ended"
            )
    if kind == RunKind.CYCLE_CHARGE and cycle is not None:
        validate_month_started(starts_on=cycle.starts_on)
        if cycle.status == CycleStatus.CLOSED:
            raise field_error(field="cycle", message=CYCLE_CLOSED, code="cycle_closed")
    if chunk_size < 1:
        raise field_error(
            field="chunk_size", message="اندازه بخش باید مثبت باشد", code="chunk_size_invalid"
        )


def launch_run(
    *,
    kind: str,
    cycle: Cycle | None = None,
    phase: Phase | None = None,
    started_by: User | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    inline: bool | None = None,
    enqueue: Callable[[list[int]], None],
) -> CreditRun:
    """Start (or resume) a run and get its chunks done: here, or by the workers.

    ``inline`` (``None``: whenever Celery is eager, as in the embedded set-up with no broker)
    runs every pending chunk in this process, one transaction each, and returns the finished
    run; a chunk's database error is recorded on the run and raised. Otherwise ``enqueue``
    (the caller's ``tasks.enqueue_chunks``: services never import tasks) gets the chunks on commit.
    """
    if inline is None:
        inline = bool(settings.CELERY_TASK_ALWAYS_EAGER)
    run = start_run(
        kind=kind,
        cycle=cycle,
        phase=phase,
        started_by=started_by,
        chunk_size=chunk_size,
        enqueue=None if inline else enqueue,
    )
    return run_inline(run=run) if inline else run


@transaction.atomic
def start_run(
    *,
    kind: str,
    cycle: Cycle | None = None,
    phase: Phase | None = None,
    started_by: User | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    enqueue: Callable[[list[int]], None] | None = None,
) -> CreditRun:
    """Start a run (or resume the unfinished one of the same kind and target) and queue its chunks on commit."""
    validate_run(kind=kind, cycle=cycle, phase=phase, chunk_size=chunk_size)
    run = (
        CreditRun.objects.select_for_update()
        .filter(
            kind=kind,
            cycle=cycle,
            phase=phase,
            status__in=[RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED],
        )
        .first()
    )
    if run is None:
        bounds = Household.objects.aggregate(low=Min("pk"), high=Max("pk"))
        low, high = bounds["low"] or 0, (bounds["high"] or -1) + 1
        run = CreditRun.objects.create(
            kind=kind,
            cycle=cycle,
            phase=phase,
            chunk_size=chunk_size,
            first_household_id=low,
            last_household_id=high - 1,
            started_by=started_by,
        )
        chunks = [
            RunChunk(
                run=run,
                index=index,
                from_household_id=start,
                to_household_id=min(start + chunk_size, high),
            )
            for index, start in enumerate(range(low, high, chunk_size))
        ]
        RunChunk.objects.bulk_create(chunks)
        run.chunks_total = len(chunks)
    run.status = RunStatus.RUNNING
    run.started_at = run.started_at or timezone.now()
    run.progress_at = timezone.now()
    run.save(update_fields=["chunks_total", "status", "started_at", "progress_at"])
    if kind == RunKind.CYCLE_CHARGE and cycle is not None and cycle.status == CycleStatus.PLANNED:
        Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CHARGING)
    pending = list(run.chunks.filter(done=False).order_by("index").values_list("pk", flat=True))
    if not pending:
        transaction.on_commit(lambda: finish_run_if_complete(run_id=run.pk))
    elif enqueue is not None:
        transaction.on_commit(lambda: enqueue(pending))
    return run


def execute_chunk(*, chunk_id: int) -> bool:
    """Do one chunk, exactly once. Returns False if it was already done. Transient database
    errors (deadlock, serialization, lock timeout, a dropped connection) are retried a bounded
    number of times.

    Whether it did the chunk or found it done, it then checks whether the run is complete: a
    connection lost after the chunk's commit (during the statistics or that check) leaves the
    finishing to the retry or the redelivery, which finds the chunk done; without the check there
    a run whose last chunk was cut so would stay running."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                chunk = (
                    RunChunk.objects.select_for_update(of=("self",))
                    .select_related("run__cycle__phase", "run__phase")
                    .get(pk=chunk_id)
                )
                did = not chunk.done
                if did:
                    _do_chunk(chunk)
            if did and chunk.index & (chunk.index + 1) == 0:
                # After chunks 1, 2, 4, 8, …: the statistics keep up with the month's partition
                # as it doubles (partitions.analyse_month).
                partitions.analyse_month(period=run_period(run=chunk.run))
            finish_run_if_complete(run_id=chunk.run_id)
            return did
        except OperationalError as exc:
            logger.warning("chunk %s attempt %s failed transiently: %s", chunk_id, attempt, exc)
            if attempt == CHUNK_ATTEMPTS:
                record_chunk_failure(chunk_id=chunk_id, exc=exc)
                raise
        except DatabaseError as exc:
            record_chunk_failure(chunk_id=chunk_id, exc=exc)
            raise
    return False


def _do_chunk(chunk: RunChunk) -> None:
    """The chunk's work and its bookkeeping, in the caller's transaction (the chunk row locked)."""
    considered, entries, amount = execute_range(
        run=chunk.run, low=chunk.from_household_id, high=chunk.to_household_id
    )
    RunChunk.objects.filter(pk=chunk.pk).update(
        done=True,
        households=considered,
        entries_created=entries,
        amount_rial=amount,
        attempts=F("attempts") + 1,
        last_error="",
        finished_at=timezone.now(),
    )
    CreditRun.objects.filter(pk=chunk.run_id).update(
        chunks_done=F("chunks_done") + 1,
        households_total=F("households_total") + considered,
        entries_created=F("entries_created") + entries,
        amount_rial=F("amount_rial") + amount,
        progress_at=timezone.now(),
    )
    if entries and chunk.run.kind == RunKind.BONUS_SWEEP and chunk.run.cycle_id:
        # On commit, like the instant bonus: listeners (the SMS) never see a rollback.
        transaction.on_commit(
            partial(
                bonus_granted.send_robust,
                sender=Cycle,
                cycle_id=chunk.run.cycle_id,
                low=chunk.from_household_id,
                high=chunk.to_household_id,
            )
        )


def record_chunk_failure(*, chunk_id: int, exc: Exception) -> None:
    """A chunk gave up: the run is marked failed (starting it again resumes it); the error is kept."""
    with transaction.atomic():
        chunk = RunChunk.objects.filter(pk=chunk_id).first()
        if chunk is None:
            return
        RunChunk.objects.filter(pk=chunk_id).update(
            attempts=F("attempts") + 1, last_error=str(exc)[:2000]
        )
        CreditRun.objects.filter(pk=chunk.run_id).update(
            failures=F("failures") + 1, last_error=str(exc)[:2000], status=RunStatus.FAILED
        )


def run_period(*, run: CreditRun) -> dt.date:
    """The month a run's entries are filed under (``ledger.entry_period``)."""
    kind = {
        RunKind.CYCLE_CHARGE: EntryKind.CYCLE_CHARGE,
        RunKind.BONUS_SWEEP: EntryKind.BONUS,
        RunKind.EXPIRY: EntryKind.EXPIRY,
    }[RunKind(run.kind)]
    return entry_period(kind=kind, cycle=run.cycle, purchase=None, moment=timezone.now())


def finish_run_if_complete(*, run_id: int) -> bool:
    """Mark the run completed once every chunk is done; a finished charge opens its cycle.

    A failed run too: a chunk that gave up marks its run failed, but its task is retried
    (``settlements.tasks.run_chunk``), and once the retry has done it nothing is left undone. The
    failure stays counted (``failures``, ``last_error``) for the officer."""
    with transaction.atomic():
        finished = CreditRun.objects.filter(
            pk=run_id,
            status__in=(RunStatus.RUNNING, RunStatus.FAILED),
            chunks_done__gte=F("chunks_total"),
        ).update(status=RunStatus.COMPLETED, finished_at=timezone.now())
        if not finished:
            return False
        run = CreditRun.objects.select_related("cycle").get(pk=run_id)
        # The figures' refresh (run_finished) plans its reads on what the run wrote.
        partitions.analyse_month(period=run_period(run=run))
        transaction.on_commit(partial(run_finished.send_robust, sender=CreditRun, kind=run.kind))
        if run.kind == RunKind.CYCLE_CHARGE and run.cycle is not None:
            # The newest charged cycle is the open one; an older cycle charged late stays closed.
            newer_open = Cycle.objects.filter(
                status=CycleStatus.OPEN, starts_on__gt=run.cycle.starts_on
            )
            if newer_open.exists():
                Cycle.objects.filter(pk=run.cycle.pk).update(status=CycleStatus.CLOSED)
            else:
                Cycle.objects.filter(
                    status=CycleStatus.OPEN, starts_on__lt=run.cycle.starts_on
                ).update(status=CycleStatus.CLOSED)
                Cycle.objects.filter(pk=run.cycle.pk).update(status=CycleStatus.OPEN)
    return True


def resume_stalled_runs(
    *, quiet_for: dt.timedelta, enqueue: Callable[[list[int]], None]
) -> list[int]:
    """Resume every running run that lost chunks with a dead worker node; returns their ids.

    A chunk's task is acknowledged only when it ends (``acks_late``), so a node killed mid-chunk
    leaves its message with the broker, which gives it back only after its visibility timeout
    (hours: it must exceed the longest task). Meanwhile the run shows no sign of life. A run is
    taken as stalled when it has been quiet for ``quiet_for`` (nothing queued, no chunk done)
    **and** no chunk of any run finished in that time: the batch nodes are idle, so whatever
    chunk is still undone is nobody's. Each such run is started again (``start_run``'s resume):
    its undone chunks are queued once more and its ``progress_at`` restarts the clock, so a run
    with no live node to take it is re-queued once per ``quiet_for``, not every beat. A chunk
    queued twice is harmless: the second finds it done (or waits on its row lock) and posts
    nothing. ``quiet_for`` must exceed the longest chunk (``RUN_STALL_SECONDS``)."""
    cutoff = timezone.now() - quiet_for
    if RunChunk.objects.filter(finished_at__gte=cutoff).exists():
        return []  # some batch node is working: a run behind it in the queue is waiting, not lost
    stalled = (
        CreditRun.objects.filter(status=RunStatus.RUNNING, started_at__lt=cutoff)
        .exclude(progress_at__gte=cutoff)
        .select_related("cycle__phase", "phase")
        .order_by("pk")
    )
    resumed = []
    for run in stalled:
        try:
            start_run(kind=run.kind, cycle=run.cycle, phase=run.phase, enqueue=enqueue)
        except ValidationError as exc:  # e.g. its cycle was closed meanwhile: an officer decides
            logger.error("stalled run %s not resumed: %s", run.pk, exc)
            continue
        logger.warning(
            "run %s was quiet for %s; its undone chunks are queued again", run.pk, quiet_for
        )
        resumed.append(run.pk)
    return resumed


def run_inline(*, run: CreditRun) -> CreditRun:
    """Execute every pending chunk in this process (management commands in eager mode, tests)."""
    for chunk_id in run.chunks.filter(done=False).order_by("index").values_list("pk", flat=True):
        execute_chunk(chunk_id=chunk_id)
    finish_run_if_complete(run_id=run.pk)
    run.refresh_from_db()
    return run
