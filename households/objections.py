"""Decile objections (services): a household files one, an officer accepts or rejects it.

One open objection per household is a partial unique index; filing a second one while the
first is open is refused with ``objection_already_open`` (the index also settles a race between
two requests). Accepting writes the new decile to the history through ``assign_decile`` with
source ``objection``, in the same transaction as the decision. The SMS to the household is the
caller's (``kalabarg.portal.objections``), sent on commit.
"""

import datetime as dt

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from households import selectors
from households.models import DecileSource, Objection, ObjectionCategory, ObjectionStatus, Person
from households.services import assign_decile, validate_decile
from kalabarg.lib.errors import field_error
from kalabarg.lib.persian import normalize_text

DESCRIPTION_MAX = 1000


@transaction.atomic
def file_objection(*, person: Person, category: str, description: str) -> Objection:
    """File an objection to the household's current decile on behalf of ``person``."""
    if category not in ObjectionCategory.values:
        raise field_error(
            field="category", message="یکی از دلیل‌های فهرست را انتخاب کنید", code="category_invalid"
        )
    text = normalize_text(description)
    if not text:
        raise field_error(
            field="description", message="توضیح کوتاهی بنویسید", code="description_required"
        )
    if len(text) > DESCRIPTION_MAX:
        raise field_error(
            field="description",
            message="توضیح باید حداکثر ۱۰۰۰ نویسه باشد",
            code="description_too_long",
        )
    already = ValidationError(
        "درخواست بازبینی قبلی شما هنوز در حال بررسی است؛ پس از اعلام نتیجه می‌توانید درخواست تازه بدهید",
        code="objection_already_open",
    )
    if Objection.objects.filter(
        household_id=person.household_id, status=ObjectionStatus.OPEN
    ).exists():
        raise already
    decile = selectors.decile_on(household_id=person.household_id, on_date=timezone.localdate())
    try:
        with transaction.atomic():
            return Objection.objects.create(
                household_id=person.household_id,
                filed_by=person,
                category=category,
                description=text,
                decile_at_filing=decile,
            )
    except IntegrityError:  # another request filed one a moment ago
        raise already from None


@transaction.atomic
def accept_objection(
    *,
    objection: Objection,
    new_decile: int,
    effective_from: dt.date,
    reason: str,
    decided_by: User | None,
) -> Objection:
    """Accept: the household's decile becomes ``new_decile`` from ``effective_from`` (history row)."""
    locked = _lock_open(objection)
    validate_decile(decile=new_decile)
    reason = reason.strip()
    if not reason:
        raise field_error(
            field="decision_reason", message="دلیل تصمیم را بنویسید", code="reason_required"
        )
    if effective_from < timezone.localdate(locked.created_at):
        raise field_error(
            field="new_decile_from",
            message="تاریخ اعمال دهک تازه نمی‌تواند پیش از ثبت درخواست بازبینی باشد",
            code="decision_before_objection",
        )
    try:
        assignment = assign_decile(
            household=locked.household,
            decile=new_decile,
            effective_from=effective_from,
            source=DecileSource.OBJECTION,
            reason=f"درخواست بازبینی {locked.pk}: {reason}"[:500],
            created_by=decided_by,
        )
    except ValidationError as exc:
        # The decision's date is the objection's ``new_decile_from``: name that field.
        errors = getattr(exc, "error_dict", None)
        if errors is None or "effective_from" not in errors:
            raise
        raise ValidationError({"new_decile_from": errors["effective_from"]}) from exc
    locked.status = ObjectionStatus.ACCEPTED
    locked.new_decile = new_decile
    locked.new_decile_from = effective_from
    locked.decile_assignment = assignment
    return _decide(locked, reason=reason, decided_by=decided_by)


@transaction.atomic
def reject_objection(*, objection: Objection, reason: str, decided_by: User | None) -> Objection:
    """Reject, with a reason the household will read."""
    locked = _lock_open(objection)
    reason = reason.strip()
    if not reason:
        raise field_error(
            field="decision_reason", message="دلیل رد درخواست را بنویسید", code="reason_required"
        )
    locked.status = ObjectionStatus.REJECTED
    return _decide(locked, reason=reason, decided_by=decided_by)


def _lock_open(objection: Objection) -> Objection:
    locked = (
        Objection.objects.select_for_update()
        .select_related("household", "filed_by")
        .get(pk=objection.pk)
    )
    if locked.status != ObjectionStatus.OPEN:
        raise field_error(
            field="status",
            message="درباره این درخواست پیش‌تر تصمیم گرفته شده است",
            code="objection_already_decided",
        )
    return locked


def _decide(objection: Objection, *, reason: str, decided_by: User | None) -> Objection:
    objection.decision_reason = reason[:500]
    objection.decided_by = decided_by
    objection.decided_at = timezone.now()
    objection.save(
        update_fields=[
            "status",
            "decision_reason",
            "decided_by",
            "decided_at",
            "new_decile",
            "new_decile_from",
            "decile_assignment",
        ]
    )
    return objection
