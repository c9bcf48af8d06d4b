"""Celery tasks of the SMS outbox, all on the ``sms`` queue: thin wrappers that take ids."""

import logging

from celery import shared_task
from django.db import OperationalError

from notifications.services import dispatch

logger = logging.getLogger(__name__)


def _eager() -> bool:
    from kalabarg.celery import app

    return bool(app.conf.task_always_eager)


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
    if report.transient and not _eager():
        from notifications.models import SmsMessage

        due = (
            SmsMessage.objects.filter(pk=message_id)
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if due is not None:
            from django.utils import timezone

            countdown = max(1.0, (due - timezone.now()).total_seconds() + 0.5)
            sms_send_message.apply_async(args=(message_id,), countdown=countdown)
    return "sent" if report.sent else "failed" if report.failed else "pending"
