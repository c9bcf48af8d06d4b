"""Recording what a cycle actually cost, per decile (``CycleCost``).

The figures are computed by the programme figures' refresh, which already sums every cycle's
charges, bonuses in force and net compensation per province and decile; it hands the per-decile
totals here. A what-if then reads a cycle's actual cost from ten rows instead of scanning its
ledger and purchases (docs/decisions.md, "What-if of a phase")."""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from settlements.models import Cycle, CycleCost


@dataclass(frozen=True)
class DecileSpend:
    """One decile's actual cost in a cycle (``decile`` 0: households with no decile then)."""

    decile: int
    households: int
    members: int
    credit_rial: int
    bonus_rial: int
    compensation_rial: int


def record_cycle_cost(*, cycle: Cycle, deciles: Iterable[DecileSpend]) -> int:
    """Replace ``cycle``'s recorded cost with ``deciles`` in one transaction (a reader sees the
    old figures or the new); a decile with no charge and no money is not kept. Returns the rows."""
    recorded_at = timezone.now()
    rows = [
        CycleCost(
            cycle=cycle,
            decile=row.decile,
            households=row.households,
            members=row.members,
            credit_rial=row.credit_rial,
            bonus_rial=row.bonus_rial,
            compensation_rial=row.compensation_rial,
            recorded_at=recorded_at,
        )
        for row in deciles
        if row.households or row.credit_rial or row.bonus_rial or row.compensation_rial
    ]
    with transaction.atomic():
        CycleCost.objects.filter(cycle=cycle).delete()
        CycleCost.objects.bulk_create(rows)
    return len(rows)
