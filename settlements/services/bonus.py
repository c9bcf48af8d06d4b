"""The double-subsidy bonus: at most one in force per cycle, granted when the credit spent on the
basket reaches the threshold (again, after a reversal took it back)."""

from django.db import transaction

from settlements.models import Cycle, RunKind
from settlements.services.run_work import execute_work
from settlements.signals import bonus_granted


@transaction.atomic
def grant_bonus_if_earned(*, household_id: int, cycle: Cycle) -> int:
    """Grant the household's bonus for ``cycle`` if it earned it and holds none in force; returns
    the amount.

    The same set-based code as the nightly sweep, over a range of one household, so the rule
    lives in one place; the bonus's key (numbered by the bonuses taken back before) and the wallet
    lock the run takes make a repeat (or a race with the sweep) a no-op.
    """
    _, entries, amount = execute_work(
        kind=RunKind.BONUS_SWEEP,
        cycle=cycle,
        phase=None,
        run_id=None,
        process="instant_bonus",
        low=household_id,
        high=household_id + 1,
    )
    if entries:
        transaction.on_commit(
            lambda: bonus_granted.send_robust(
                sender=Cycle, cycle_id=cycle.pk, low=household_id, high=household_id + 1
            )
        )
    return amount if entries else 0
