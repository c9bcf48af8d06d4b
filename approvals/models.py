"""A change request: what a maker asked for, and what a checker decided."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class RequestStatus(models.TextChoices):
    PENDING = "pending", "در انتظار تأیید"
    APPROVED = "approved", "تأییدشده و اعمال‌شده"
    REJECTED = "rejected", "ردشده"


class ChangeRequest(models.Model):
    """One change awaiting (or past) a second officer's decision.

    ``kind`` names a registered ``approvals.registry.ChangeKind``, which knows how to apply the
    ``payload``. ``target_model``/``target_id`` name the row the change is about (empty for a
    change that creates rows, such as a bulk upload), so that one pending request per row and kind
    is enforced by the database.
    """

    kind = models.CharField("نوع تغییر", max_length=40)
    summary = models.CharField("شرح", max_length=300)
    payload = models.JSONField("جزئیات درخواست", default=dict)
    attachment_name = models.CharField("نام فایل", max_length=200, blank=True)
    attachment = models.TextField("متن فایل", blank=True)
    target_model = models.CharField("نوع رکورد", max_length=100, blank=True)
    target_id = models.CharField("شناسه رکورد", max_length=64, blank=True)
    status = models.CharField(
        "وضعیت", max_length=10, choices=RequestStatus.choices, default=RequestStatus.PENDING
    )
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="change_requests_made",
        verbose_name="درخواست‌دهنده",
    )
    maker_reason = models.CharField("دلیل درخواست", max_length=500, blank=True)
    made_at = models.DateTimeField("زمان درخواست", auto_now_add=True)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="change_requests_checked",
        verbose_name="تأییدکننده یا ردکننده",
    )
    decided_at = models.DateTimeField("زمان تصمیم", null=True, blank=True)
    decision_reason = models.CharField("دلیل تصمیم", max_length=500, blank=True)
    result = models.JSONField("نتیجه اعمال", default=dict, blank=True)

    class Meta:
        verbose_name = "درخواست تغییر"
        verbose_name_plural = "درخواست‌های تغییر (تأیید دونفره)"
        ordering = ["-made_at", "-id"]
        permissions = [("approve_changerequest", "تأیید یا رد درخواست تغییر دیگران")]
        indexes = [models.Index(fields=["status", "made_at"], name="approvals_status_made_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(checker=F("maker")), name="approvals_checker_is_not_maker"
            ),
            models.CheckConstraint(
                condition=Q(
                    status=RequestStatus.PENDING, checker__isnull=True, decided_at__isnull=True
                )
                | Q(
                    ~Q(status=RequestStatus.PENDING),
                    checker__isnull=False,
                    decided_at__isnull=False,
                ),
                name="approvals_decided_has_checker",
            ),
            models.CheckConstraint(
                condition=~Q(status=RequestStatus.REJECTED) | ~Q(decision_reason=""),
                name="approvals_rejection_has_reason",
            ),
            models.UniqueConstraint(
                fields=["kind", "target_model", "target_id"],
                condition=Q(status=RequestStatus.PENDING) & ~Q(target_id=""),
                name="approvals_one_pending_per_target",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"

    @property
    def is_pending(self) -> bool:
        return self.status == RequestStatus.PENDING
