"""One-off messages to one person: the login code, an objection's decision, a bonus credited."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from households.models import Person
from notifications import templating
from notifications.models import MessageStatus, SmsKind, SmsMessage, SmsTemplate
from notifications.signals import announce_on_commit


def render_for(*, kind: str, context: Mapping[str, object]) -> str:
    """The template of ``kind`` filled from ``context``; refuses a missing template, a missing
    value, or a result that contains a link (a value could carry one)."""
    if kind not in SmsKind.values:
        raise ValidationError(
            {"kind": ValidationError("نوع پیامک ناشناخته است", code="sms_kind_unknown")}
        )
    template = SmsTemplate.objects.filter(kind=kind).first()
    if template is None:
        raise ValidationError(
            {
                "kind": ValidationError(
                    "متن این نوع پیامک تعریف نشده است", code="sms_template_missing"
                )
            }
        )
    try:
        body = templating.render(template.body, context)
    except templating.MissingPlaceholder as exc:
        raise ValidationError(
            {
                "context": ValidationError(
                    "مقدار «%(name)s» برای متن پیامک داده نشده است",
                    code="sms_context_missing",
                    params={"name": exc.args[0]},
                )
            }
        ) from exc
    error = templating.link_error(body, field="context")
    if error is not None:
        raise error
    return body


def send_personal_sms(
    *, person: Person, kind: str, context: dict[str, object], dedupe_key: str
) -> SmsMessage:
    """Queue one SMS to ``person`` and send it once the caller's transaction commits.

    - ``kind``: one of :class:`SmsKind` (``login_code``, ``objection_decided``, …); its
      officer-edited template is rendered with ``context`` — numbers in Persian digits, a key
      ending ``_rial`` (whole rials) shown as toman under the name without the suffix
      (``{"amount_rial": 1_200_000}`` fills ``{amount}`` with ``۱۲۰٬۰۰۰ تومان``).
    - ``dedupe_key`` (≤ 96 characters, e.g. ``login:<person id>:<code id>``,
      ``objection:<id>:decided``): at most one message ever exists per key. A repeated call
      returns the existing message and sends nothing new.
    - The message is sent by the Celery task ``notifications.tasks.sms_send_message`` on the
      ``sms`` queue, enqueued with ``transaction.on_commit`` (eagerly under the embedded default).

    Raises ``ValidationError`` (codes ``sms_no_mobile``, ``sms_template_missing``,
    ``sms_context_missing``, ``sms_template_has_link``, ``sms_kind_unknown``).
    """
    if not dedupe_key or len(dedupe_key) > 96:
        raise ValidationError(
            {
                "dedupe_key": ValidationError(
                    "کلید یکتایی ۱ تا ۹۶ نویسه است", code="sms_dedupe_invalid"
                )
            }
        )
    existing = SmsMessage.objects.filter(dedupe_key=dedupe_key).first()
    if existing is not None:
        return existing
    if not person.mobile:
        raise ValidationError(
            {
                "person": ValidationError(
                    "برای این فرد تلفن همراه ثبت نشده است", code="sms_no_mobile"
                )
            }
        )
    body = render_for(kind=kind, context=context)
    now = timezone.now()
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(
                person=person,
                kind=kind,
                mobile=person.mobile,
                body=body,
                status=MessageStatus.QUEUED,
                dedupe_key=dedupe_key,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # A concurrent call with the same key won the race: its message is the one.
        return SmsMessage.objects.get(dedupe_key=dedupe_key)
    enqueue_message(message_id=message.pk)
    return message


def enqueue_message(*, message_id: int) -> None:
    """Send the message through the ``sms`` queue after the current transaction commits."""
    announce_on_commit(message_ids=[message_id])
