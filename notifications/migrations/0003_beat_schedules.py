"""The SMS schedules (django-celery-beat; officers can change them in the admin). Created once."""

from django.db import migrations

SCHEDULES = [
    # name, task, minute, hour, day of month
    ("پیامک: ادامه ارسال و تلاش دوباره", "notifications.tasks.sms_kick", "*", "*", "*"),
    ("پیامک: پرسش وضعیت تحویل", "notifications.tasks.sms_poll_statuses", "*/15", "*", "*"),
    ("پیامک: مانده ماهانه اعتبار", "notifications.tasks.sms_monthly_balance", "0", "10", "1"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour, day in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month=day, month_of_year="*", timezone="Asia/Tehran"
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_seed_templates"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
