"""The purchases admin's indexes (issue 15): store, terminal, card's last four, time and the
reversed, each in the list's order ``created_at DESC, id DESC``.

The single-column indexes of household, store, terminal and created_at go (each now leads a
composite index), so a purchase writes as many indexes as before. They are dropped by name rather
than by ``AlterField`` in the database: Django would also drop and re-add the three foreign keys,
re-checking every purchase under a lock."""

import django.db.models.deletion
from django.db import migrations, models

# (the index Django made for ``db_index=True``, its column)
OLD_INDEXES = [
    ("stores_purchase_created_at_3a058b93", "created_at"),
    ("stores_purchase_household_id_a031c430", "household_id"),
    ("stores_purchase_store_id_00c5b29b", "store_id"),
    ("stores_purchase_terminal_id_af9d1abb", "terminal_id"),
]


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0009_bankcard_status'),
        ('stores', '0006_terminal_payment_code_blocked_until'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='purchase',
                    name='created_at',
                    field=models.DateTimeField(verbose_name='زمان خرید'),
                ),
                migrations.AlterField(
                    model_name='purchase',
                    name='household',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='households.household', verbose_name='خانوار'),
                ),
                migrations.AlterField(
                    model_name='purchase',
                    name='store',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='stores.store', verbose_name='فروشگاه'),
                ),
                migrations.AlterField(
                    model_name='purchase',
                    name='terminal',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='purchases', to='stores.terminal', verbose_name='پایانه'),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "stores_purchase" ("{column}")',
                )
                for name, column in OLD_INDEXES
            ],
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['created_at', 'id'], name='purchase_created_idx'),
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['store', '-created_at', '-id'], name='purchase_store_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(fields=['terminal', '-created_at', '-id'], name='purchase_terminal_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(condition=models.Q(('card_last4', ''), _negated=True), fields=['card_last4', '-created_at', '-id'], name='purchase_card_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(condition=models.Q(('status', 'reversed')), fields=['-created_at', '-id'], name='purchase_reversed_recent_idx'),
        ),
    ]
