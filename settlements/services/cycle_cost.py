"""A cycle's money per household, and what the what-if of a phase keeps of it.

``stage_cycle_money`` puts a cycle's charges, bonuses in force and purchases (net of reversals)
per household into three temporary tables, one ``GROUP BY`` each; the programme figures'
refresh sums them per province and decile. From the same tables it records here:

- ``record_cycle_cost``: the cycle's actual cost per decile (``CycleCost``), and
- ``record_cycle_baskets``: each charged household's basket difference in the last closed cycle
  (``CycleBasket``),

so that a what-if reads ten rows and joins one row per household instead of scanning the
cycle's ledger and purchases (docs/decisions.md, "What-if of a phase")."""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from kalabarg.lib.bulk import temporary_table
from settlements.models import Cycle, CycleBasket, CycleCost, CycleStatus
from settlements.selectors import BONUS_IN_FORCE_SQL
from settlements.services.ledger import charge_period

# The staged tables, on this connection until it drops them (``drop_cycle_money``):
# (household_id, amount) charged; (household_id, n, amount) bonuses in force;
# (household_id, n, basket, credit, compensation) purchases not reversed.
CHARGES, BONUSES, PURCHASES = "cycle_charge", "cycle_bonus", "cycle_purchase"


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


def stage_cycle_money(*, cycle: Cycle, start: dt.datetime, end: dt.datetime) -> None:
    """Fill the three staged tables for ``cycle``, whose purchases are those made in
    ``[start, end)`` (its Tehran days). Must run inside the caller's transaction."""
    with connection.cursor() as cursor:
        temporary_table(
            cursor,
            CHARGES,
            # One ``Charge`` row a household and cycle, in the cycle's month.
            "SELECT household_id, amount_rial AS amount FROM settlements_charge "
            "WHERE cycle_id = %s AND period = %s",
            [cycle.pk, charge_period(cycle=cycle)],
        )
        temporary_table(
            cursor,
            BONUSES,
            "SELECT e.household_id, COUNT(*) AS n, SUM(po.amount_rial) AS amount "
            "FROM settlements_journalentry e JOIN settlements_posting po ON po.entry_id = e.id "
            "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
            f"WHERE e.cycle_id = %s AND {BONUS_IN_FORCE_SQL} GROUP BY e.household_id",
            [cycle.pk],
        )
        temporary_table(
            cursor,
            PURCHASES,
            "SELECT household_id, COUNT(*) AS n, SUM(current_total_rial) AS basket, "
            "SUM(credit_rial) AS credit, SUM(compensation_rial) AS compensation "
            "FROM stores_purchase WHERE created_at >= %s AND created_at < %s "
            "AND status = 'completed' GROUP BY household_id",
            [start, end],
        )


def drop_cycle_money() -> None:
    with connection.cursor() as cursor:
        for name in (CHARGES, BONUSES, PURCHASES):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def latest_closed_cycle_id() -> int | None:
    return (
        Cycle.objects.filter(status=CycleStatus.CLOSED)
        .order_by("-starts_on")
        .values_list("pk", flat=True)
        .first()
    )


def record_cycle_baskets(*, cycle: Cycle) -> int:
    """From the staged tables of ``cycle``: one row per household charged in it with its basket
    difference (credit + compensation of its purchases not reversed). Kept only for the latest
    closed cycle, and written once: a closed cycle's purchases no longer change (a purchase and
    its reversal are entered in the purchase's own cycle), so a cycle already recorded, or any
    other cycle, writes nothing; the rows of the cycle before it are deleted. In the caller's
    transaction. Returns the rows written."""
    if cycle.pk != latest_closed_cycle_id() or CycleBasket.objects.filter(cycle=cycle).exists():
        return 0
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM settlements_cyclebasket WHERE cycle_id <> %s", [cycle.pk])
        cursor.execute(
            "INSERT INTO settlements_cyclebasket (cycle_id, household_id, difference_rial) "
            f"SELECT %s, c.household_id, COALESCE(p.credit + p.compensation, 0) FROM {CHARGES} c "
            f"LEFT JOIN {PURCHASES} p ON p.household_id = c.household_id",
            [cycle.pk],
        )
        written = max(cursor.rowcount, 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE settlements_cyclebasket")
    return written
