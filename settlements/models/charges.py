"""A cycle's charge of one household: the one-charge rule, and what each household was charged.

A national run posts one journal entry a chunk, the programme fund's total against every wallet's
credit, instead of an entry a household (docs/decisions.md, "One charge entry a chunk"). The entry
no longer names the household, so this row does: one per household and cycle, filed under the
cycle's month as the entry is, and partitioned by that month on PostgreSQL like the entries
(``settlements.services.partitions``). Its key is the one-charge rule; ``reconcile_ledger`` holds
each row to its household's wallet posting in its entry. Charges posted before this table, one
entry a household, were copied in by settlements 0026, so old and new charges read alike.
"""

from django.db import models
from django.db.models import Q

from households.models import Household
from settlements.models.core import Cycle, JournalEntry


class Charge(models.Model):
    """Household ``household`` was charged ``amount_rial`` of ``cycle``'s credit by ``entry``.

    Append-only on PostgreSQL (settlements/sql/charge_triggers.sql). No foreign keys in the
    database: a run writes a row a household, and a key's look-up per row would cost as much as
    the row. The household is checked by its wallet, written in the same statement from the same
    rows (the wallets' household check), and the entry and cycle by ``reconcile_ledger``."""

    pk = models.CompositePrimaryKey("household", "cycle", "period")
    household = models.ForeignKey(
        Household,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the key leads with it
        related_name="+",
        verbose_name="خانوار",
    )
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # read a cycle's month partition, never by cycle alone across months
        related_name="+",
        verbose_name="دوره",
    )
    # The cycle's month (``ledger.entry_period``): the partition key, and the entry's month.
    period = models.DateField("ماه دفتر", editable=False)
    amount_rial = models.BigIntegerField("مبلغ شارژ (ریال)")
    entry = models.ForeignKey(
        JournalEntry,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # reconcile reads a month's rows whole; nothing looks one entry up
        related_name="+",
        verbose_name="سند",
    )

    class Meta:
        verbose_name = "شارژ دوره خانوار"
        verbose_name_plural = "شارژهای دوره خانوارها"
        constraints = [
            models.CheckConstraint(condition=Q(amount_rial__gt=0), name="charge_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}/{self.cycle_id}: {self.amount_rial}"
