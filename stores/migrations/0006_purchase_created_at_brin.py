"""A BRIN index on ``stores_purchase.created_at`` (PostgreSQL only).

The purchase-SMS builder (``notifications.services.purchases``) reads the purchases committed
since its watermark every minute. Purchases are appended in time order, so a BRIN index answers
that range read from a few pages of summaries while costing the POS write almost nothing (a
B-tree would add a page write per purchase)."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS purchase_created_at_brin "
            "ON stores_purchase USING brin (created_at) WITH (pages_per_range = 32)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS purchase_created_at_brin")


class Migration(migrations.Migration):
    dependencies = [("stores", "0005_purchase_paid_with_idempotencyrecord")]

    operations = [migrations.RunPython(create, drop)]
