"""A credit run on a real Celery worker against Redis and PostgreSQL, killed mid-run and resumed."""

import pytest

from devdata.households import generate_households
from households.models import DecileAssignment
from settlements.models import CreditRun, RunKind, RunStatus
from settlements.services import rules, runs
from settlements.services.reconcile import reconcile
from settlements.tasks import run_chunk
from tests.settlements.factories import charge_counts, seeded_phases
from tests.worker import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_worker_killed_mid_run_loses_nothing_and_repeats_nothing_when_the_run_is_started_again():
    generate_households(households=4000, seed=11, writers=1)
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    worker = WorkerProcess().start()

    def enqueue(chunk_ids: list[int]) -> None:
        for chunk_id in chunk_ids:
            run_chunk.apply_async(args=[chunk_id], queue=worker.queue)

    try:
        run = runs.start_run(
            kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=100, enqueue=enqueue
        )
        started = wait_for(
            lambda: CreditRun.objects.get(pk=run.pk).chunks_done >= 2, timeout=90, interval=0.02
        )
        worker.kill()
        killed_at = CreditRun.objects.get(pk=run.pk)
        assert started, worker.output()[-3000:]
        assert (
            killed_at.status == RunStatus.RUNNING and killed_at.chunks_done < killed_at.chunks_total
        )

        worker = WorkerProcess(queue=worker.queue).start()
        runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=10, enqueue=enqueue)
        finished = wait_for(
            lambda: CreditRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=120
        )
        assert finished, worker.output()[-3000:]
    finally:
        worker.stop()

    eligible = (
        DecileAssignment.objects.filter(decile__lte=5).values("household_id").distinct().count()
    )
    assert charge_counts(cycle) == (eligible,) * 3 and eligible > 0
    done = CreditRun.objects.get(pk=run.pk)
    assert done.chunks_done == done.chunks_total
    assert reconcile(verify_digests=False).ok
