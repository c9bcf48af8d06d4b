"""A run's last sign of life, and the beat's every-minute resume of runs that lost chunks with a
dead worker node (``settlements.tasks.resume_stalled_runs``, docs/operations.md)."""

from django.db import migrations, models

NAME = "ادامه اجراهای دسته‌ای متوقف‌شده (گره کارگر از کار افتاده)"
TASK = "settlements.tasks.resume_stalled_runs"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tehran"
    )
    # A tick nobody took within its minute is dropped: the next one does the same job.
    PeriodicTask.objects.get_or_create(
        name=NAME, defaults={"task": TASK, "crontab": crontab, "expire_seconds": 60}
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=TASK).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('settlements', '0018_posting_references_checked_per_statement'),
        ('django_celery_beat', '0019_alter_periodictasks_options'),
    ]

    operations = [
        migrations.AddField(
            model_name='creditrun',
            name='progress_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='آخرین پیشرفت'),
        ),
        migrations.RunPython(create, remove),
    ]
