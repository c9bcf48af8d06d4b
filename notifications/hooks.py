"""Listeners for events of lower layers (the money core), connected in ``NotificationsConfig.ready``."""

from typing import Any

from settlements.signals import bonus_granted


def _on_bonus_granted(sender: Any, *, cycle_id: int, low: int, high: int, **kwargs: Any) -> None:
    from notifications import tasks

    tasks.enqueue(tasks.sms_queue_bonus_messages, cycle_id, low, high)


def connect() -> None:
    """Connect the SMS outbox to the events it reacts to (bonus granted)."""
    bonus_granted.connect(_on_bonus_granted, dispatch_uid="notifications.bonus_granted")
