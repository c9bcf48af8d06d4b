"""The beat's resume of runs that lost chunks with a dead worker node (``runs.resume_stalled_runs``):
which runs count as stalled, and that a stalled run is queued again once per quiet period.
The same on real worker nodes, one of them killed: tests/infra/test_nodes.py."""

import datetime as dt

import pytest
from django.utils import timezone

from settlements.models import CreditRun, RunChunk, RunKind, RunStatus
from settlements.services import rules, runs
from tests.households.factories import make_household
from tests.settlements.factories import seeded_phases

pytestmark = pytest.mark.django_db

QUIET = dt.timedelta(minutes=5)


class Queue:
    def __init__(self) -> None:
        self.queued: list[list[int]] = []

    def __call__(self, chunk_ids: list[int]) -> None:
        self.queued.append(chunk_ids)


def _run_with_a_lost_chunk(*, quiet_since: dt.timedelta) -> CreditRun:
    """A charge of four chunks whose first three were done; the fourth went down with its node."""
    for decile in (1, 2, 3, 4):
        make_household(decile=decile)
    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=1, enqueue=Queue())
    chunks = list(run.chunks.order_by("index"))
    for chunk in chunks[:3]:
        runs.execute_chunk(chunk_id=chunk.pk)
    then = timezone.now() - quiet_since
    RunChunk.objects.filter(run=run).update(finished_at=then)
    CreditRun.objects.filter(pk=run.pk).update(started_at=then, progress_at=then)
    return CreditRun.objects.get(pk=run.pk)


def test_a_run_quiet_longer_than_the_stall_time_has_its_undone_chunks_queued_again(
    django_capture_on_commit_callbacks,
):
    run = _run_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    lost = list(run.chunks.filter(done=False).values_list("pk", flat=True))
    queue = Queue()

    with django_capture_on_commit_callbacks(execute=True):
        resumed = runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    assert resumed == [run.pk]
    assert queue.queued == [lost] and len(lost) == 1


def test_a_resumed_run_is_not_queued_again_before_another_quiet_period(
    django_capture_on_commit_callbacks,
):
    run = _run_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    queue = Queue()
    with django_capture_on_commit_callbacks(execute=True):
        runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    with django_capture_on_commit_callbacks(execute=True):
        again = runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    assert again == [] and len(queue.queued) == 1
    assert CreditRun.objects.get(pk=run.pk).progress_at > timezone.now() - dt.timedelta(seconds=5)


def test_a_run_that_progressed_within_the_stall_time_is_left_alone(
    django_capture_on_commit_callbacks,
):
    _run_with_a_lost_chunk(quiet_since=QUIET - dt.timedelta(seconds=30))
    queue = Queue()

    with django_capture_on_commit_callbacks(execute=True):
        resumed = runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    assert resumed == [] and queue.queued == []


def test_a_quiet_run_waits_while_another_runs_chunks_finish(django_capture_on_commit_callbacks):
    # Given the batch nodes busy with another run (a chunk finished a moment ago)
    run = _run_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    other = run.chunks.filter(done=True).first()
    RunChunk.objects.filter(pk=other.pk).update(finished_at=timezone.now())
    queue = Queue()

    with django_capture_on_commit_callbacks(execute=True):
        resumed = runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    # Then its chunks are waiting in the queue behind that work, not lost: nothing is re-queued
    assert resumed == [] and queue.queued == []


def test_a_failed_or_finished_run_is_not_resumed_by_the_beat(django_capture_on_commit_callbacks):
    run = _run_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    CreditRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)
    queue = Queue()

    with django_capture_on_commit_callbacks(execute=True):
        resumed = runs.resume_stalled_runs(quiet_for=QUIET, enqueue=queue)

    # A failed chunk's error is for an officer to read before resuming (docs/operations.md)
    assert resumed == [] and queue.queued == []
