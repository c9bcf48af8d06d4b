"""A foreign key's own index where a composite index of the same table leads with that key
(tests/infra/test_redundant_indexes.py; docs/decisions.md, "No index another index answers").

Only the index is dropped (``kalabarg.lib.migration_ops``): Django's own ``AlterField`` would drop
and re-add the foreign key, validating every row under lock."""

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib.migration_ops import drop_foreign_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("figures", "0004_charged_members"),
        ("settlements", "0025_no_index_another_answers"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cyclefigure",
                    name="cycle",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="settlements.cycle",
                        verbose_name="دوره",
                    ),
                ),
                migrations.AlterField(
                    model_name="storefigure",
                    name="cycle",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="settlements.cycle",
                        verbose_name="دوره",
                    ),
                ),
                migrations.AlterField(
                    model_name="topstore",
                    name="cycle",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="settlements.cycle",
                        verbose_name="دوره",
                    ),
                ),
            ],
            database_operations=[
                drop_foreign_key_index(
                    table="figures_cyclefigure",
                    column="cycle_id",
                    name="figures_cyclefigure_cycle_id_4b4f24ff",
                ),
                drop_foreign_key_index(
                    table="figures_storefigure",
                    column="cycle_id",
                    name="figures_storefigure_cycle_id_e7e759c3",
                ),
                drop_foreign_key_index(
                    table="figures_topstore",
                    column="cycle_id",
                    name="figures_topstore_cycle_id_5109e627",
                ),
            ],
        ),
    ]
