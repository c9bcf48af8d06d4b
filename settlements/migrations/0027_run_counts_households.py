"""A run's count is of the households it credited or debited (a charge chunk is one entry since
settlements 0026): its label says so. Only the label changes; no SQL."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('settlements', '0026_one_charge_entry_a_chunk'),
    ]

    operations = [
        migrations.AlterField(
            model_name='creditrun',
            name='entries_created',
            field=models.BigIntegerField(default=0, verbose_name='خانوارهای ثبت\u200cشده'),
        ),
    ]
