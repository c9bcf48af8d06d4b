"""The money core's schedules (django-celery-beat; officers can change them in the admin).

Times are Asia/Tehran. Created once: an officer's later change is never overwritten.
"""

from django.db import migrations

SCHEDULES = [
    # name, task, minute, hour
    ("شارژ ماهانه اعتبار (روزانه بررسی می‌شود)", "settlements.tasks.run_monthly_charge", "30", "0"),
    ("بررسی شبانه اعتبار مضاعف", "settlements.tasks.run_bonus_sweep", "0", "2"),
    ("جمع‌بندی مانده حساب‌ها", "settlements.tasks.roll_up_balances", "15", "*"),
    ("تطبیق شبانه دفتر کل", "settlements.tasks.reconcile_ledger", "0", "4"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minute, hour in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tehran"
        )
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "crontab": crontab})


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0003_seed_phases_and_funds"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
