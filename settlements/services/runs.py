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
from django.db import DatabaseError, OperationalError, connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from households.models import Household
from kalabarg.lib.errors import field_error
from settlements.models import (
    AccountKind,
    CreditBasis,
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
from settlements.selectors import (
    BONUS_IN_FORCE_SQL,
    BONUS_TAKEN_BACK_SQL,
    CYCLE_SPEND_SQL,
    SPEND_ENTRY_SQL,
)
from settlements.services.ledger import BATCH_TABLE, create_batch_table, post_batch, system_account
from settlements.signals import bonus_granted

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 50_000
CHUNK_ATTEMPTS = 3

# The decile of each household on a day, and its members counted on that day, as correlated
# subqueries (indexed: decile_household_effective_idx, person household FK); they run the same
# on PostgreSQL and SQLite.
_DECILE_ON = (
    "(SELECT d.decile FROM households_decileassignment d WHERE d.household_id = {h} AND d.effective_from <= %s "
    "ORDER BY d.effective_from DESC, d.id DESC LIMIT 1)"
)
_MEMBERS_ON = (
    "(SELECT count(*) FROM households_person p WHERE p.household_id = {h} "
    "AND (p.birth_date IS NULL OR p.birth_date <= %s))"
)


def _band_case(phase: Phase, column: str) -> tuple[str, list[int]]:
    """``CASE WHEN decile BETWEEN a AND b THEN amount … ELSE 0 END`` for the phase's bands."""
    parts, params = [], []
    for band in phase.bands.all():
        parts.append("WHEN x.decile BETWEEN %s AND %s THEN %s")
        params += [band.min_decile, band.max_decile, getattr(band, column)]
    if not parts:
        return "0", []
    return "CASE " + " ".join(parts) + " ELSE 0 END", params


def _factor(phase: Phase) -> str:
    return "x.members" if phase.basis == CreditBasis.PER_MEMBER else "1"


def _fill_charge_batch(cycle: Cycle, low: int, high: int) -> int:
    """Every household in ``[low, high)`` not yet charged this cycle, with its amount by band and basis.

    Deciles and members come from two range scans (window function, GROUP BY) rather than a
    probe per household; the same SQL runs on PostgreSQL and SQLite (>= 3.25)."""
    phase = cycle.phase
    amount_case, amount_params = _band_case(phase, "credit_per_cycle_rial")
    sql = (
        f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "
        f"SELECT x.id, ({amount_case}) * {_factor(phase)}, CAST(%s AS varchar(40)) || CAST(x.id AS varchar(20)) FROM ("
        "SELECT d.household_id AS id, d.decile, COALESCE(m.members, 0) AS members FROM ("
        "SELECT household_id, decile, ROW_NUMBER() OVER (PARTITION BY household_id ORDER BY effective_from DESC, id DESC) AS rn "
        "FROM households_decileassignment WHERE household_id >= %s AND household_id < %s AND effective_from <= %s) d "
        "LEFT JOIN (SELECT household_id, COUNT(*) AS members FROM households_person "
        "WHERE household_id >= %s AND household_id < %s AND (birth_date IS NULL OR birth_date <= %s) "
        "GROUP BY household_id) m ON m.household_id = d.household_id "
        "WHERE d.rn = 1 AND NOT EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.household_id = d.household_id "
        "AND e.cycle_id = %s AND e.kind = 'cycle_charge')) x"
    )
    params: list[int | str | dt.date] = [
        *amount_params,
        f"charge:{cycle.key}:",
        low,
        high,
        cycle.starts_on,
        low,
        high,
        cycle.starts_on,
        cycle.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _bonus_candidates(cycle: Cycle, low: int, high: int) -> tuple[str, list[int | str | dt.date]]:
    """A SELECT of (household, amount, key) for every household in ``[low, high)`` whose credit
    spent on the basket this cycle (net of reversals) reached the threshold and that holds no
    bonus in force (``selectors.BONUS_IN_FORCE_SQL``).

    The key is ``bonus:<cycle>:<household>`` for the first grant and ``…:<n>`` after ``n``
    bonuses were taken back by reversals: a grant earned again is a new entry, and the sweep and
    the instant task racing over the same grant compute the same key, so one of them posts."""
    phase = cycle.phase
    bonus_case, bonus_params = _band_case(phase, "bonus_amount_rial")
    threshold_case, threshold_params = _band_case(phase, "bonus_threshold_rial")
    factor = _factor(phase)
    sql = (
        f"SELECT x.id AS household_id, ({bonus_case}) * {factor} AS amount_rial, "
        "CAST(%s AS varchar(40)) || CAST(x.id AS varchar(20)) || "
        "CASE WHEN x.taken_back = 0 THEN '' ELSE ':' || CAST(x.taken_back AS varchar(20)) END "
        "AS idempotency_key FROM ("
        f"SELECT s.household_id AS id, s.spent, {_DECILE_ON.format(h='s.household_id')} AS decile, "
        f"{_MEMBERS_ON.format(h='s.household_id')} AS members, "
        "(SELECT COUNT(*) FROM settlements_journalentry e WHERE e.household_id = s.household_id "
        f"AND e.cycle_id = %s AND {BONUS_TAKEN_BACK_SQL}) AS taken_back FROM ("
        # Credit spent in the cycle: the one fragment (selectors.CYCLE_SPEND_SQL); its entry
        # predicate is repeated in WHERE so only purchase entries are read, not every charge.
        f"SELECT e.household_id, {CYCLE_SPEND_SQL} AS spent FROM settlements_journalentry e "
        "JOIN settlements_posting po ON po.entry_id = e.id "
        "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
        f"WHERE e.cycle_id = %s AND {SPEND_ENTRY_SQL} "
        "AND e.household_id >= %s AND e.household_id < %s GROUP BY e.household_id) s "
        "WHERE NOT EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.household_id = s.household_id "
        f"AND e.cycle_id = %s AND {BONUS_IN_FORCE_SQL})) x "
        f"WHERE x.decile IS NOT NULL AND ({threshold_case}) > 0 AND x.spent >= ({threshold_case}) * {factor}"
    )
    params: list[int | str | dt.date] = [
        *bonus_params,
        f"bonus:{cycle.key}:",
        cycle.starts_on,
        cycle.starts_on,
        cycle.pk,
        cycle.pk,
        low,
        high,
        cycle.pk,
        *threshold_params,
        *threshold_params,
    ]
    return sql, params


def _fill_bonus_batch(cycle: Cycle, low: int, high: int) -> int:
    """Households whose credit spent on the basket this cycle (net of reversals) reached the
    threshold and that hold no bonus in force.

    On PostgreSQL the candidates' wallets are then locked and the candidates read again: a POS
    reversal locks the wallet before it decides whether to take the bonus back, so either it
    committed first (and the second read sees the spend it took away, or the bonus it took back)
    or it waits for this grant and then takes it back. Without the second read a reversal in
    flight could leave a bonus with a household under the threshold."""
    select, params = _bonus_candidates(cycle, low, high)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) {select}",
            params,
        )
        considered = max(cursor.rowcount, 0)
        if considered and connection.vendor == "postgresql":
            cursor.execute(
                "SELECT id FROM settlements_account WHERE kind = 'wallet' AND household_id IN "
                f"(SELECT household_id FROM {BATCH_TABLE}) ORDER BY id FOR UPDATE"
            )
            cursor.execute(
                f"DELETE FROM {BATCH_TABLE} b WHERE NOT EXISTS (SELECT 1 FROM ({select}) c "
                "WHERE c.household_id = b.household_id AND c.idempotency_key = b.idempotency_key)",
                params,
            )
    return considered


# The unspent credit of one phase in a wallet, credit being spent oldest first (FIFO, phases in
# order of their start): the balance is made of the newest credit, so what is left of it after
# the credit granted under later phases is the ending phase's, up to what that phase granted.
# Granted means the wallet postings of every entry that is not spending (charges, bonuses, a
# bonus taken back, an expiry), placed by the entry's phase or else its cycle's; spending
# (purchases net of their reversals) and the credit of earlier phases (spent or expired) are seen
# through the balance. ``g`` has one row per household: ``balance``, ``granted`` (under the
# phase, net of its own expiry, so a re-run finds nothing) and ``later`` (under later phases).
UNSPENT_OF_PHASE_SQL = (
    "CASE WHEN g.balance - g.later <= 0 THEN 0 WHEN g.balance - g.later < g.granted "
    "THEN g.balance - g.later ELSE g.granted END"
)


def _fill_expiry_batch(phase: Phase, low: int, high: int) -> int:
    """The households in ``[low, high)`` holding credit granted under ``phase``, each with the part
    of it still unspent (``UNSPENT_OF_PHASE_SQL``); wallets are locked first so that no purchase
    moves them while they expire. Returns the households considered (those with a zero amount are
    dropped by ``post_batch``)."""
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM settlements_account WHERE kind = 'wallet' AND household_id >= %s AND household_id < %s "
            f"AND balance_rial > 0 ORDER BY id{lock}",
            [low, high],
        )
        cursor.execute(
            f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "
            f"SELECT g.household_id, {UNSPENT_OF_PHASE_SQL}, "
            "CAST(%s AS varchar(40)) || CAST(g.household_id AS varchar(20)) FROM ("
            "SELECT e.household_id, a.balance_rial AS balance, "
            "SUM(CASE WHEN ph.id = %s THEN po.amount_rial ELSE 0 END) AS granted, "
            "SUM(CASE WHEN ph.id = %s THEN 0 ELSE po.amount_rial END) AS later "
            "FROM settlements_journalentry e "
            "JOIN settlements_posting po ON po.entry_id = e.id "
            "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
            "LEFT JOIN settlements_cycle c ON c.id = e.cycle_id "
            "JOIN settlements_phase ph ON ph.id = COALESCE(e.phase_id, c.phase_id) "
            "WHERE e.household_id >= %s AND e.household_id < %s "
            f"AND NOT ({SPEND_ENTRY_SQL}) AND ph.starts_on >= %s "
            "GROUP BY e.household_id, a.balance_rial) g WHERE g.granted > 0",
            [f"expiry:{phase.pk}:", phase.pk, phase.pk, low, high, phase.starts_on],
        )
        return max(cursor.rowcount, 0)


def execute_range(*, run: CreditRun, low: int, high: int) -> tuple[int, int, int]:
    """Do a run's work for households ``[low, high)`` in the caller's transaction.

    Returns (households considered, entries created, amount).
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


def execute_work(
    *,
    kind: str,
    cycle: Cycle | None,
    phase: Phase | None,
    run_id: int | None,
    process: str,
    low: int,
    high: int,
) -> tuple[int, int, int]:
    """The set-based work of one kind for households ``[low, high)``, in the caller's transaction."""
    create_batch_table()
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    if kind == RunKind.CYCLE_CHARGE and cycle is not None:
        considered = _fill_charge_batch(cycle, low, high)
        totals = post_batch(
            kind=EntryKind.CYCLE_CHARGE, fund=fund, to_wallet=True, cycle_id=cycle.pk, phase_id=cycle.phase_id,
            run_id=run_id, process=process, memo=f"شارژ دوره {cycle.key}",
        )  # fmt: skip
    elif kind == RunKind.BONUS_SWEEP and cycle is not None:
        considered = _fill_bonus_batch(cycle, low, high)
        totals = post_batch(
            kind=EntryKind.BONUS, fund=fund, to_wallet=True, cycle_id=cycle.pk, phase_id=cycle.phase_id,
            run_id=run_id, process=process, memo=f"اعتبار مضاعف دوره {cycle.key}",
        )  # fmt: skip
    elif kind == RunKind.EXPIRY and phase is not None:
        considered = _fill_expiry_batch(phase, low, high)
        totals = post_batch(
            kind=EntryKind.EXPIRY, fund=fund, to_wallet=False, cycle_id=None, phase_id=phase.pk,
            run_id=run_id, process=process, memo=f"ابطال اعتبار پایان {phase.name}",
        )  # fmt: skip
    else:
        raise ValueError(f"run of kind {kind} without its cycle or phase")
    return considered, totals.entries, totals.amount_rial


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
    run.save(update_fields=["chunks_total", "status", "started_at"])
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
    errors (deadlock, serialization, lock timeout) are retried a bounded number of times."""
    for attempt in range(1, CHUNK_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                chunk = (
                    RunChunk.objects.select_for_update(of=("self",))
                    .select_related("run__cycle__phase", "run__phase")
                    .get(pk=chunk_id)
                )
                if chunk.done:
                    return False
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
            finish_run_if_complete(run_id=chunk.run_id)
            return True
        except OperationalError as exc:
            logger.warning("chunk %s attempt %s failed transiently: %s", chunk_id, attempt, exc)
            if attempt == CHUNK_ATTEMPTS:
                record_chunk_failure(chunk_id=chunk_id, exc=exc)
                raise
        except DatabaseError as exc:
            record_chunk_failure(chunk_id=chunk_id, exc=exc)
            raise
    return False


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


def finish_run_if_complete(*, run_id: int) -> bool:
    """Mark the run completed once every chunk is done; a finished charge opens its cycle."""
    with transaction.atomic():
        finished = CreditRun.objects.filter(
            pk=run_id, status=RunStatus.RUNNING, chunks_done__gte=F("chunks_total")
        ).update(status=RunStatus.COMPLETED, finished_at=timezone.now())
        if not finished:
            return False
        run = CreditRun.objects.select_related("cycle").get(pk=run_id)
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


def run_inline(*, run: CreditRun) -> CreditRun:
    """Execute every pending chunk in this process (management commands in eager mode, tests)."""
    for chunk_id in run.chunks.filter(done=False).order_by("index").values_list("pk", flat=True):
        execute_chunk(chunk_id=chunk_id)
    finish_run_if_complete(run_id=run.pk)
    run.refresh_from_db()
    return run
