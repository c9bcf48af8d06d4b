"""The broker restarted during a decile campaign (issue 14), on a real Celery worker against a
private Redis and PostgreSQL: the queued build and dispatch tasks are lost with it; resuming the
campaign sends every recipient exactly one message at the gateway."""

import collections

import pytest

from devdata.fake_sms_gateway import FakeGateway
from devdata.households import generate_households
from households.models import Person
from notifications.defaults import ensure_default_templates
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
from notifications.services import campaigns
from tests.notifications.factories import phase_for_notices, point_sms_at
from tests.private_redis import PrivateRedis, publishing_to
from tests.worker import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_broker_restarted_mid_campaign_loses_no_message_and_repeats_none(monkeypatch, settings):
    generate_households(households=1500, seed=41, writers=1)
    ensure_default_templates()
    phase = phase_for_notices()
    with FakeGateway(port=0, latency_ms=120) as fake, PrivateRedis() as broker:
        worker = WorkerProcess(broker_url=broker.url)
        point_sms_at(
            monkeypatch=monkeypatch, settings=settings, worker=worker, gateway_url=fake.url
        )
        worker.start()
        try:
            with publishing_to(broker.url):
                campaign = campaigns.start_decile_notices(
                    deciles=[1, 2, 3, 4, 5], phase=phase, chunk_size=400
                )
                mid_way = wait_for(
                    lambda: len(fake.state.accepted) >= 100, timeout=90, interval=0.02
                )
                assert mid_way, worker.output()[-3000:]

                # When Redis dies with the campaign's tasks (and the rate limiter's keys) in it
                broker.restart()
                assert SmsCampaign.objects.get(pk=campaign.pk).status != CampaignStatus.COMPLETED

                # Then resuming the campaign (the officer's button, or the periodic kick) on the
                # same, reconnected worker finishes it
                campaigns.start_decile_notices(deciles=[1, 2, 3, 4, 5], phase=phase)
                finished = wait_for(
                    lambda: (
                        SmsCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED
                    ),
                    timeout=180,
                )
                assert finished, worker.output()[-3000:]
        finally:
            worker.stop()
        accepted = list(fake.state.accepted.values())

    expected = set(
        Person.objects.filter(is_head=True, household__deciles__decile__lte=5)
        .exclude(mobile="")
        .values_list("mobile", flat=True)
    )
    per_mobile = collections.Counter(m["receptor"] for m in accepted)
    assert set(per_mobile) == expected and len(expected) > 300
    assert max(per_mobile.values()) == 1
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
