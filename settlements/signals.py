"""Events of the money core that upper layers may listen to (the SMS outbox does).

``bonus_granted(cycle_id, low, high)``: bonuses of ``cycle_id`` were granted to some households
with ids in ``[low, high)``; sent after the granting transaction committed."""

from django.dispatch import Signal

bonus_granted = Signal()
