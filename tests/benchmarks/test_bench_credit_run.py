"""A national credit run: 1,000,000 eligible households (BENCH_HOUSEHOLDS) charged by one real
Celery worker node (a prefork pool of BENCH_WORKER_CONCURRENCY, 2) against Redis and PostgreSQL; then a repeat run; a bare
``INSERT … SELECT`` of the same rows for comparison, before and after the runs (the lower is the floor).

    make bench BENCH_ARGS="-k credit_run"
"""

import os
import time

import pytest
from django.db import connection
from django.utils import timezone

from devdata.households import generate_households
from kalabarg.lib.persian import jalali_month_key
from settlements.models import CreditBasis, CreditRun, Phase, PhaseBand, RunKind, RunStatus
from settlements.services import rules, runs
from settlements.tasks import run_chunk
from tests.benchmarks.conftest import bare_charge_insert_seconds, report
from tests.worker import WorkerProcess, _worker_memory_kib

pytestmark = [pytest.mark.redis, pytest.mark.celery_worker]


def _run_on_worker(
    worker: WorkerProcess, cycle, chunk_size: int
) -> tuple[float, tuple[int, int], CreditRun]:
    def enqueue(chunk_ids: list[int]) -> None:
        for chunk_id in chunk_ids:
            run_chunk.apply_async(args=[chunk_id], queue=worker.queue)

    started = time.perf_counter()
    run = runs.start_run(
        kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=chunk_size, enqueue=enqueue
    )
    peak = (0, 0)
    while True:
        run.refresh_from_db()
        pss, rss = _worker_memory_kib(worker.process.pid)
        peak = (max(peak[0], pss), max(peak[1], rss))
        if run.status != RunStatus.RUNNING:
            break
        time.sleep(0.2)
    return time.perf_counter() - started, peak, run


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_credit_run():
    households = int(os.environ.get("BENCH_HOUSEHOLDS", "1000000"))
    chunk_size = int(os.environ.get("BENCH_CHUNK_SIZE", "25000"))
    generate_households(households=households, seed=3)
    # A phase from this Jalali month that covers every decile, so every household is eligible.
    month = jalali_month_key(timezone.localdate())
    starts_on, _ = rules.jalali_month_bounds(key=month)
    phase = Phase.objects.create(name="bench", starts_on=starts_on, basis=CreditBasis.PER_MEMBER)
    PhaseBand.objects.create(
        phase=phase, min_decile=1, max_decile=10, credit_per_cycle_rial=2_000_000, bonus_threshold_rial=2_000_000,
        bonus_amount_rial=1_200_000,
    )  # fmt: skip
    cycle = rules.ensure_cycle(key=month)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")
    # The floor, taken before the runs as well as after: after them the checkpointer is still
    # writing out the run's gigabytes, which slows the bare insert (1.8 s quiet, 3.7 s then) and
    # would flatter the ratio. The lower of the two is the floor.
    bare_before_s = bare_charge_insert_seconds()
    # One worker node; its prefork pool has one process per core (2 here), as `make up` runs it.
    concurrency = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "2"))
    worker = WorkerProcess(concurrency=concurrency).start()
    try:
        time.sleep(3)  # let the worker connect before the clock starts
        first_s, first_peak_kib, first = _run_on_worker(worker, cycle, chunk_size)
        repeat_s, repeat_peak_kib, repeat = _run_on_worker(worker, cycle, chunk_size)
    finally:
        worker.stop()
    assert first.status == RunStatus.COMPLETED and first.entries_created == households, (
        worker.output()[-2000:]
    )
    assert repeat.entries_created == 0

    bare_after_s = bare_charge_insert_seconds()
    bare_s = min(bare_before_s, bare_after_s)

    report(
        "credit_run",
        households=households,
        chunk_size=chunk_size,
        worker_concurrency=concurrency,
        first_run_s=round(first_s, 1),
        households_per_s=round(households / first_s),
        worker_peak_pss_mb=round(first_peak_kib[0] / 1024),
        largest_process_rss_mb=round(first_peak_kib[1] / 1024),
        repeat_run_s=round(repeat_s, 1),
        repeat_peak_pss_mb=round(repeat_peak_kib[0] / 1024),
        bare_insert_select_s=round(bare_s, 1),
        bare_before_s=round(bare_before_s, 1),
        bare_after_s=round(bare_after_s, 1),
        ratio_to_bare=round(first_s / bare_s, 1),
    )
