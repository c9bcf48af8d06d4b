"""The POS checkout's database work made smaller again after the month partitions (issue 18).

- A journal entry's references (household, purchase, reversed entry) are checked by one statement
  trigger (``money_partitions.sql``): the households' own trigger, ``journalentry_households_exist``,
  goes.
- The checkout's read of the cycle's spend starts at the cycle's month
  (``checkout_record_purchase.sql``), so it opens no older month's partition.

PostgreSQL only: on SQLite none of these triggers or functions exist."""

from django.db import migrations

from settlements.sql import load

HOUSEHOLDS_TRIGGER = """
CREATE OR REPLACE TRIGGER journalentry_households_exist AFTER INSERT ON settlements_journalentry
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION settlements_check_households_exist();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(load("money_partitions.sql"), params=None)
        schema_editor.execute(load("checkout_record_purchase.sql"), params=None)


def backwards(apps, schema_editor):
    # The combined entry check stays (it checks what the households' trigger checked, and more).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(HOUSEHOLDS_TRIGGER, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("settlements", "0021_money_tables_by_month"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
