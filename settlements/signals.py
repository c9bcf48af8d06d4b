"""Events of the money core that others may listen to; every one is sent after its transaction
committed, so a listener never sees a rollback.

``bonus_granted(cycle_id, low, high)``: bonuses of ``cycle_id`` were granted to some households
with ids in ``[low, high)`` (the SMS outbox listens).

``bonus_threshold_reached(household_id, cycle_id)``: a purchase took the household's credit spend
in ``cycle_id`` to its bonus threshold (``settlements.receivers`` queues the grant: services never
import tasks).

``late_charge_posted(cycle_id, low, high)``: households with ids in ``[low, high)`` were charged
``cycle_id``'s credit after the cycle began, because they became covered during it (the SMS
outbox sends them the decile notice).

``run_finished(kind)``: a national run (a credit run's ``kind``, or ``store_settlement``) finished
(the programme figures refresh)."""

from django.dispatch import Signal

bonus_granted = Signal()
bonus_threshold_reached = Signal()
late_charge_posted = Signal()
run_finished = Signal()
