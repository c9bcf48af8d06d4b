"""Purchases, journal entries and postings partitioned by month on PostgreSQL (issue 18).

Each of the three tables gets a ``period`` (the first day of a Jalali month) and is rebuilt as a
table partitioned on it, with a partition per month from its oldest row to three months ahead and a
default partition (``settlements.services.partitions.convert_money_tables``, which
``manage.py ledger_partitions convert`` also runs, with progress, ahead of a deploy). Keys unique
before stay unique per month; the foreign keys naming a purchase or an entry become statement-level
checks (``settlements/sql/money_partitions.sql``), and the ledger's guards are loaded again for the
postings' (entry, month) check. The checkout function gains the month (``p_period``).

On the embedded SQLite default nothing is partitioned: the plain schema operations run there
(``UnlessPostgres``), and the model state moves the same way on both."""

import datetime as dt

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from kalabarg.lib.partitions import UnlessPostgres, month_start, period_of
from settlements.sql import load

BEAT_NAME = "ساخت جدول‌های ماه‌های آینده (خرید، سند، ردیف سند)"
BEAT_TASK = "settlements.tasks.ensure_ledger_months"
OLD_CHECKOUT = (
    "DROP FUNCTION IF EXISTS checkout_record_purchase(bigint, bigint, bigint, bigint, text, text, text, "
    "text, text, bigint, bigint, timestamptz, bigint[], numeric[], bigint[], bigint[], bigint[], bigint[], "
    "bigint, text, bigint, bigint, bigint, bigint, bigint, bigint, text, jsonb)"
)


def fill_periods_on_sqlite(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return
    JournalEntry = apps.get_model("settlements", "JournalEntry")
    Posting = apps.get_model("settlements", "Posting")
    Purchase = apps.get_model("stores", "Purchase")
    Cycle = apps.get_model("settlements", "Cycle")
    cycle_months = {pk: month_start(starts_on) for pk, starts_on in Cycle.objects.values_list("id", "starts_on")}
    rows = JournalEntry.objects.values_list("id", "kind", "cycle_id", "purchase_id", "created_at")
    for entry_id, kind, cycle_id, purchase_id, created_at in rows.iterator():
        if kind in ("cycle_charge", "bonus") and cycle_id in cycle_months:
            period = cycle_months[cycle_id]
        elif kind == "purchase" and purchase_id is not None:
            period = Purchase.objects.values_list("period", flat=True).get(pk=purchase_id)
        else:
            period = period_of(created_at)
        JournalEntry.objects.filter(pk=entry_id).update(period=period)
    # Every posting takes its entry's month in one statement.
    Posting.objects.update(
        period=models.Subquery(JournalEntry.objects.filter(pk=models.OuterRef("entry_id")).values("period")[:1])
    )


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from settlements.services.partitions import convert_money_tables

    convert_money_tables()
    schema_editor.execute(OLD_CHECKOUT, params=None)
    schema_editor.execute(load("checkout_record_purchase.sql"), params=None)


def refuse_unpartitioning(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        raise migrations.exceptions.IrreversibleError(
            "the money tables stay partitioned by month; restore a backup taken before to go back"
        )


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Tehran"
    )
    PeriodicTask.objects.get_or_create(name=BEAT_NAME, defaults={"task": BEAT_TASK, "crontab": crontab})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task=BEAT_TASK).delete()


def _period_field() -> models.DateField:
    return models.DateField(default=dt.date(1970, 1, 1), editable=False, verbose_name="ماه دفتر")


class Migration(migrations.Migration):

    dependencies = [
        ("settlements", "0020_household_checked_per_statement"),
        ("stores", "0009_purchase_period"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        UnlessPostgres(
            migrations.AddField(
                model_name="journalentry", name="period", field=_period_field(), preserve_default=False
            )
        ),
        UnlessPostgres(
            migrations.AddField(model_name="posting", name="period", field=_period_field(), preserve_default=False)
        ),
        migrations.RunPython(fill_periods_on_sqlite, migrations.RunPython.noop),
        UnlessPostgres(migrations.RemoveConstraint(model_name="journalentry", name="entry_unique_idempotency_key")),
        UnlessPostgres(
            migrations.AddConstraint(
                model_name="journalentry",
                constraint=models.UniqueConstraint(
                    fields=("idempotency_key", "period"), name="entry_unique_idempotency_key"
                ),
            )
        ),
        UnlessPostgres(
            migrations.RemoveConstraint(model_name="journalentry", name="entry_one_charge_per_household_cycle")
        ),
        UnlessPostgres(
            migrations.AddConstraint(
                model_name="journalentry",
                constraint=models.UniqueConstraint(
                    condition=models.Q(("kind", "cycle_charge")),
                    fields=("household", "cycle", "period"),
                    name="entry_one_charge_per_household_cycle",
                ),
            )
        ),
        UnlessPostgres(
            migrations.AlterField(
                model_name="journalentry",
                name="purchase",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    db_index=False,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="stores.purchase",
                    verbose_name="خرید",
                ),
            )
        ),
        UnlessPostgres(
            migrations.AlterField(
                model_name="journalentry",
                name="reverses",
                field=models.ForeignKey(
                    blank=True,
                    db_constraint=False,
                    db_index=False,
                    null=True,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="settlements.journalentry",
                    verbose_name="برگشتِ",
                ),
            )
        ),
        UnlessPostgres(
            migrations.AlterField(
                model_name="settlementline",
                name="purchase",
                field=models.ForeignKey(
                    db_constraint=False,
                    db_index=False,
                    on_delete=django.db.models.deletion.PROTECT,
                    related_name="+",
                    to="stores.purchase",
                    verbose_name="خرید",
                ),
            )
        ),
        migrations.CreateModel(
            name="ArchivedMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("period", models.DateField(unique=True, verbose_name="ماه")),
                ("label", models.CharField(max_length=7, verbose_name="ماه (شمسی)")),
                ("purchases", models.BigIntegerField(verbose_name="خریدها")),
                ("entries", models.BigIntegerField(verbose_name="اسناد")),
                ("postings", models.BigIntegerField(verbose_name="ردیف\u200cها")),
                ("tables", models.JSONField(verbose_name="جدول\u200cهای بایگانی")),
                ("detached_at", models.DateTimeField(auto_now_add=True, verbose_name="زمان جداسازی")),
                (
                    "detached_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="کاربر",
                    ),
                ),
            ],
            options={"verbose_name": "ماه بایگانی\u200cشده", "verbose_name_plural": "ماه\u200cهای بایگانی\u200cشده"},
        ),
        migrations.CreateModel(
            name="ArchivedBalance",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("amount_rial", models.BigIntegerField(verbose_name="جمع ردیف\u200cها (ریال)")),
                ("postings", models.BigIntegerField(verbose_name="ردیف\u200cها")),
                ("last_posting_id", models.BigIntegerField(verbose_name="آخرین ردیف")),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="settlements.account",
                        verbose_name="حساب",
                    ),
                ),
                (
                    "month",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="balances",
                        to="settlements.archivedmonth",
                        verbose_name="ماه",
                    ),
                ),
            ],
            options={
                "verbose_name": "مانده بایگانی\u200cشده",
                "verbose_name_plural": "مانده\u200cهای بایگانی\u200cشده",
                "constraints": [
                    models.UniqueConstraint(fields=("account", "month"), name="archived_balance_one_per_month"),
                    models.CheckConstraint(condition=models.Q(("postings__gt", 0)), name="archived_balance_has_postings"),
                ],
            },
        ),
        migrations.RunPython(partition, refuse_unpartitioning),
        migrations.RunPython(schedule, unschedule),
    ]
