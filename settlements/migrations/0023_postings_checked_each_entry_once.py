"""The postings' statement check reads each entry and each account once (issue 18).

``settlements/sql/ledger_triggers.sql`` is loaded again: for a statement of more than eight
postings (a run's: two postings an entry, one fund account), the look-ups of their entries go one
month at a time, each entry once, with the month a value the plan starts with (one partition
opened, not pruned again per look-up), and the look-ups of their accounts each account once.
What is checked is unchanged. PostgreSQL only."""

from django.db import migrations

from settlements.sql import load


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(load("ledger_triggers.sql"), params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0022_checkout_checks_in_fewer_steps"),
    ]

    # Backwards keeps the function: it checks the same things as the one before it.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
