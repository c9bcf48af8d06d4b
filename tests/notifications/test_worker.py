"""A decile campaign on a real Celery worker against Redis and PostgreSQL, SIGKILLed mid-dispatch
and resumed by another worker: every recipient gets exactly one message at the gateway, none lost."""

import collections

import pytest

from devdata.fake_sms_gateway import FakeGateway
from devdata.households import generate_households
from households.models import Person
from notifications.defaults import ensure_default_templates
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
from notifications.services import campaigns
from tests.notifications.factories import phase_for_notices, point_sms_at
from tests.worker import WorkerProcess, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.celery_worker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_a_worker_killed_mid_campaign_loses_no_message_and_repeats_none(monkeypatch, settings):
    generate_households(households=1500, seed=21, writers=1)
    ensure_default_templates()
    phase = phase_for_notices()
    with FakeGateway(port=0, latency_ms=120) as fake:
        worker = WorkerProcess()
        point_sms_at(
            monkeypatch=monkeypatch, settings=settings, worker=worker, gateway_url=fake.url
        )
        worker.start()
        try:
            campaign = campaigns.start_decile_notices(
                deciles=[1, 2, 3, 4, 5], phase=phase, chunk_size=400
            )
            mid_way = wait_for(lambda: len(fake.state.accepted) >= 100, timeout=90, interval=0.02)
            worker.kill()
            assert mid_way, worker.output()[-3000:]
            killed_at = SmsCampaign.objects.get(pk=campaign.pk)
            assert killed_at.status != CampaignStatus.COMPLETED
            in_flight = SmsMessage.objects.filter(status=MessageStatus.SENDING).count()

            worker = WorkerProcess(queue=worker.queue).start()
            campaigns.start_decile_notices(deciles=[1, 2, 3, 4, 5], phase=phase)  # resume
            finished = wait_for(
                lambda: SmsCampaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED,
                timeout=180,
            )
            assert finished, worker.output()[-3000:]
        finally:
            worker.stop()
        accepted = list(fake.state.accepted.values())
        repeats = fake.state.repeats

    expected = set(
        Person.objects.filter(is_head=True, household__deciles__decile__lte=5)
        .exclude(mobile="")
        .values_list("mobile", flat=True)
    )
    per_mobile = collections.Counter(m["receptor"] for m in accepted)
    assert set(per_mobile) == expected and len(expected) > 300
    assert max(per_mobile.values()) == 1  # nobody got the notice twice
    assert SmsMessage.objects.count() == len(expected)
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    # what the kill left "sending" was resent under the same local id and absorbed, not lost
    print(f"in flight at the kill: {in_flight}; repeats absorbed by local id: {repeats}")
