"""PostgreSQL guards for the ledger.

- Journal entries and postings are append-only: UPDATE and DELETE are refused (a correction is a
  new reversing entry). TRUNCATE is left to operators and test teardown.
- Every statement that inserts postings must leave each entry it touches balanced: the
  statement's new postings, grouped by entry, sum to zero. Services always insert all legs of an
  entry in one statement, so this is checked once per statement, not once per row.
"""

from django.db import migrations

from settlements.sql import load

CREATE = load("ledger_triggers.sql")

DROP = """
DROP TRIGGER IF EXISTS posting_entries_balance ON settlements_posting;
DROP TRIGGER IF EXISTS posting_append_only ON settlements_posting;
DROP TRIGGER IF EXISTS journalentry_append_only ON settlements_journalentry;
DROP FUNCTION IF EXISTS settlements_check_balanced();
DROP FUNCTION IF EXISTS settlements_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
