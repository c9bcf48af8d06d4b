"""Months of the money tables detached for archive (PostgreSQL partitions, issue 18).

A detached month's purchases, entries and postings leave the live tables, so what the ledger's
checks add up must remember them: ``ArchivedBalance`` keeps each account's sum of the month's
postings, and ``reconcile_ledger`` adds it to what is still attached."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from settlements.models.core import Account


class ArchivedMonth(models.Model):
    """One month detached from the purchases, journal entries and postings."""

    period = models.DateField("ماه", unique=True)
    label = models.CharField("ماه (شمسی)", max_length=7)
    purchases = models.BigIntegerField("خریدها")
    entries = models.BigIntegerField("اسناد")
    postings = models.BigIntegerField("ردیف‌ها")
    tables = models.JSONField("جدول‌های بایگانی")
    detached_at = models.DateTimeField("زمان جداسازی", auto_now_add=True)
    detached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="کاربر",
    )

    class Meta:
        verbose_name = "ماه بایگانی‌شده"
        verbose_name_plural = "ماه‌های بایگانی‌شده"

    def __str__(self) -> str:
        return self.label


class ArchivedBalance(models.Model):
    """An account's postings in an archived month, summed when the month was detached."""

    month = models.ForeignKey(
        ArchivedMonth, on_delete=models.PROTECT, related_name="balances", verbose_name="ماه"
    )
    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", verbose_name="حساب", db_index=False
    )
    amount_rial = models.BigIntegerField("جمع ردیف‌ها (ریال)")
    postings = models.BigIntegerField("ردیف‌ها")
    last_posting_id = models.BigIntegerField("آخرین ردیف")

    class Meta:
        verbose_name = "مانده بایگانی‌شده"
        verbose_name_plural = "مانده‌های بایگانی‌شده"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "month"], name="archived_balance_one_per_month"
            ),
            models.CheckConstraint(
                condition=Q(postings__gt=0), name="archived_balance_has_postings"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_rial}"
