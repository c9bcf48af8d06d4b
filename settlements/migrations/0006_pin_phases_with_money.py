"""A phase that money moved under is pinned in PostgreSQL, not only in the admin.

Once any journal entry names a phase, its rules (dates, basis, policy, minimum items) and its
decile bands can no longer change: UPDATE/DELETE of the phase or INSERT/UPDATE/DELETE of its
bands is refused. Two changes stay possible: its name, and setting an end date that is not in
the past (ending an open phase from today on).
"""

from django.db import migrations

from settlements.sql import load

CREATE = load("pin_phases.sql")

DROP = """
DROP TRIGGER IF EXISTS phase_band_pinned ON settlements_phaseband;
DROP TRIGGER IF EXISTS phase_pinned ON settlements_phase;
DROP FUNCTION IF EXISTS settlements_refuse_pinned_band();
DROP FUNCTION IF EXISTS settlements_refuse_pinned_phase();
DROP FUNCTION IF EXISTS settlements_phase_is_pinned(bigint);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0005_lean_ledger_indexes")]
    operations = [migrations.RunPython(forwards, backwards)]
