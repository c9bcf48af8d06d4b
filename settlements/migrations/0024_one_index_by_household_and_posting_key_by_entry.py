"""Three index entries fewer for every charge a run posts (issue 18): one on the entry, one on
each of its two postings.

- Journal entries: the one-charge-per-household-and-cycle unique index and the index of look-ups
  by (household, cycle, kind) become one unique index on (household, cycle, kind, period, 0 for a
  charge else the entry's id): a second charge of a household, cycle and month still collides,
  any other entry never does, and every look-up that went by either index goes by its leading
  columns.
- Postings, on PostgreSQL: the primary key becomes (entry, id, period) and the separate index on
  the entry goes; the key serves every look-up of an entry's legs. SQLite keeps its key and index.

Each index builds on every month partition; on a database with years of ledger, run it in a
maintenance window (docs/operations.md)."""

import django.db.models.deletion
from django.db import migrations, models

POSTING_KEY_BY_ENTRY = """
ALTER TABLE settlements_posting DROP CONSTRAINT settlements_posting_pkey;
ALTER TABLE settlements_posting ADD CONSTRAINT settlements_posting_pkey PRIMARY KEY (entry_id, id, period);
DROP INDEX IF EXISTS settlements_posting_entry_id_f8e10300;
"""

POSTING_KEY_BY_ID = """
CREATE INDEX settlements_posting_entry_id_f8e10300 ON settlements_posting (entry_id);
ALTER TABLE settlements_posting DROP CONSTRAINT settlements_posting_pkey;
ALTER TABLE settlements_posting ADD CONSTRAINT settlements_posting_pkey PRIMARY KEY (id, period);
"""


def posting_key_by_entry(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTING_KEY_BY_ENTRY, params=None)


def posting_key_by_id(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTING_KEY_BY_ID, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0023_postings_checked_each_entry_once"),
    ]

    operations = [
        # The new index first: the one-charge rule never lapses.
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.UniqueConstraint(
                models.F("household"),
                models.F("cycle"),
                models.F("kind"),
                models.F("period"),
                models.Case(
                    models.When(kind="cycle_charge", then=models.Value(0)),
                    default=models.F("id"),
                    output_field=models.BigIntegerField(),
                ),
                name="entry_household_cycle_one_charge",
            ),
        ),
        migrations.RemoveConstraint(
            model_name="journalentry", name="entry_one_charge_per_household_cycle"
        ),
        migrations.RemoveIndex(model_name="journalentry", name="entry_household_cycle_idx"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="posting",
                    name="entry",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="postings",
                        to="settlements.journalentry",
                        verbose_name="سند",
                    ),
                )
            ],
            database_operations=[migrations.RunPython(posting_key_by_entry, posting_key_by_id)],
        ),
    ]
