"""The money core's own listeners, connected in ``SettlementsConfig.ready``: where a service's
event becomes a queued task (services never import tasks), and where the registry's decile
decisions meet the money (the registry imports nothing of the money core)."""

import datetime as dt
from typing import Any

from households.signals import decile_decided, decile_deciding
from kalabarg.lib.errors import field_error
from settlements.models import CycleStatus
from settlements.services import rules
from settlements.signals import bonus_threshold_reached


def _queue_bonus(sender: Any, *, household_id: int, cycle_id: int, **kwargs: Any) -> None:
    from settlements.tasks import grant_bonus

    grant_bonus.delay(household_id, cycle_id)


def refuse_decision_in_closed_cycle(sender: Any, *, effective_from: dt.date, **kwargs: Any) -> None:
    """A closed cycle's money is settled, so a decile decision may not reach back into one."""
    cycle = rules.cycle_on(day=effective_from)
    if cycle is not None and cycle.status == CycleStatus.CLOSED:
        raise field_error(
            field="effective_from",
            message="دوره این تاریخ بسته شده است؛ دهک تازه را از دوره جاری به بعد اعمال کنید",
            code="decision_in_closed_cycle",
        )


def _queue_late_charge(
    sender: Any, *, household_id: int, effective_from: dt.date, **kwargs: Any
) -> None:
    from settlements.tasks import charge_newly_covered

    charge_newly_covered.delay(household_id, effective_from.isoformat())


def connect() -> None:
    """Queue the instant bonus when a purchase reaches the threshold; refuse a decile decision
    dated in a closed cycle; charge the credit a decision newly covers."""
    bonus_threshold_reached.connect(_queue_bonus, dispatch_uid="settlements.queue_bonus")
    decile_deciding.connect(
        refuse_decision_in_closed_cycle, dispatch_uid="settlements.refuse_closed_cycle_decision"
    )
    decile_decided.connect(_queue_late_charge, dispatch_uid="settlements.queue_late_charge")
