"""The payee's name on every store, store anomaly flags, and an index on reversal times."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0010_four_eyes_approver_and_import_reports'),
        ('stores', '0007_purchase_admin_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StoreFlag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('basket_above_province', 'میانگین خرید بسیار بالاتر از استان'), ('card_repeated', 'خریدهای پرشمار با یک کارت در یک روز'), ('few_cards', 'سهم بزرگ فروش از کارت\u200cهای اندک'), ('night_sales', 'فروش در ساعات شب'), ('under_line_limit', 'خرید درست زیر سقف هر قلم')], max_length=24, verbose_name='نوع')),
                ('period_from', models.DateField(verbose_name='از روز')),
                ('period_to', models.DateField(verbose_name='تا روز')),
                ('evidence', models.JSONField(default=dict, verbose_name='شواهد')),
                ('status', models.CharField(choices=[('open', 'باز'), ('closed', 'بسته')], default='open', max_length=8, verbose_name='وضعیت')),
                ('closed_at', models.DateTimeField(blank=True, null=True, verbose_name='زمان بستن')),
                ('close_reason', models.CharField(blank=True, max_length=500, verbose_name='دلیل بستن')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='ثبت')),
            ],
            options={
                'verbose_name': 'هشدار فروشگاه',
                'verbose_name_plural': 'هشدارهای فروشگاه',
                'ordering': ['-created_at', '-id'],
            },
        ),
        migrations.AddField(
            model_name='store',
            name='owner_name',
            field=models.CharField(default='', max_length=128, verbose_name='نام صاحب حساب'),
            preserve_default=False,
        ),
        # Stores registered before the payee's name was asked get their store's name until an
        # officer writes the account holder's (docs/decisions.md, "Store settlements").
        migrations.RunSQL(
            "UPDATE stores_store SET owner_name = name WHERE owner_name = ''",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='purchase',
            index=models.Index(condition=models.Q(('reversed_at__isnull', False)), fields=['reversed_at'], name='purchase_reversed_at_idx'),
        ),
        migrations.AddConstraint(
            model_name='store',
            constraint=models.CheckConstraint(condition=models.Q(('owner_name', ''), _negated=True), name='store_owner_name_given'),
        ),
        migrations.AddField(
            model_name='storeflag',
            name='closed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='بسته شده توسط'),
        ),
        migrations.AddField(
            model_name='storeflag',
            name='store',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='flags', to='stores.store', verbose_name='فروشگاه'),
        ),
        migrations.AddIndex(
            model_name='storeflag',
            index=models.Index(condition=models.Q(('status', 'open')), fields=['-created_at', '-id'], name='store_flag_open_recent_idx'),
        ),
        migrations.AddIndex(
            model_name='storeflag',
            index=models.Index(fields=['store', '-created_at'], name='store_flag_store_idx'),
        ),
        migrations.AddConstraint(
            model_name='storeflag',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'open')), fields=('store', 'kind'), name='store_flag_one_open_per_kind'),
        ),
        migrations.AddConstraint(
            model_name='storeflag',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('closed_at__isnull', True), ('closed_by__isnull', True), ('status', 'open')), models.Q(('closed_at__isnull', False), ('closed_by__isnull', False), ('status', 'closed'), models.Q(('close_reason', ''), _negated=True)), _connector='OR'), name='store_flag_closed_with_reason'),
        ),
        migrations.AddConstraint(
            model_name='storeflag',
            constraint=models.CheckConstraint(condition=models.Q(('period_to__gte', models.F('period_from'))), name='store_flag_period_ordered'),
        ),
    ]
