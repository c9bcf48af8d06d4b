"""A foreign key's own index where a composite index of the same table leads with that key
(tests/infra/test_redundant_indexes.py; docs/decisions.md, "No index another index answers").

Only the index is dropped (``kalabarg.lib.migration_ops``): Django's own ``AlterField`` would drop
and re-add the foreign key, validating every row under lock."""

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib.migration_ops import drop_foreign_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0024_one_index_by_household_and_posting_key_by_entry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="cyclecost",
                    name="cycle",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="costs",
                        to="settlements.cycle",
                        verbose_name="دوره",
                    ),
                ),
                migrations.AlterField(
                    model_name="runchunk",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="settlements.creditrun",
                        verbose_name="اجرا",
                    ),
                ),
                migrations.AlterField(
                    model_name="settlementchunk",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="settlements.settlementrun",
                        verbose_name="اجرا",
                    ),
                ),
            ],
            database_operations=[
                drop_foreign_key_index(
                    table="settlements_cyclecost",
                    column="cycle_id",
                    name="settlements_cyclecost_cycle_id_a9a5f39e",
                ),
                drop_foreign_key_index(
                    table="settlements_runchunk",
                    column="run_id",
                    name="settlements_runchunk_run_id_b467ef24",
                ),
                drop_foreign_key_index(
                    table="settlements_settlementchunk",
                    column="run_id",
                    name="settlements_settlementchunk_run_id_cc0f9191",
                ),
            ],
        ),
    ]
