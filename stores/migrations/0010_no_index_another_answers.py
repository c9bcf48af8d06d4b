"""A foreign key's own index where a composite index of the same table leads with that key
(tests/infra/test_redundant_indexes.py; docs/decisions.md, "No index another index answers").

Only the index is dropped (``kalabarg.lib.migration_ops``): Django's own ``AlterField`` would drop
and re-add the foreign key, validating every row under lock."""

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib.migration_ops import drop_foreign_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("stores", "0009_purchase_period"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="terminal",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="stores.terminal",
                        verbose_name="پایانه",
                    ),
                ),
                migrations.AlterField(
                    model_name="itemprice",
                    name="item",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="prices",
                        to="stores.basketitem",
                        verbose_name="قلم",
                    ),
                ),
                migrations.AlterField(
                    model_name="purchaseline",
                    name="item",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="stores.basketitem",
                        verbose_name="قلم",
                    ),
                ),
                migrations.AlterField(
                    model_name="purchaseline",
                    name="purchase",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="stores.purchase",
                        verbose_name="خرید",
                    ),
                ),
                migrations.AlterField(
                    model_name="storeflag",
                    name="store",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="flags",
                        to="stores.store",
                        verbose_name="فروشگاه",
                    ),
                ),
            ],
            database_operations=[
                drop_foreign_key_index(
                    table="stores_idempotencyrecord",
                    column="terminal_id",
                    name="stores_idempotencyrecord_terminal_id_7300e5e4",
                ),
                drop_foreign_key_index(
                    table="stores_itemprice",
                    column="item_id",
                    name="stores_itemprice_item_id_6dd085ba",
                ),
                drop_foreign_key_index(
                    table="stores_purchaseline",
                    column="item_id",
                    name="stores_purchaseline_item_id_b7be9064",
                ),
                drop_foreign_key_index(
                    table="stores_purchaseline",
                    column="purchase_id",
                    name="stores_purchaseline_purchase_id_d192f80c",
                ),
                drop_foreign_key_index(
                    table="stores_storeflag",
                    column="store_id",
                    name="stores_storeflag_store_id_dbfe54df",
                ),
            ],
        ),
    ]
