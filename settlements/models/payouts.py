"""Store settlements and payouts: what the programme owes each connected store, and its payment.

A settlement run (``SettlementRun``) takes every purchase and every reversal not yet settled up
to its cut-off: first it stages them as lines (``SettlementLine``, one per purchase and one per
reversal, unique, so each is settled exactly once however often and however concurrently runs
go), then, chunk by chunk of store ids, it writes one ``StoreSettlement`` per store with the
store's Sheba and payee at that moment and posts store payable → settlement clearing.

A settlement's amount is its purchases (credit + compensation) plus its reversals (negative)
plus what it carries in: a settlement whose amount is zero or less is ``carried`` (nothing
moves; its amount stays in the store's payable and the store's next settlement takes it), and a
payout the bank failed is returned to the payable and taken by the next settlement the same way.
The lines' statuses, amounts and constraints are read together, hence one module.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from stores.models import Purchase, Store


class SettlementRunStatus(models.TextChoices):
    RUNNING = "running", "در حال اجرا"
    COMPLETED = "completed", "پایان‌یافته"
    FAILED = "failed", "ناموفق"


class SettlementRun(models.Model):
    """One settlement of every store up to a cut-off: staged lines, then chunks of store ids."""

    cutoff = models.DateTimeField("تا لحظه")
    # Items before this moment were settled by earlier runs (their lines are unique anyway);
    # reading from here keeps the nightly scan to the days since the last cut-off.
    scan_from = models.DateTimeField("بررسی از", null=True, blank=True)
    status = models.CharField(
        "وضعیت",
        max_length=10,
        choices=SettlementRunStatus.choices,
        default=SettlementRunStatus.RUNNING,
    )
    staged = models.BooleanField("اقلام جمع‌آوری شد", default=False)
    chunk_size = models.PositiveIntegerField("فروشگاه در هر بخش", default=10_000)
    chunks_total = models.PositiveIntegerField("تعداد بخش‌ها", default=0)
    chunks_done = models.PositiveIntegerField("بخش‌های انجام‌شده", default=0)
    lines_total = models.BigIntegerField("اقلام تسویه", default=0)
    settlements_total = models.PositiveIntegerField("تسویه‌ها", default=0)
    amount_rial = models.BigIntegerField("جمع مبلغ قابل پرداخت (ریال)", default=0)
    failures = models.PositiveIntegerField("خطاها", default=0)
    last_error = models.TextField("آخرین خطا", blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="آغازکننده",
    )
    started_by_process = models.CharField("فرایند", max_length=64, blank=True)
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    finished_at = models.DateTimeField("پایان", null=True, blank=True)

    class Meta:
        verbose_name = "اجرای تسویه فروشگاه‌ها"
        verbose_name_plural = "اجراهای تسویه فروشگاه‌ها"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(scan_from__isnull=True) | Q(scan_from__lt=models.F("cutoff")),
                name="settlement_run_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"تسویه تا {self.cutoff:%Y-%m-%d %H:%M}"

    @property
    def progress_percent(self) -> int:
        return 100 if not self.chunks_total else int(100 * self.chunks_done / self.chunks_total)


class SettlementChunk(models.Model):
    """A store-id range of a run, one transaction; a done chunk is skipped on a re-run."""

    # No index of its own: settlement_chunk_unique_index leads with it.
    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name="اجرا",
        db_index=False,
    )
    index = models.PositiveIntegerField("شماره")
    from_store_id = models.BigIntegerField("از فروشگاه")
    to_store_id = models.BigIntegerField("تا فروشگاه (بدون خودش)")
    done = models.BooleanField("انجام‌شده", default=False)
    settlements = models.PositiveIntegerField("تسویه‌ها", default=0)
    amount_rial = models.BigIntegerField("مبلغ (ریال)", default=0)
    attempts = models.PositiveSmallIntegerField("تلاش‌ها", default=0)
    last_error = models.TextField("آخرین خطا", blank=True)
    finished_at = models.DateTimeField("پایان", null=True, blank=True)

    class Meta:
        verbose_name = "بخش اجرای تسویه"
        verbose_name_plural = "بخش‌های اجرای تسویه"
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="settlement_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.index}"


class SettlementStatus(models.TextChoices):
    HELD = "held", "نگه‌داشته (فروشگاه تعلیق‌شده)"
    DRAFT = "draft", "پیش‌نویس"
    APPROVED = "approved", "تأییدشده"
    EXPORTED = "exported", "ارسال‌شده به بانک"
    PAID = "paid", "پرداخت‌شده"
    FAILED = "failed", "پرداخت ناموفق"
    CARRIED = "carried", "منتقل به تسویه بعد"


# A settlement in one of these owes the store its amount (> 0) and moved it to clearing.
OWED_STATUSES = ("held", "draft", "approved", "exported", "paid")
# A settlement in one of these hands its amount to the store's next settlement.
CARRIED_STATUSES = ("carried", "failed")


class PayoutBatch(models.Model):
    """One payout file for the bank: its rows are the settlements exported with it.

    The file is not stored: it is written again, byte for byte, from its settlements (every
    column is a snapshot on the settlement), and ``sha256`` proves it is the same file."""

    file_name = models.CharField("نام فایل", max_length=200)
    rows = models.PositiveIntegerField("تعداد ردیف")
    total_rial = models.BigIntegerField("جمع مبلغ (ریال)")
    sha256 = models.CharField("درهم‌سازی فایل", max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="صادرکننده",
    )
    created_by_process = models.CharField("فرایند", max_length=64, blank=True)
    created_at = models.DateTimeField("زمان صدور", auto_now_add=True)

    class Meta:
        verbose_name = "فایل پرداخت"
        verbose_name_plural = "فایل‌های پرداخت"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name


class StoreSettlement(models.Model):
    """What one run settles for one store, and the life of its payout."""

    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.PROTECT,
        related_name="settlements",
        verbose_name="اجرا",
        db_index=False,  # store_settlement_run_idx leads with it (and the unique run, store)
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="settlements",
        verbose_name="فروشگاه",
        db_index=False,  # store_settlement_store_idx leads with it
    )
    cutoff = models.DateTimeField("تا لحظه")
    sheba = models.CharField("شماره شبا", max_length=26)
    owner_name = models.CharField("نام صاحب حساب", max_length=128)
    owner_national_code = models.CharField("کد ملی مالک", max_length=10)
    purchase_count = models.PositiveIntegerField("تعداد خرید", default=0)
    reversal_count = models.PositiveIntegerField("تعداد برگشت", default=0)
    purchases_rial = models.BigIntegerField("خریدها (ریال)", default=0)
    reversals_rial = models.BigIntegerField("برگشت‌ها (ریال)", default=0)
    carried_in_rial = models.BigIntegerField("منتقل‌شده از پیش (ریال)", default=0)
    amount_rial = models.BigIntegerField("مبلغ (ریال)")
    status = models.CharField("وضعیت", max_length=10, choices=SettlementStatus.choices)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="آزادکننده",
    )
    released_at = models.DateTimeField("زمان آزادسازی", null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="تأییدکننده",
    )
    approved_at = models.DateTimeField("زمان تأیید", null=True, blank=True)
    payout_batch = models.ForeignKey(
        PayoutBatch,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="settlements",
        verbose_name="فایل پرداخت",
        db_index=False,  # store_settlement_batch_idx leads with it
    )
    exported_at = models.DateTimeField("زمان ارسال", null=True, blank=True)
    bank_reference = models.CharField("شماره پیگیری بانک", max_length=64, blank=True)
    failure_reason = models.CharField("دلیل ناموفق بودن (بانک)", max_length=500, blank=True)
    answered_at = models.DateTimeField("زمان پاسخ بانک", null=True, blank=True)
    carried_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_from",
        verbose_name="منتقل‌شده به",
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)

    class Meta:
        verbose_name = "تسویه فروشگاه"
        verbose_name_plural = "تسویه‌های فروشگاه"
        ordering = ["-created_at", "-id"]
        # Finance officers and the supervisor approve drafts for payment (roles.py).
        permissions = [("approve_storesettlement", "Can approve store settlements for payment")]
        constraints = [
            models.UniqueConstraint(fields=["run", "store"], name="store_settlement_one_per_run"),
            models.CheckConstraint(
                condition=Q(
                    amount_rial=models.F("purchases_rial")
                    + models.F("reversals_rial")
                    + models.F("carried_in_rial")
                ),
                name="store_settlement_amount_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(purchases_rial__gte=0, reversals_rial__lte=0),
                name="store_settlement_signs",
            ),
            # Only a positive amount is owed; zero or less is carried to the next settlement.
            models.CheckConstraint(
                condition=Q(status__in=[*OWED_STATUSES, "failed"], amount_rial__gt=0)
                | Q(status="carried", amount_rial__lte=0),
                name="store_settlement_status_matches_amount",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "exported", "paid", "failed"])
                | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="store_settlement_approved_by_someone",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["exported", "paid", "failed"], payout_batch__isnull=False)
                | (~Q(status__in=["exported", "paid", "failed"]) & Q(payout_batch__isnull=True)),
                name="store_settlement_exported_in_a_file",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | (~Q(bank_reference="") & Q(answered_at__isnull=False)),
                name="store_settlement_paid_has_reference",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed")
                | (~Q(failure_reason="") & Q(answered_at__isnull=False)),
                name="store_settlement_failure_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(carried_into__isnull=True) | Q(status__in=CARRIED_STATUSES),
                name="store_settlement_only_carried_are_taken",
            ),
        ]
        indexes = [
            # A store's settlement history, newest first; and its pending carries.
            models.Index(fields=["store", "-created_at", "-id"], name="store_settlement_store_idx"),
            models.Index(
                fields=["store"],
                condition=Q(status__in=CARRIED_STATUSES, carried_into__isnull=True),
                name="store_settlement_pending_carry",
            ),
            # The queues officers work: held, draft, approved (a few of many).
            models.Index(
                fields=["status", "id"],
                condition=Q(status__in=["held", "draft", "approved"]),
                name="store_settlement_open_idx",
            ),
            models.Index(fields=["-created_at", "-id"], name="store_settlement_recent_idx"),
            # The officers' list (issue 16, the admin), each in the list's order: a run's or a
            # payout file's settlements; the rare statuses an officer looks for (the queues
            # held/draft/approved have the open index, exported the answer index below, paid is
            # most rows); and each payout file's unanswered and failed rows, counted on the
            # files' list. No Sheba index: it cost a fifth of the export (docs/decisions.md).
            models.Index(fields=["run", "-created_at", "-id"], name="store_settlement_run_idx"),
            models.Index(
                fields=["payout_batch", "-created_at", "-id"], name="store_settlement_batch_idx"
            ),
            models.Index(
                fields=["status", "-created_at", "-id"],
                condition=Q(status__in=["held", "failed", "carried"]),
                name="store_settlement_status_idx",
            ),
            models.Index(
                fields=["payout_batch", "status"],
                condition=Q(status__in=["exported", "failed"]),
                name="store_settlement_answer_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        """The payout's reference in the bank's files: stable, unique, and never reused."""
        return payout_reference(self.pk)


REFERENCE_PREFIX = "KB"


def payout_reference(settlement_id: int) -> str:
    return f"{REFERENCE_PREFIX}{settlement_id:012d}"


class LineKind(models.TextChoices):
    PURCHASE = "purchase", "خرید"
    REVERSAL = "reversal", "برگشت"


class SettlementLine(models.Model):
    """One purchase, or one reversal, settled by a run for its store: at most once, ever.

    A line belongs to its store's settlement of the same run (``run``, ``store``). The run and
    store carry no database foreign key (the purchase does): a run stages a day's purchases in
    one statement, and reconcile_settlements proves every line's run and store."""

    run = models.ForeignKey(
        SettlementRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="اجرا",
        db_constraint=False,
        db_index=False,
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="فروشگاه",
        db_constraint=False,
        db_index=False,
    )
    purchase = models.ForeignKey(
        Purchase,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="خرید",
        db_index=False,  # the unique (purchase, kind) leads with it
        db_constraint=False,  # checked per statement: purchases are partitioned (PurchaseLine)
    )
    kind = models.CharField("نوع", max_length=8, choices=LineKind.choices)
    amount_rial = models.BigIntegerField("مبلغ (ریال)")
    occurred_at = models.DateTimeField("زمان")

    class Meta:
        verbose_name = "ردیف تسویه"
        verbose_name_plural = "ردیف‌های تسویه"
        constraints = [
            models.UniqueConstraint(fields=["purchase", "kind"], name="settlement_line_once"),
            models.CheckConstraint(
                condition=Q(kind="purchase", amount_rial__gte=0)
                | Q(kind="reversal", amount_rial__lte=0),
                name="settlement_line_sign_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["run", "store"], name="settlement_line_run_store_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.purchase_id}"
