"""Indexes for the officers' store settlement list, each in the list's order (newest first): a
run's and a payout file's settlements (replacing the two foreign keys' plain indexes), the rare
statuses (held, failed, carried), and each payout file's unanswered and failed rows
(docs/decisions.md, "Store settlements in the admin")."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('settlements', '0013_store_anomaly_schedule'),
    ]

    operations = [
        migrations.AlterField(
            model_name='storesettlement',
            name='payout_batch',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='settlements.payoutbatch', verbose_name='فایل پرداخت'),
        ),
        migrations.AlterField(
            model_name='storesettlement',
            name='run',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='settlements.settlementrun', verbose_name='اجرا'),
        ),
        migrations.AddIndex(
            model_name='storesettlement',
            index=models.Index(fields=['run', '-created_at', '-id'], name='store_settlement_run_idx'),
        ),
        migrations.AddIndex(
            model_name='storesettlement',
            index=models.Index(fields=['payout_batch', '-created_at', '-id'], name='store_settlement_batch_idx'),
        ),
        migrations.AddIndex(
            model_name='storesettlement',
            index=models.Index(condition=models.Q(('status__in', ['held', 'failed', 'carried'])), fields=['status', '-created_at', '-id'], name='store_settlement_status_idx'),
        ),
        migrations.AddIndex(
            model_name='storesettlement',
            index=models.Index(condition=models.Q(('status__in', ['exported', 'failed'])), fields=['payout_batch', 'status'], name='store_settlement_answer_idx'),
        ),
    ]
