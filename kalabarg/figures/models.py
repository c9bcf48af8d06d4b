"""Summary tables of the programme's figures, one row per cycle, province and decile.

Written only by ``kalabarg.figures.refresh`` (a task on the beat and after each credit run and
settlement), read by the dashboard and the transparency page: a page view never scans the ledger
or the purchases. A cycle's rows are replaced in one transaction, so a reader sees the old
figures or the new, never half of each.
"""

from django.db import models
from django.db.models import Q

from households.models import Province
from settlements.models import Cycle
from stores.models import Store


class RefreshStatus(models.TextChoices):
    RUNNING = "running", "در حال اجرا"
    COMPLETED = "completed", "پایان‌یافته"
    FAILED = "failed", "ناموفق"


class FiguresRefresh(models.Model):
    """One refresh of the summary tables: when, why, how long, and which cycles."""

    trigger = models.CharField("علت", max_length=32)
    status = models.CharField(
        "وضعیت", max_length=10, choices=RefreshStatus.choices, default=RefreshStatus.RUNNING
    )
    cycles = models.JSONField("دوره‌ها", default=list)
    started_at = models.DateTimeField("آغاز")
    finished_at = models.DateTimeField("پایان", null=True, blank=True)
    error = models.TextField("خطا", blank=True)

    class Meta:
        verbose_name = "به‌روزرسانی آمار"
        verbose_name_plural = "به‌روزرسانی‌های آمار"
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(
                fields=["-finished_at"],
                condition=Q(status="completed"),
                name="figures_refresh_done_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trigger} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float | None:
        """How long it took (a duration for people, derived from the two moments; not money)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CycleFigure(models.Model):
    """A cycle's figures for the households of one province and one decile.

    Households are placed by their decile on the cycle's first day (``decile`` 0: none yet) and
    their province. Money is net of reversals (a reversed purchase counts for nothing)."""

    # No index of its own: cycle_figure_one_per_cell leads with it.
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="دوره",
        db_index=False,
    )
    province = models.ForeignKey(
        Province, on_delete=models.CASCADE, related_name="+", verbose_name="استان"
    )
    decile = models.PositiveSmallIntegerField("دهک")
    covered = models.BooleanField("مشمول")  # the decile lies in a band of the cycle's phase
    households = models.BigIntegerField("خانوارها", default=0)
    members = models.BigIntegerField("افراد", default=0)
    charged = models.BigIntegerField("خانوارهای شارژشده", default=0)
    charged_members = models.BigIntegerField("افراد خانوارهای شارژشده", default=0)
    credit_issued_rial = models.BigIntegerField("اعتبار شارژشده (ریال)", default=0)
    participating = models.BigIntegerField("خانوارهای خریدار", default=0)
    purchases = models.BigIntegerField("خریدها", default=0)
    basket_rial = models.BigIntegerField("ارزش سبدها به قیمت روز (ریال)", default=0)
    credit_spent_rial = models.BigIntegerField("اعتبار خرج‌شده (ریال)", default=0)
    compensation_rial = models.BigIntegerField("جبران تورم (ریال)", default=0)
    bonuses = models.BigIntegerField("اعتبار مضاعف (تعداد)", default=0)
    bonus_rial = models.BigIntegerField("اعتبار مضاعف (ریال)", default=0)
    sms_sent = models.BigIntegerField("پیامک‌های فرستاده", default=0)
    sms_failed = models.BigIntegerField("پیامک‌های ناموفق", default=0)

    class Meta:
        verbose_name = "آمار دوره"
        verbose_name_plural = "آمار دوره‌ها"
        constraints = [
            models.UniqueConstraint(
                fields=["cycle", "province", "decile"], name="cycle_figure_one_per_cell"
            ),
            models.CheckConstraint(
                condition=Q(decile__gte=0, decile__lte=10), name="cycle_figure_decile_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.province_id}/{self.decile}"


class StoreFigure(models.Model):
    """A cycle's stores in one province: connected, selling in the cycle, paid for it."""

    # No index of its own: store_figure_one_per_cell leads with it.
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="دوره",
        db_index=False,
    )
    province = models.ForeignKey(
        Province, on_delete=models.CASCADE, related_name="+", verbose_name="استان"
    )
    connected = models.BigIntegerField("فروشگاه‌های متصل", default=0)
    selling = models.BigIntegerField("فروشگاه‌های دارای فروش", default=0)
    paid_out = models.BigIntegerField("فروشگاه‌های تسویه‌شده", default=0)
    paid_out_rial = models.BigIntegerField("مبلغ پرداخت‌شده (ریال)", default=0)

    class Meta:
        verbose_name = "آمار فروشگاه‌ها"
        verbose_name_plural = "آمار فروشگاه‌ها"
        constraints = [
            models.UniqueConstraint(fields=["cycle", "province"], name="store_figure_one_per_cell")
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}/{self.province_id}"


class TopStore(models.Model):
    """The stores that sold most (basket value at current prices) in a cycle, ranked."""

    # No index of its own: top_store_one_per_rank leads with it.
    cycle = models.ForeignKey(
        Cycle,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="دوره",
        db_index=False,
    )
    rank = models.PositiveSmallIntegerField("رتبه")
    store = models.ForeignKey(
        Store, on_delete=models.CASCADE, related_name="+", verbose_name="فروشگاه"
    )
    purchases = models.BigIntegerField("خریدها")
    basket_rial = models.BigIntegerField("ارزش سبدها (ریال)")
    owed_rial = models.BigIntegerField("سهم دولت و اعتبار (ریال)")

    class Meta:
        verbose_name = "فروشگاه پرفروش"
        verbose_name_plural = "فروشگاه‌های پرفروش"
        ordering = ["cycle", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "rank"], name="top_store_one_per_rank")
        ]

    def __str__(self) -> str:
        return f"{self.cycle_id}#{self.rank}"
