"""A trigram index for the store finder's free-text search on PostgreSQL (pg_trgm).

``name ILIKE '%q%'`` over 260,000 stores needs it; SQLite (the embedded default) skips it.
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS store_name_trgm_idx ON stores_store USING gin (upper(name) gin_trgm_ops)
    WHERE status = 'connected';
"""
DROP = "DROP INDEX IF EXISTS store_name_trgm_idx;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("stores", "0002_basket_items")]
    operations = [migrations.RunPython(forwards, backwards)]
