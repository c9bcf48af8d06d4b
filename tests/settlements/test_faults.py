"""Faults during national runs, on a real Celery worker against Redis and PostgreSQL (issue 14):
the broker restarted mid-run (its queues lost), database connections dropped mid-chunk, (the purchases at full speed during
runs are in ``test_concurrency.py``). Afterwards every effect happened exactly once and
``reconcile_ledger`` is clean."""

import time

import pytest
from django.db import connection

from devdata.households import generate_households
from households.models import DecileAssignment
from settlements.models import CreditRun, RunKind, RunStatus
from settlements.services import rules, runs
from settlements.services.reconcile import reconcile
from settlements.tasks import run_chunk
from tests.private_redis import PrivateRedis, publishing_to
from tests.settlements.factories import charge_counts, seeded_phases
from tests.worker import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def _assert_charged_exactly_once(cycle) -> None:
    covered = (
        DecileAssignment.objects.filter(decile__lte=5).values("household_id").distinct().count()
    )
    assert charge_counts(cycle) == (covered, covered, covered) and covered > 0
    report = reconcile(verify_digests=False)
    assert report.ok, report.breaches


def _enqueue_on(worker: WorkerProcess):  # type: ignore[no-untyped-def]
    def enqueue(chunk_ids: list[int]) -> None:
        for chunk_id in chunk_ids:
            run_chunk.apply_async(args=[chunk_id], queue=worker.queue)

    return enqueue


def test_the_broker_restarted_mid_run_loses_its_queue_and_the_resumed_run_charges_each_once():
    generate_households(households=3000, seed=31, writers=1)
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    with PrivateRedis() as broker, publishing_to(broker.url):
        worker = WorkerProcess(broker_url=broker.url).start()
        enqueue = _enqueue_on(worker)
        try:
            run = runs.start_run(
                kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50, enqueue=enqueue
            )
            started = wait_for(
                lambda: CreditRun.objects.get(pk=run.pk).chunks_done >= 2, timeout=90, interval=0.02
            )
            assert started, worker.output()[-3000:]

            # When Redis dies with the queue in it and comes back empty
            broker.restart()
            stalled = CreditRun.objects.get(pk=run.pk)
            assert stalled.status == RunStatus.RUNNING
            assert stalled.chunks_done < stalled.chunks_total

            # Then starting the run again (what the officer or the daily beat does) resumes it
            # on the same worker, which reconnected by itself
            runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, enqueue=enqueue)
            finished = wait_for(
                lambda: CreditRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED,
                timeout=180,
            )
            assert finished, worker.output()[-3000:]
        finally:
            worker.stop()
    _assert_charged_exactly_once(cycle)


def test_database_connections_dropped_mid_chunk_are_retried_and_lose_nothing():
    generate_households(households=3000, seed=32, writers=1)
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    worker = WorkerProcess().start()
    dropped = 0
    try:
        run = runs.start_run(
            kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=50, enqueue=_enqueue_on(worker)
        )
        # While chunks run, cut every other connection to this database (the worker's), as a
        # failover or a network cut would; each cut chunk rolls back and its task retries.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = CreditRun.objects.get(pk=run.pk)
            if current.status == RunStatus.COMPLETED:
                break
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND state = 'active'"
                )
                dropped += cursor.fetchone()[0]
            if dropped >= 3:
                break
            time.sleep(0.05)
        finished = wait_for(
            lambda: CreditRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED, timeout=240
        )
        assert finished, worker.output()[-3000:]
    finally:
        worker.stop()
    assert dropped >= 1, "no chunk was caught mid-statement"
    _assert_charged_exactly_once(cycle)
