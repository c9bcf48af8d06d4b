"""``kalabarg_prepare``: the hot path's statements prepared by name behind a transaction-mode
pooler (``settlements/sql/hot_prepare.sql``, ``kalabarg/lib/hot_sql.py``)."""

from django.db import migrations

from settlements.sql import load

CREATE = load("hot_prepare.sql")
DROP = "DROP FUNCTION IF EXISTS kalabarg_prepare(text, text)"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0016_cycle_basket")]
    operations = [migrations.RunPython(forwards, backwards)]
