"""Purchases carry their month (``period``), and nothing names them by a database foreign key.

On PostgreSQL the table is rebuilt partitioned by month by ``settlements/0021`` (which needs this
state), so the schema operations here run only on the embedded SQLite default (``UnlessPostgres``);
the model state moves on both."""

import datetime as dt

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib.partitions import UnlessPostgres, period_of


def fill_periods(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return
    Purchase = apps.get_model("stores", "Purchase")
    for purchase_id, created_at in Purchase.objects.values_list("id", "created_at").iterator():
        Purchase.objects.filter(pk=purchase_id).update(period=period_of(created_at))


class Migration(migrations.Migration):

    dependencies = [
        ("stores", "0008_store_owner_name_flags_reversed_at"),
    ]

    operations = [
        UnlessPostgres(
            migrations.AddField(
                model_name="purchase",
                name="period",
                field=models.DateField(default=dt.date(1970, 1, 1), editable=False, verbose_name="ماه"),
                preserve_default=False,
            )
        ),
        migrations.RunPython(fill_periods, migrations.RunPython.noop),
        UnlessPostgres(migrations.RemoveConstraint(model_name="purchase", name="purchase_unique_idempotency_key")),
        UnlessPostgres(
            migrations.AddConstraint(
                model_name="purchase",
                constraint=models.UniqueConstraint(
                    fields=("terminal", "idempotency_key", "period"), name="purchase_unique_idempotency_key"
                ),
            )
        ),
        UnlessPostgres(
            migrations.AlterField(
                model_name="purchaseline",
                name="purchase",
                field=models.ForeignKey(
                    db_constraint=False,
                    on_delete=django.db.models.deletion.CASCADE,
                    related_name="lines",
                    to="stores.purchase",
                    verbose_name="خرید",
                ),
            )
        ),
        UnlessPostgres(
            migrations.AlterField(
                model_name="idempotencyrecord",
                name="purchase",
                field=models.ForeignKey(
                    db_constraint=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="stores.purchase",
                    verbose_name="خرید",
                ),
            )
        ),
    ]
