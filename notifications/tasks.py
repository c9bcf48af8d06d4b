"""Celery tasks of the SMS outbox, all on the ``sms`` queue (``SMS_QUEUE``): thin wrappers over
the services that take ids. Build and dispatch tasks are late-acked and idempotent, so a task
redelivered after a killed worker repeats nothing."""

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, OperationalError
from django.utils import timezone

from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
from notifications.services import (
    bonus,
    campaigns,
    coverage,
    dispatch,
    purchases,
    reports,
    stalls,
)

logger = logging.getLogger(__name__)


def _eager() -> bool:
    from kalabarg.celery import app

    return bool(app.conf.task_always_eager)


def enqueue(task: Any, *args: Any, countdown: float | None = None) -> None:
    """Queue ``task(*args)`` on the SMS queue. Under eager Celery a delayed continuation is not
    run at once (it would spin); the periodic kick picks the work up instead."""
    if countdown and _eager():
        return
    task.apply_async(args=args, queue=settings.SMS_QUEUE, countdown=countdown)


@shared_task(
    name="notifications.tasks.sms_build_chunk",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def sms_build_chunk(chunk_id: int) -> bool:
    """One household-id range of a campaign's outbox (``INSERT … SELECT … ON CONFLICT DO NOTHING``)."""
    try:
        return campaigns.build_chunk(chunk_id=chunk_id)
    except DatabaseError as exc:
        if not isinstance(exc, OperationalError):
            campaigns.record_build_failure(chunk_id=chunk_id, exc=exc)
        raise


@shared_task(
    name="notifications.tasks.sms_dispatch_campaign",
    acks_late=True,
    reject_on_worker_lost=True,
)
def sms_dispatch_campaign(campaign_id: int) -> dict[str, int]:
    """Send a campaign's due messages for one time slice, then queue the continuation."""
    report = dispatch.dispatch_campaign(campaign_id=campaign_id)
    if report.more_now:
        enqueue(sms_dispatch_campaign, campaign_id)
    elif report.retry_in is not None:
        enqueue(sms_dispatch_campaign, campaign_id, countdown=report.retry_in)
    return {"sent": report.sent, "retried": report.transient, "failed": report.failed}


@shared_task(
    name="notifications.tasks.sms_send_message",
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
    reject_on_worker_lost=True,
)
def sms_send_message(message_id: int) -> str:
    """Send one personal message (queued on commit by ``send_personal_sms``). A transient
    failure leaves it queued with a backoff; this task comes back for it then."""
    report = dispatch.send_messages_now(message_ids=[message_id])
    if report.transient:
        due = (
            SmsMessage.objects.filter(pk=message_id, status=MessageStatus.QUEUED)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            countdown = max(1.0, (due - timezone.now()).total_seconds() + 0.5)
            enqueue(sms_send_message, message_id, countdown=countdown)
    return "sent" if report.sent else "failed" if report.failed else "pending"


@shared_task(
    name="notifications.tasks.sms_queue_bonus_messages",
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
)
def sms_queue_bonus_messages(cycle_id: int, low: int, high: int) -> int:
    """Queue the bonus-credited SMS of bonuses just granted (``bonus:<entry id>``) and send them."""
    ids = bonus.queue_bonus_messages(cycle_id=cycle_id, low=low, high=high)
    for start in range(0, len(ids), 500):
        enqueue(sms_send_batch, ids[start : start + 500])
    return len(ids)


@shared_task(
    name="notifications.tasks.sms_queue_coverage_notices",
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
)
def sms_queue_coverage_notices(cycle_id: int, low: int, high: int) -> int:
    """Queue the decile notice of households charged late because they became covered during
    the cycle (``decile_notice:<phase>:<person>``) and send them."""
    ids = coverage.queue_coverage_notices(cycle_id=cycle_id, low=low, high=high)
    for start in range(0, len(ids), 500):
        enqueue(sms_send_batch, ids[start : start + 500])
    return len(ids)


@shared_task(
    name="notifications.tasks.sms_queue_purchase_messages",
    autoretry_for=(OperationalError,),
    retry_backoff=2,
    max_retries=5,
    acks_late=True,
)
def sms_queue_purchase_messages() -> int:
    """Beat, every minute: queue the head's message of each purchase and reversal committed
    since the last run (``purchase:<id>``, ``reversal:<id>``; set-based) and send them in
    batches. The POS path never waits for it nor writes for it."""
    ids = purchases.queue_purchase_messages()
    for start in range(0, len(ids), 500):
        enqueue(sms_send_batch, ids[start : start + 500])
    return len(ids)


@shared_task(name="notifications.tasks.sms_send_batch", acks_late=True, reject_on_worker_lost=True)
def sms_send_batch(message_ids: list[int]) -> int:
    """Send these personal messages in gateway batches (those not due are left for the kick)."""
    sent = 0
    size = 100
    for start in range(0, len(message_ids), size):
        sent += dispatch.send_messages_now(message_ids=message_ids[start : start + size]).sent
    return sent


@shared_task(name="notifications.tasks.sms_kick")
def sms_kick() -> dict[str, int]:
    """Beat, every minute: re-queue messages whose dispatcher died (lease over), queue again the
    unbuilt chunks of a campaign whose build went quiet for ``RUN_STALL_SECONDS`` while no sms
    node built anything (a chunk lost with a dead node), resume every campaign that is sending,
    send personal messages whose retry is due."""
    requeued = dispatch.requeue_expired_leases()
    builds = stalls.resume_stalled_builds(
        quiet_for=dt.timedelta(seconds=settings.RUN_STALL_SECONDS)
    )
    running = list(
        SmsCampaign.objects.filter(status=CampaignStatus.SENDING).values_list("pk", flat=True)
    )
    for campaign_id in running:
        enqueue(sms_dispatch_campaign, campaign_id)
    personal = dispatch.dispatch_personal()
    return {
        "requeued": requeued,
        "builds_resumed": len(builds),
        "campaigns": len(running),
        "personal_sent": personal.sent,
    }


@shared_task(name="notifications.tasks.sms_monthly_balance")
def sms_monthly_balance() -> int:
    """Beat, monthly: start this Jalali month's balance campaign (a repeat resumes it)."""
    return campaigns.start_monthly_balance().pk


@shared_task(name="notifications.tasks.sms_poll_statuses")
def sms_poll_statuses() -> int:
    """Beat: ask the gateway about sent messages that have no delivery report yet."""
    return reports.poll_statuses()
