"""A household's cycle charge gets a row of its own (``settlements.Charge``), so that a national
run can post one journal entry a chunk instead of one a household (issue 18; docs/decisions.md,
"One charge entry a chunk").

- ``settlements_charge`` (household, cycle, period, amount, entry): on PostgreSQL partitioned by
  month as the entries are, with a partition for every month the entries have and a default one;
  its key (household, cycle, period) is the one-charge rule. Append-only
  (settlements/sql/charge_triggers.sql).
- Every charge posted so far (an entry a household) is copied in, with its wallet posting's amount,
  so old and new charges read alike.
- A charge entry need not name a household any more (a chunk's names many); a bonus still must.
  Replacing the check reads the entries once to validate it: on a production ledger this
  migration belongs in the maintenance window between runs (docs/operations.md).
"""

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib import partitions as months
from kalabarg.lib.partitions import UnlessPostgres
from settlements.sql import load

CHARGES = "settlements_charge"
ENTRIES = "settlements_journalentry"


def create_partitioned(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {CHARGES} (household_id bigint NOT NULL, cycle_id bigint NOT NULL, "
            "period date NOT NULL, amount_rial bigint NOT NULL, entry_id bigint NOT NULL, "
            "CONSTRAINT charge_amount_positive CHECK (amount_rial > 0), "
            f"CONSTRAINT {CHARGES}_pkey PRIMARY KEY (household_id, cycle_id, period)) "
            "PARTITION BY RANGE (period)"
        )
        cursor.execute(
            f"CREATE TABLE {months.default_partition_name(CHARGES)} PARTITION OF {CHARGES} DEFAULT"
        )
        for partition in months.partitions(cursor, ENTRIES):
            if partition.period is not None:
                months.create_month(cursor, CHARGES, partition.period)
        cursor.execute(load("charge_triggers.sql"))


def drop_partitioned(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP TABLE {CHARGES}", params=None)


# Each charge entry posted so far names its household, and its one wallet posting is the amount.
BACKFILL = (
    f"INSERT INTO {CHARGES} (household_id, cycle_id, period, amount_rial, entry_id) "
    "SELECT e.household_id, e.cycle_id, e.period, po.amount_rial, e.id "
    f"FROM {ENTRIES} e JOIN settlements_posting po ON po.entry_id = e.id AND po.period = e.period "
    "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
    "WHERE e.kind = 'cycle_charge'"
)


def backfill(apps, schema_editor):
    schema_editor.execute(BACKFILL, params=None)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ANALYZE {CHARGES}", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("households", "0013_no_index_another_answers"),
        ("settlements", "0025_no_index_another_answers"),
    ]

    operations = [
        UnlessPostgres(
            migrations.CreateModel(
                name="Charge",
                fields=[
                    ("pk", models.CompositePrimaryKey("household", "cycle", "period", blank=True, editable=False, primary_key=True, serialize=False)),
                    ("period", models.DateField(editable=False, verbose_name="ماه دفتر")),
                    ("amount_rial", models.BigIntegerField(verbose_name="مبلغ شارژ (ریال)")),
                    ("cycle", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="settlements.cycle", verbose_name="دوره")),
                    ("entry", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="settlements.journalentry", verbose_name="سند")),
                    ("household", models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="households.household", verbose_name="خانوار")),
                ],
                options={
                    "verbose_name": "شارژ دوره خانوار",
                    "verbose_name_plural": "شارژهای دوره خانوارها",
                    "constraints": [models.CheckConstraint(condition=models.Q(("amount_rial__gt", 0)), name="charge_amount_positive")],
                },
            )
        ),
        migrations.RunPython(create_partitioned, drop_partitioned),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="journalentry", name="entry_charge_and_bonus_name_household_cycle_phase"
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.CheckConstraint(
                condition=~models.Q(kind__in=["cycle_charge", "bonus"]) | models.Q(cycle__isnull=False, phase__isnull=False),
                name="entry_charge_and_bonus_name_cycle_phase",
            ),
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.CheckConstraint(
                condition=~models.Q(kind="bonus") | models.Q(household__isnull=False),
                name="entry_bonus_names_household",
            ),
        ),
    ]
