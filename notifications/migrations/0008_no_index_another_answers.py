"""A foreign key's own index where a composite index of the same table leads with that key
(tests/infra/test_redundant_indexes.py; docs/decisions.md, "No index another index answers").

Only the index is dropped (``kalabarg.lib.migration_ops``): Django's own ``AlterField`` would drop
and re-add the foreign key, validating every row under lock."""

import django.db.models.deletion
from django.db import migrations, models

from kalabarg.lib.migration_ops import drop_foreign_key_index


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0007_build_progress_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="smsbuildchunk",
                    name="campaign",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="notifications.smscampaign",
                        verbose_name="پویش",
                    ),
                ),
            ],
            database_operations=[
                drop_foreign_key_index(
                    table="notifications_smsbuildchunk",
                    column="campaign_id",
                    name="notifications_smsbuildchunk_campaign_id_923b5d7d",
                ),
            ],
        ),
    ]
