"""The money core's own listeners, connected in ``SettlementsConfig.ready``: where a service's
event becomes a queued task (services never import tasks)."""

from typing import Any

from settlements.signals import bonus_threshold_reached


def _queue_bonus(sender: Any, *, household_id: int, cycle_id: int, **kwargs: Any) -> None:
    from settlements.tasks import grant_bonus

    grant_bonus.delay(household_id, cycle_id)


def connect() -> None:
    """Queue the instant bonus when a purchase reaches the threshold."""
    bonus_threshold_reached.connect(_queue_bonus, dispatch_uid="settlements.queue_bonus")
