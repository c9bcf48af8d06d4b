"""What an admin calls instead of writing a four-eyes change: record the request and tell the
officer it waits for a second officer."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from approvals import services
from approvals.models import ChangeRequest
from kalabarg.lib.admin_display import officer


def propose(
    request: HttpRequest,
    *,
    kind: str,
    summary: str,
    payload: dict[str, Any],
    target: Model | None = None,
    reason: str = "",
    attachment_name: str = "",
    attachment: str = "",
) -> ChangeRequest | None:
    """Record the change as a request by the signed-in officer and say so on the next page;
    a refusal (its rules, or one already pending) is shown as an error and nothing is recorded."""
    try:
        change = services.request_change(
            kind=kind,
            maker=officer(request),
            summary=summary,
            payload=payload,
            target=target,
            reason=reason,
            attachment_name=attachment_name,
            attachment=attachment,
        )
    except ValidationError as exc:
        messages.error(request, "درخواست ثبت نشد: " + services.refusal_messages(exc))
        return None
    messages.info(
        request,
        format_html(
            'درخواست «{}» ثبت شد و پس از تأیید کارشناس دیگری اعمال می‌شود. <a href="{}">مشاهده درخواست</a>',
            change.summary,
            reverse("admin:approvals_changerequest_change", args=[change.pk]),
        ),
    )
    return change


def pending_notice(target: Model, *, kind: str | None = None) -> str:
    """A line for a row's admin page when a change of it waits for approval, or ``""``."""
    change = services.pending_for(target=target, kind=kind)
    if change is None:
        return ""
    return format_html(
        'تغییری از این مورد در انتظار تأیید است: <a href="{}">{}</a>',
        reverse("admin:approvals_changerequest_change", args=[change.pk]),
        change.summary,
    )
