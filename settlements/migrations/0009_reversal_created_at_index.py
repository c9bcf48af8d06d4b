"""A partial index on reversal entries' ``created_at`` (PostgreSQL only).

The purchase-SMS builder (``notifications.services.purchases``) reads the reversals posted since
its watermark every minute. Reversals are a small share of the ledger, so a partial B-tree over
them alone is small and spares every other posting's write."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS entry_reversal_created_at_idx "
            "ON settlements_journalentry (created_at) WHERE kind = 'reversal'"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS entry_reversal_created_at_idx")


class Migration(migrations.Migration):
    dependencies = [("settlements", "0008_bonus_earned_again")]

    operations = [migrations.RunPython(create, drop)]
