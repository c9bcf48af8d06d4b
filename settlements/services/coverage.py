"""Credit for a household covered after its cycle began: a decile decision, or a registry row
that arrives or takes effect in the middle of a cycle.

The monthly run charges the households covered on the cycle's first day. A household that becomes
covered later in a cycle that is not closed is charged that cycle's credit at once, by the band of
its decile on the day it became covered, under the same key and one-per-cycle constraint as the
run's charge (so whichever comes first posts it, exactly once). Two paths reach it:

- a decision (``households.signals.decile_decided``, queued by ``settlements.receivers``) charges
  the household for every open cycle from the decision's date to today;
- the nightly ``charge_late_entrants`` sweep charges the cycle in force today to every household
  whose decile rows changed during it (a decision dated ahead, which takes effect on a later
  night, or a registry import), in groups of ids, set-based per group.
"""

import datetime as dt
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from settlements.models import AccountKind, Cycle, CycleStatus
from settlements.services import rules
from settlements.services.ledger import create_batch_table, post_charge_batch, system_account
from settlements.services.run_work import fill_late_charge_batch
from settlements.signals import late_charge_posted

# Households per statement of the sweep: an IN list, each probed by its indexes.
LATE_CHARGE_GROUP = 1000


def _charge(
    *, cycle: Cycle, household_ids: list[int], decile_date: dt.date, process: str
) -> tuple[int, int]:
    """Charge ``cycle`` to those of ``household_ids`` covered on ``decile_date`` and not yet
    charged, in one entry; in the caller's transaction. Returns (households, rials) and announces
    them on commit."""
    create_batch_table()
    fill_late_charge_batch(cycle=cycle, household_ids=household_ids, decile_date=decile_date)
    totals = post_charge_batch(
        fund=system_account(kind=AccountKind.PROGRAMME_FUND),
        cycle=cycle,
        run_id=None,
        process=process,
        memo=f"شارژ دوره {cycle.key} (پوشش در میانه دوره)",
    )
    if totals.households:
        low, high = min(household_ids), max(household_ids) + 1
        transaction.on_commit(
            lambda: late_charge_posted.send_robust(
                sender=Cycle, cycle_id=cycle.pk, low=low, high=high
            )
        )
    return totals.households, totals.amount_rial


@transaction.atomic
def charge_newly_covered(
    *, household_id: int, effective_from: dt.date, today: dt.date | None = None
) -> int:
    """After a decile decision from ``effective_from``: charge every cycle that is not closed, has
    begun by ``today`` (default: now) and has not ended before ``effective_from``, if the decision
    covers the household in it (its decile on the later of the cycle's first day and
    ``effective_from``). Returns the rials charged (0 when nothing was owed or all was charged)."""
    today = today or timezone.localdate()
    if effective_from > today:
        return 0  # dated ahead: the nightly sweep charges it on the night it takes effect
    cycles = (
        Cycle.objects.filter(starts_on__lte=today, ends_on__gte=effective_from)
        .exclude(status=CycleStatus.CLOSED)
        .select_related("phase")
        .order_by("starts_on")
    )
    charged = 0
    for cycle in cycles:
        _, amount = _charge(
            cycle=cycle,
            household_ids=[household_id],
            decile_date=max(cycle.starts_on, effective_from),
            process="decile_decision",
        )
        charged += amount
    return charged


def _changed_during(cycle: Cycle, today: dt.date) -> Iterator[list[int]]:
    """Ids of the households whose decile rows were written during ``cycle`` or take effect in it
    after its first day (up to ``today``), in ascending groups of ``LATE_CHARGE_GROUP``."""
    since = dt.datetime.combine(
        cycle.starts_on, dt.time.min, tzinfo=timezone.get_default_timezone()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT household_id FROM households_decileassignment "
            "WHERE created_at >= %s OR (effective_from > %s AND effective_from <= %s) ORDER BY household_id",
            [since, cycle.starts_on, today],
        )
        while rows := cursor.fetchmany(LATE_CHARGE_GROUP):
            yield [row[0] for row in rows]


def charge_late_entrants(*, today: dt.date | None = None) -> tuple[int, int]:
    """The nightly sweep: charge the cycle in force on ``today`` to every household covered today
    whose decile changed during the cycle and that holds no charge of it. One transaction per group
    of ids; a repeat finds everything charged. Returns (households charged, rials)."""
    today = today or timezone.localdate()
    cycle = rules.cycle_on(day=today)
    if cycle is None or cycle.status == CycleStatus.CLOSED:
        return 0, 0
    households = amount = 0
    for group in list(_changed_during(cycle, today)):
        with transaction.atomic():
            posted, rials = _charge(
                cycle=cycle, household_ids=group, decile_date=today, process="late_charge_sweep"
            )
        households, amount = households + posted, amount + rials
    return households, amount
