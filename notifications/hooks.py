"""Listeners, connected in ``NotificationsConfig.ready``: the events of lower layers (the money
core's granted bonuses) and the outbox's own ``sms_work_ready``. They are the one place that
turns an event into queued Celery tasks, so services never import tasks."""

from collections.abc import Sequence
from typing import Any

from notifications.signals import sms_work_ready
from settlements.signals import bonus_granted, late_charge_posted


def _on_bonus_granted(sender: Any, *, cycle_id: int, low: int, high: int, **kwargs: Any) -> None:
    from notifications import tasks

    tasks.enqueue(tasks.sms_queue_bonus_messages, cycle_id, low, high)


def _on_late_charge_posted(
    sender: Any, *, cycle_id: int, low: int, high: int, **kwargs: Any
) -> None:
    from notifications import tasks

    tasks.enqueue(tasks.sms_queue_coverage_notices, cycle_id, low, high)


def _on_sms_work_ready(
    sender: Any,
    *,
    build_chunk_ids: Sequence[int],
    campaign_ids: Sequence[int],
    message_ids: Sequence[int],
    **kwargs: Any,
) -> None:
    from notifications import tasks

    for chunk_id in build_chunk_ids:
        tasks.enqueue(tasks.sms_build_chunk, chunk_id)
    for campaign_id in campaign_ids:
        tasks.enqueue(tasks.sms_dispatch_campaign, campaign_id)
    for message_id in message_ids:
        tasks.enqueue(tasks.sms_send_message, message_id)


def connect() -> None:
    """Connect the SMS outbox to the events it reacts to."""
    bonus_granted.connect(_on_bonus_granted, dispatch_uid="notifications.bonus_granted")
    late_charge_posted.connect(
        _on_late_charge_posted, dispatch_uid="notifications.late_charge_posted"
    )
    sms_work_ready.connect(_on_sms_work_ready, dispatch_uid="notifications.sms_work_ready")
