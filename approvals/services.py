"""Making, approving and rejecting change requests (the four-eyes rule lives here)."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from approvals.models import ChangeRequest, RequestStatus
from approvals.registry import Applied, kind_of
from kalabarg.lib.errors import field_error

APPROVE_PERMISSION = "approvals.approve_changerequest"


def target_label(obj: Model) -> str:
    """``app_label.model_name`` of a row, as requests name their target."""
    return obj._meta.label_lower


@transaction.atomic
def request_change(
    *,
    kind: str,
    maker: User,
    summary: str,
    payload: dict[str, Any],
    reason: str = "",
    target: Model | None = None,
    attachment_name: str = "",
    attachment: str = "",
) -> ChangeRequest:
    """Record what ``maker`` asks for; nothing of it is in force until another officer approves.

    The kind's ``check`` runs now, so a request that could never be applied is refused at once
    with its field and reason. One pending request per row and kind: a second is refused
    (``change_already_pending``) so that two makers never race each other's change.
    """
    change_kind = kind_of(kind)
    if change_kind is None:
        raise field_error(
            field="kind", message="این نوع تغییر شناخته نیست", code="change_kind_unknown"
        )
    change = ChangeRequest(
        kind=kind,
        summary=summary[:300],
        payload=payload,
        maker=maker,
        maker_reason=reason.strip()[:500],
        target_model=target_label(target) if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        attachment_name=attachment_name[:200],
        attachment=attachment,
    )
    if change_kind.check is not None:
        change_kind.check(change)
    try:
        with transaction.atomic():
            change.save()
    except IntegrityError as exc:
        raise field_error(
            field="kind",
            message="برای همین مورد درخواست دیگری در انتظار تأیید است؛ نخست آن را تأیید یا رد کنید",
            code="change_already_pending",
        ) from exc
    return change


def _locked_pending(*, change_request_id: int, checker: User) -> ChangeRequest:
    change = ChangeRequest.objects.select_for_update().get(pk=change_request_id)
    if change.status != RequestStatus.PENDING:
        raise field_error(
            field="status", message="این درخواست پیش‌تر بررسی شده است", code="change_not_pending"
        )
    if change.maker_id == checker.pk:
        raise field_error(
            field="checker",
            message="درخواست‌دهنده نمی‌تواند درخواست خود را تأیید یا رد کند؛ کارشناس دیگری باید بررسی کند",
            code="maker_cannot_check",
        )
    if not checker.has_perm(APPROVE_PERMISSION):
        raise field_error(
            field="checker", message="اجازه بررسی درخواست‌های تغییر را ندارید", code="not_a_checker"
        )
    return change


@transaction.atomic
def approve_change(*, change_request_id: int, checker: User) -> tuple[ChangeRequest, Applied]:
    """Apply a pending request and mark it approved, in one transaction.

    The checker must not be the maker and must hold the approve permission. The kind applies the
    payload through its app's service; a refusal (``ValidationError``) rolls everything back and
    the request stays pending, to be rejected or approved later.
    """
    change = _locked_pending(change_request_id=change_request_id, checker=checker)
    change_kind = kind_of(change.kind)
    if change_kind is None:
        raise field_error(
            field="kind", message="این نوع تغییر شناخته نیست", code="change_kind_unknown"
        )
    applied = change_kind.apply(change, checker)
    change.status = RequestStatus.APPROVED
    change.checker = checker
    change.decided_at = timezone.now()
    change.result = applied.result
    change.save(update_fields=["status", "checker", "decided_at", "result"])
    return change, applied


@transaction.atomic
def reject_change(*, change_request_id: int, checker: User, reason: str) -> ChangeRequest:
    """Close a pending request without applying it; the reason is kept with the checker's name."""
    reason = (reason or "").strip()
    if not reason:
        raise field_error(
            field="decision_reason", message="دلیل رد را بنویسید", code="reason_required"
        )
    change = _locked_pending(change_request_id=change_request_id, checker=checker)
    change.status = RequestStatus.REJECTED
    change.checker = checker
    change.decided_at = timezone.now()
    change.decision_reason = reason[:500]
    change.save(update_fields=["status", "checker", "decided_at", "decision_reason"])
    return change


def pending_for(*, target: Model, kind: str | None = None) -> ChangeRequest | None:
    """The pending request about ``target`` (of ``kind``), if any: admins show it on the row's page."""
    requests = ChangeRequest.objects.filter(
        status=RequestStatus.PENDING, target_model=target_label(target), target_id=str(target.pk)
    )
    if kind is not None:
        requests = requests.filter(kind=kind)
    return requests.order_by("-made_at").first()


def refusal_messages(exc: ValidationError) -> str:
    return "؛ ".join(exc.messages)
