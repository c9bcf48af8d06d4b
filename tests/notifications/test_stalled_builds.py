"""The kick's takeover of a campaign's outbox build that lost a chunk with a dead sms node
(``stalls.resume_stalled_builds``, run by ``sms_kick``): which builds count as stalled, that a
stalled one is queued again once per quiet period, and that its chunk adds each head once.
The same on real worker nodes, one of them killed: tests/infra/test_nodes.py."""

import collections
import datetime as dt

import pytest
from django.utils import timezone

from kalabarg.lib.sms import memory_outbox
from notifications import tasks
from notifications.models import CampaignStatus, SmsBuildChunk, SmsCampaign, SmsMessage
from notifications.services import campaigns, stalls
from tests.notifications.factories import heads_in_deciles, phase_for_notices

pytestmark = pytest.mark.django_db

QUIET = dt.timedelta(minutes=5)


class Queue:
    """Records what a resume queues (the chunk ids of each campaign), instead of the tasks."""

    def __init__(self) -> None:
        self.queued: list[tuple[int, list[int]]] = []

    def __call__(self, campaign: SmsCampaign, chunk_ids: list[int]) -> None:
        self.queued.append((campaign.pk, chunk_ids))


def _backdate(campaign: SmsCampaign, *, quiet_since: dt.timedelta) -> None:
    then = timezone.now() - quiet_since
    SmsBuildChunk.objects.filter(campaign=campaign, done=True).update(finished_at=then)
    SmsCampaign.objects.filter(pk=campaign.pk).update(created_at=then, progress_at=then)


def _campaign_with_a_lost_chunk(*, quiet_since: dt.timedelta) -> SmsCampaign:
    """A decile notice of four chunks (a head each) whose first three were built; the fourth
    went down with its node, its message left with the broker."""
    heads_in_deciles({4: 4})
    campaign = campaigns.start_decile_notices(
        deciles=[4], phase=phase_for_notices(), chunk_size=1, enqueue=Queue()
    )
    chunks = list(campaign.chunks.order_by("index"))
    assert len(chunks) == 4
    for chunk in chunks[:3]:
        campaigns.build_chunk(chunk_id=chunk.pk)
    _backdate(campaign, quiet_since=quiet_since)
    return SmsCampaign.objects.get(pk=campaign.pk)


def test_the_kick_finishes_a_build_quiet_longer_than_the_stall_time(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_STALL_SECONDS = int(QUIET.total_seconds())
    campaign = _campaign_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    assert campaign.status == CampaignStatus.BUILDING

    # When the beat's every-minute kick runs
    with django_capture_on_commit_callbacks(execute=True):
        report = tasks.sms_kick()

    # Then the lost chunk is built, and the campaign is sent to every head
    assert report["builds_resumed"] == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert campaign.chunks_done == 4 and campaign.recipients_total == 4
    assert len(memory_outbox()) == 4


def test_a_resumed_build_is_not_queued_again_before_another_quiet_period(
    django_capture_on_commit_callbacks,
):
    campaign = _campaign_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    lost = list(campaign.chunks.filter(done=False).values_list("pk", flat=True))
    queue = Queue()
    with django_capture_on_commit_callbacks(execute=True):
        first = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)

    # When the kick comes again a minute later, the chunk still not built (no live node)
    with django_capture_on_commit_callbacks(execute=True):
        again = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)

    # Then it was queued once: the resume restarted the campaign's clock
    assert first == [campaign.pk] and again == []
    assert queue.queued == [(campaign.pk, lost)] and len(lost) == 1
    progress_at = SmsCampaign.objects.get(pk=campaign.pk).progress_at
    assert progress_at > timezone.now() - dt.timedelta(seconds=5)


def test_a_quiet_build_waits_while_any_campaigns_chunks_finish_then_is_resumed(
    django_capture_on_commit_callbacks,
):
    # Given the sms nodes busy building another campaign (a chunk finished a moment ago)
    campaign = _campaign_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    other = campaigns.start_monthly_balance(month_key="1402-07", enqueue=Queue())
    busy = other.chunks.order_by("index").first()
    campaigns.build_chunk(chunk_id=busy.pk)
    queue = Queue()

    with django_capture_on_commit_callbacks(execute=True):
        while_busy = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)

    # Then its chunk is taken as waiting in the queue behind that work, not lost
    assert while_busy == [] and queue.queued == []

    # When the nodes have built nothing for the stall time either
    SmsBuildChunk.objects.filter(pk=busy.pk).update(
        finished_at=timezone.now() - QUIET - dt.timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        idle = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)

    # Then its chunk is nobody's, and is queued again
    assert idle == [campaign.pk]
    assert queue.queued == [(campaign.pk, [campaign.chunks.get(done=False).pk])]


def test_a_build_that_progressed_within_the_stall_time_is_left_until_it_has_been_quiet(
    django_capture_on_commit_callbacks,
):
    campaign = _campaign_with_a_lost_chunk(quiet_since=QUIET - dt.timedelta(seconds=30))
    queue = Queue()
    with django_capture_on_commit_callbacks(execute=True):
        early = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)
    assert early == [] and queue.queued == []

    _backdate(campaign, quiet_since=QUIET + dt.timedelta(seconds=1))
    with django_capture_on_commit_callbacks(execute=True):
        late = stalls.resume_stalled_builds(quiet_for=QUIET, enqueue=queue)
    assert late == [campaign.pk] and len(queue.queued) == 1


def test_a_lost_chunk_built_by_the_resume_and_redelivered_by_the_broker_adds_each_head_once(
    settings, django_capture_on_commit_callbacks
):
    settings.RUN_STALL_SECONDS = int(QUIET.total_seconds())
    campaign = _campaign_with_a_lost_chunk(quiet_since=QUIET + dt.timedelta(seconds=1))
    lost = campaign.chunks.get(done=False)

    # When the kick queues the lost chunk again, and later the broker gives the dead node's
    # message back (its visibility timeout): the chunk's task runs twice
    with django_capture_on_commit_callbacks(execute=True):
        tasks.sms_kick()
    with django_capture_on_commit_callbacks(execute=True):
        redelivered = tasks.sms_build_chunk(lost.pk)

    # Then the chunk was built once: every head has exactly one outbox row and one SMS
    assert redelivered is False
    heads = campaign.messages.values_list("person_id", flat=True)
    per_head = collections.Counter(heads)
    assert len(per_head) == 4 and set(per_head.values()) == {1}
    assert SmsMessage.objects.count() == 4
    assert sorted(collections.Counter(sms.mobile for sms in memory_outbox()).values()) == [1] * 4
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED and campaign.chunks_done == 4
