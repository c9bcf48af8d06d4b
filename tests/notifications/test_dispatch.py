"""Dispatch against the local fake gateway: bulk calls, retries with backoff, permanent failures."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from households.models import Person
from kalabarg.lib.sms import HttpGateway, Outcome, OutgoingSms
from notifications.models import CampaignStatus, MessageStatus, SmsMessage
from notifications.services import campaigns, dispatch
from tests.notifications.factories import heads_in_deciles, phase_for_notices

pytestmark = pytest.mark.django_db


def _built_campaign(count: int = 6):
    heads = heads_in_deciles({4: count})
    campaign = campaigns.start_decile_notices(
        deciles=[4], phase=phase_for_notices(), enqueue=lambda c, i: None
    )
    campaigns.build_chunk(chunk_id=campaign.chunks.get().pk)
    return campaign, heads


def test_many_recipients_go_in_one_gateway_call(fake_gateway, settings):
    settings.SMS_BATCH_SIZE = 50
    campaign, heads = _built_campaign(6)
    report = dispatch.dispatch_campaign(campaign_id=campaign.pk)
    assert report.sent == 6 and report.batches == 1
    state = fake_gateway.state.snapshot()
    assert state["send_calls"] == 1
    assert {m["receptor"] for m in state["accepted"]} == {h.mobile for h in heads}
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert not SmsMessage.objects.filter(provider_message_id="").exists()


def test_a_5xx_is_retried_later_with_exponential_backoff(fake_gateway, settings):
    settings.SMS_RETRY_BASE_SECONDS = 30
    campaign, _ = _built_campaign(2)
    fake_gateway.state.fail_rate = 1.0
    before = timezone.now()
    report = dispatch.dispatch_campaign(campaign_id=campaign.pk)
    assert report.transient == 2 and report.retry_in is not None
    message = SmsMessage.objects.first()
    assert message.status == MessageStatus.QUEUED and message.attempts == 1
    assert message.error_code == "500"
    assert before + dt.timedelta(seconds=29) < message.next_attempt_at
    # the second failure waits twice as long
    SmsMessage.objects.update(next_attempt_at=timezone.now())
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at - timezone.now() > dt.timedelta(seconds=55)
    # the gateway recovers: the next due attempt sends it
    fake_gateway.state.fail_rate = 0.0
    SmsMessage.objects.update(next_attempt_at=timezone.now())
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert len(fake_gateway.state.snapshot()["accepted"]) == 2


def test_a_timeout_is_transient_and_attempts_are_bounded(fake_gateway, settings):
    settings.SMS_MAX_ATTEMPTS = 2
    campaign, _ = _built_campaign(1)
    fake_gateway.state.timeout_rate = 1.0
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    message = SmsMessage.objects.get()
    assert message.status == MessageStatus.QUEUED and message.error_code == "timeout"
    SmsMessage.objects.update(next_attempt_at=timezone.now())
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 2
    assert "۲ تلاش" in message.last_error or "2 تلاش" in message.last_error


def test_an_invalid_number_fails_at_once_and_the_rest_of_the_batch_is_sent(fake_gateway):
    campaign, heads = _built_campaign(5)
    Person.objects.filter(pk=heads[2].pk).update(mobile="09990000002")
    SmsMessage.objects.filter(person=heads[2]).update(mobile="09990000002")
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    bad = SmsMessage.objects.get(person=heads[2])
    assert bad.status == MessageStatus.FAILED and bad.error_code == "411" and bad.attempts == 1
    assert SmsMessage.objects.filter(status=MessageStatus.SENT).count() == 4
    # never retried: another dispatch round leaves it alone
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    bad.refresh_from_db()
    assert bad.attempts == 1
    assert "09990000002" not in {m["receptor"] for m in fake_gateway.state.snapshot()["accepted"]}


def test_a_crashed_dispatcher_s_messages_are_sent_again_under_the_same_local_id(fake_gateway):
    campaign, _heads = _built_campaign(3)
    claimed, _token = dispatch.claim_campaign_batch(campaign_id=campaign.pk, limit=10)
    gateway = HttpGateway(base_url=fake_gateway.url, api_key="k", sender="کالابرگ", timeout=2)
    results = gateway.send([OutgoingSms(c.local_id, c.mobile, c.body) for c in claimed])
    assert all(r.outcome == Outcome.SENT for r in results)
    # … and the worker dies here, before recording anything. After the lease:
    SmsMessage.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    state = fake_gateway.state.snapshot()
    assert len(state["accepted"]) == 3 and state["repeats"] == 3
    assert SmsMessage.objects.filter(status=MessageStatus.SENT, attempts=2).count() == 3


def test_a_stale_dispatcher_cannot_overwrite_a_newer_attempt(fake_gateway):
    campaign, _ = _built_campaign(1)
    claimed, token = dispatch.claim_campaign_batch(campaign_id=campaign.pk, limit=1)
    SmsMessage.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    dispatch.dispatch_campaign(campaign_id=campaign.pk)  # re-claimed and sent
    from kalabarg.lib.sms import SendResult

    dispatch.record_results(
        claimed=claimed,
        results=[SendResult(claimed[0].local_id, Outcome.PERMANENT, "", "411", "x")],
        token=token,
    )
    assert SmsMessage.objects.get().status == MessageStatus.SENT


def test_the_rate_limit_spreads_batches_over_seconds(fake_gateway, settings):
    settings.SMS_RATE_PER_SECOND = 2
    settings.SMS_BATCH_SIZE = 100
    campaign, _ = _built_campaign(6)
    started = time.monotonic()
    report = dispatch.dispatch_campaign(campaign_id=campaign.pk)
    # three batches of two, each in its own wall-clock second: two boundaries crossed
    assert report.sent == 6 and report.batches == 3
    assert time.monotonic() - started >= 1.0


def test_the_status_poll_marks_delivered(fake_gateway):
    from notifications.services import reports

    campaign, _ = _built_campaign(2)
    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    SmsMessage.objects.update(sent_at=timezone.now() - dt.timedelta(minutes=11))
    assert reports.poll_statuses() == 2
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.DELIVERED}
