"""The SMS outbox: officers' templates, campaigns, and one row per message with its whole story.

A message moves ``queued → sending → sent → delivered`` (or ``failed``; ``cancelled`` when its
campaign is cancelled before it went out). ``sending`` is a lease: the dispatcher that claimed
the row owns it until ``lease_until``; after that another dispatcher may claim it again (a
killed worker loses nothing). Campaign messages are unique per (campaign, person) and personal
messages per ``dedupe_key``, so neither a re-run nor a repeated call sends anything twice.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from households.models import Person
from notifications.templating import validate_template
from settlements.models import Phase


class SmsKind(models.TextChoices):
    DECILE_NOTICE = "decile_notice", "اطلاع‌رسانی دهک"
    BONUS_CREDITED = "bonus_credited", "واریز اعتبار مضاعف"
    OBJECTION_DECIDED = "objection_decided", "نتیجه درخواست بازبینی دهک"
    MONTHLY_BALANCE = "monthly_balance", "مانده ماهانه اعتبار"
    LOGIN_CODE = "login_code", "کد ورود"
    PURCHASE_MADE = "purchase_made", "خرید با کالابرگ"
    PURCHASE_REVERSED = "purchase_reversed", "برگشت خرید"


class SmsTemplate(models.Model):
    """The Persian text of one kind of message, edited by officers; never a link."""

    kind = models.CharField("نوع", max_length=20, choices=SmsKind.choices, unique=True)
    body = models.TextField(
        "متن",
        help_text="جای‌نگهدارها مانند {decile} با مقدار هر نفر پر می‌شوند. پیوند و نشانی وب مجاز نیست.",
    )
    updated_at = models.DateTimeField("آخرین ویرایش", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="ویرایشگر",
    )

    class Meta:
        verbose_name = "متن پیامک"
        verbose_name_plural = "متن‌های پیامک"
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.get_kind_display()

    def clean(self) -> None:
        validate_template(kind=self.kind, body=self.body or "")


class CampaignStatus(models.TextChoices):
    BUILDING = "building", "در حال ساخت صف"
    SENDING = "sending", "در حال ارسال"
    COMPLETED = "completed", "پایان‌یافته"
    CANCELLED = "cancelled", "لغوشده"


class SmsCampaign(models.Model):
    """One mass sending (decile notices of a phase, a month's balances) with its progress.

    The outbox is built in household-id chunks (``SmsBuildChunk``); ``counts`` is a snapshot of
    messages by status, refreshed by the dispatcher as it goes (a full count of a million rows
    on every admin page view would be too slow)."""

    kind = models.CharField("نوع", max_length=20, choices=SmsKind.choices)
    phase = models.ForeignKey(
        Phase,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sms_campaigns",
        verbose_name="مرحله",
    )
    deciles = models.JSONField("دهک‌های هدف", default=list, blank=True)
    label = models.CharField("عنوان", max_length=64, blank=True)
    status = models.CharField(
        "وضعیت", max_length=10, choices=CampaignStatus.choices, default=CampaignStatus.BUILDING
    )
    body_template = models.TextField("متن (هنگام آغاز)", blank=True)
    chunk_size = models.PositiveIntegerField("اندازه هر بخش", default=50_000)
    chunks_total = models.PositiveIntegerField("تعداد بخش‌ها", default=0)
    chunks_done = models.PositiveIntegerField("بخش‌های ساخته‌شده", default=0)
    recipients_total = models.BigIntegerField("گیرندگان", default=0)
    counts = models.JSONField("شمار به تفکیک وضعیت", default=dict, blank=True)
    counts_at = models.DateTimeField("زمان شمارش", null=True, blank=True)
    last_error = models.TextField("آخرین خطا", blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="آغازکننده",
    )
    reason = models.CharField("دلیل", max_length=500, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="لغوکننده",
    )
    created_at = models.DateTimeField("ثبت", auto_now_add=True)
    finished_at = models.DateTimeField("پایان", null=True, blank=True)
    # The outbox build's last sign of life: its chunks queued (a start, a resume, the kick's
    # takeover) or one of them built. A campaign still building after RUN_STALL_SECONDS of quiet
    # lost a chunk with a dead sms node; the kick queues it again (``stalls.resume_stalled_builds``).
    progress_at = models.DateTimeField("آخرین پیشرفت", null=True, blank=True)

    class Meta:
        verbose_name = "پویش پیامکی"
        verbose_name_plural = "پویش‌های پیامکی"
        ordering = ["-created_at"]
        constraints = [
            # One unfinished decile-notice campaign per phase and set of deciles: starting it
            # again resumes it. (A label — e.g. the month — separates balance campaigns.)
            models.UniqueConstraint(
                fields=["kind", "phase", "label"],
                condition=Q(status__in=["building", "sending"]),
                name="sms_campaign_one_active_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.label}".strip()

    @property
    def done_count(self) -> int:
        counts = self.counts or {}
        return sum(int(counts.get(s, 0)) for s in ("sent", "delivered", "failed", "cancelled"))

    @property
    def progress_percent(self) -> int:
        if not self.recipients_total:
            return 100 if self.status == CampaignStatus.COMPLETED else 0
        return min(100, int(100 * self.done_count / self.recipients_total))


class SmsBuildChunk(models.Model):
    """One household-id range of a campaign's outbox build; done chunks are skipped on a re-run."""

    # No index of its own: sms_chunk_unique_index leads with it.
    campaign = models.ForeignKey(
        SmsCampaign,
        on_delete=models.CASCADE,
        related_name="chunks",
        verbose_name="پویش",
        db_index=False,
    )
    index = models.PositiveIntegerField("شماره")
    from_household_id = models.BigIntegerField("از خانوار")
    to_household_id = models.BigIntegerField("تا خانوار (بدون خودش)")
    done = models.BooleanField("انجام‌شده", default=False)
    inserted = models.PositiveIntegerField("پیامک‌های افزوده", default=0)
    # When it was built: the kick's takeover waits while any chunk finished lately (a node busy).
    finished_at = models.DateTimeField("پایان", null=True, blank=True)

    class Meta:
        verbose_name = "بخش ساخت صف"
        verbose_name_plural = "بخش‌های ساخت صف"
        constraints = [
            models.UniqueConstraint(fields=["campaign", "index"], name="sms_chunk_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.index}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", "در صف"
    SENDING = "sending", "در حال ارسال"
    SENT = "sent", "ارسال‌شده"
    DELIVERED = "delivered", "تحویل‌شده"
    FAILED = "failed", "ناموفق"
    CANCELLED = "cancelled", "لغوشده"


class SmsMessage(models.Model):
    """One SMS to one person: what was sent, to which number, and everything that happened to it."""

    campaign = models.ForeignKey(
        SmsCampaign,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name="پویش",
        db_index=False,  # sms_message_unique_campaign_person leads with the campaign
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="گیرنده",
        db_index=False,  # (campaign, person) and the partial personal index serve look-ups
    )
    kind = models.CharField("نوع", max_length=20, choices=SmsKind.choices)
    mobile = models.CharField("تلفن همراه", max_length=11)
    body = models.TextField("متن")
    status = models.CharField(
        "وضعیت", max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    dedupe_key = models.CharField("کلید یکتایی", max_length=96, null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("تلاش‌ها", default=0)
    # Raised only by an officer's retry: the gateway's local id is "<id>-<generation>", so a
    # deliberate resend is a new local id while a crash-recovery resend repeats the old one.
    generation = models.PositiveSmallIntegerField("دور ارسال", default=0)
    provider_message_id = models.CharField("شناسه سامانه پیامک", max_length=64, blank=True)
    error_code = models.CharField("کد خطا", max_length=32, blank=True)
    last_error = models.CharField("آخرین خطا", max_length=500, blank=True)
    next_attempt_at = models.DateTimeField("تلاش بعدی")
    lease_until = models.DateTimeField("مهلت ارسال‌کننده", null=True, blank=True)
    created_at = models.DateTimeField("ثبت")
    updated_at = models.DateTimeField("به‌روزرسانی")
    sent_at = models.DateTimeField("ارسال", null=True, blank=True)
    delivered_at = models.DateTimeField("تحویل", null=True, blank=True)

    class Meta:
        verbose_name = "پیامک"
        verbose_name_plural = "پیامک‌ها"
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "person"], name="sms_message_unique_campaign_person"
            ),
            models.UniqueConstraint(
                fields=["dedupe_key"],
                condition=Q(dedupe_key__isnull=False),
                name="sms_message_unique_dedupe_key",
            ),
            models.CheckConstraint(
                condition=Q(campaign__isnull=False) | Q(dedupe_key__isnull=False),
                name="sms_message_campaign_or_dedupe_key",
            ),
            models.CheckConstraint(
                condition=Q(mobile__regex=r"^09[0-9]{9}$"), name="sms_message_mobile_format"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["queued", "sending", "sent", "delivered", "failed", "cancelled"]
                ),
                name="sms_message_status_known",
            ),
        ]
        indexes = [
            # Claiming a campaign's due messages and counting them by status (index-only).
            models.Index(
                fields=["campaign", "status", "next_attempt_at"], name="sms_message_dispatch_idx"
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued", campaign__isnull=True),
                name="sms_message_personal_due_idx",
            ),
            models.Index(
                fields=["lease_until"], condition=Q(status="sending"), name="sms_message_lease_idx"
            ),
            models.Index(
                fields=["provider_message_id"],
                condition=~Q(provider_message_id=""),
                name="sms_message_provider_idx",
            ),
            models.Index(
                fields=["sent_at"], condition=Q(status="sent"), name="sms_message_sent_idx"
            ),
            models.Index(
                fields=["person", "-created_at"],
                condition=Q(campaign__isnull=True),
                name="sms_message_personal_idx",
            ),
            # The few personal decile notices (households covered during a cycle), which a
            # decile-notice campaign leaves out head by head.
            models.Index(
                fields=["person"],
                condition=Q(kind="decile_notice", campaign__isnull=True),
                name="sms_personal_decile_notice_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"پیامک {self.pk} به {self.mobile}"

    @property
    def local_id(self) -> str:
        return f"{self.pk}-{self.generation}"

    def clean(self) -> None:
        if self.campaign_id is None and not self.dedupe_key:
            raise ValidationError(
                {"dedupe_key": ValidationError("کلید یکتایی لازم است", code="sms_dedupe_required")}
            )


class SmsFeedWatermark(models.Model):
    """How far a feed of events (``purchases``) has been turned into messages: each build scans
    from ``scanned_to`` less a safety margin, so a purchase that committed late is still seen."""

    name = models.CharField("نام", max_length=32, primary_key=True)
    scanned_to = models.DateTimeField("بررسی‌شده تا")

    class Meta:
        verbose_name = "پیشرفت ساخت پیامک‌های رویداد"
        verbose_name_plural = "پیشرفت ساخت پیامک‌های رویداد"

    def __str__(self) -> str:
        return self.name
