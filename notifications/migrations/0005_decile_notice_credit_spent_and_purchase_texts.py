"""Issue 13 §5 and §6: texts and a schedule.

- The decile notice says the bonus follows kalabarg credit SPENT, not "buying … of basket items".
  Only a template that still has the old default text is changed: an officer's edit is kept.
- The two purchase texts (a purchase, a reversal) are created once, never overwritten.
- A beat schedule, every minute, builds the purchase messages set-based and sends them.

The texts are written out here (not imported from ``notifications.defaults``), so this migration
means the same thing whatever the defaults say later.
"""

from django.db import migrations

OLD_DECILE_NOTICE = (
    "سرپرست گرامی خانوار، شما در دهک {decile} هستید و مشمول طرح کالابرگ شده‌اید. "
    "با خرید {threshold} از اقلام سبد کالابرگ، {bonus} اعتبار مضاعف می‌گیرید{basis}. "
    "اطلاعات خانوار خود را در سامانه حمایت ببینید. پیامک‌های رسمی کالابرگ هرگز پیوند ندارند."
)
NEW_DECILE_NOTICE = (
    "سرپرست گرامی خانوار، شما در دهک {decile} هستید و مشمول طرح کالابرگ شده‌اید. "
    "اعتبار کالابرگ هر ماه {credit} است؛ با خرج کردن {threshold} از اعتبار کالابرگ در همان ماه، "
    "{bonus} اعتبار مضاعف می‌گیرید{basis}. "
    "اطلاعات خانوار خود را در سامانه حمایت ببینید. پیامک‌های رسمی کالابرگ هرگز پیوند ندارند."
)
PURCHASE_TEXTS = {
    "purchase_made": (
        "خرید با کالابرگ خانوار شما در فروشگاه «{store}»: {credit} از اعتبار کالابرگ خرج شد. "
        "مانده اعتبار: {balance}. اگر این خرید را نمی‌شناسید، به بانک صادرکننده کارت خبر دهید."
    ),
    "purchase_reversed": (
        "برگشت خرید کالابرگ در فروشگاه «{store}»: {credit} به اعتبار کالابرگ خانوار شما برگشت. "
        "مانده اعتبار: {balance}."
    ),
}
SCHEDULE_NAME = "پیامک: خبر خرید و برگشت خرید به سرپرست"
SCHEDULE_TASK = "notifications.tasks.sms_queue_purchase_messages"


def forwards(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    SmsTemplate.objects.filter(kind="decile_notice", body=OLD_DECILE_NOTICE).update(body=NEW_DECILE_NOTICE)
    for kind, body in PURCHASE_TEXTS.items():
        SmsTemplate.objects.get_or_create(kind=kind, defaults={"body": body})
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tehran"
    )
    PeriodicTask.objects.get_or_create(name=SCHEDULE_NAME, defaults={"task": SCHEDULE_TASK, "crontab": crontab})


def backwards(apps, schema_editor):
    SmsTemplate = apps.get_model("notifications", "SmsTemplate")
    SmsTemplate.objects.filter(kind="decile_notice", body=NEW_DECILE_NOTICE).update(body=OLD_DECILE_NOTICE)


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_purchase_messages"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
