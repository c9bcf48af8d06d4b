"""One-off messages to one person: the login code, an objection's decision, a bonus credited."""

from __future__ import annotations

from collections.abc import Mapping

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from households.models import Person
from notifications import templating
from notifications.models import MessageStatus, SmsKind, SmsMessage, SmsTemplate
from notifications.signals import announce_on_commit

# Placeholders whose values must never rest in the outbox, the admin or a log: the stored body has
# them masked, and the real body waits in the cache (Redis in production, shared by the web
# processes and the SMS workers) only as long as the secret is good for. The dispatcher sends
# these kinds from that entry, and fails a message whose entry has expired instead of sending a
# masked or stale code (``dispatch.bodies_to_send``).
SECRET_PLACEHOLDERS: dict[str, tuple[str, ...]] = {SmsKind.LOGIN_CODE: ("code",)}
MASK = "******"


def secret_body_key(*, message_id: int) -> str:
    """The cache key of the body to send for a message whose stored body is masked."""
    return f"sms:secret-body:{message_id}"


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
    *,
    person: Person,
    kind: str,
    context: dict[str, object],
    dedupe_key: str,
    secret_ttl_seconds: int = 120,
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

    - For a kind with secret placeholders (``SECRET_PLACEHOLDERS``: the login code) the stored
      body has them masked (``******``) and the real body is kept in the cache for
      ``secret_ttl_seconds`` (the secret's life), where the dispatcher reads it to send.

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
    secrets = SECRET_PLACEHOLDERS.get(kind, ())
    stored_body = (
        render_for(kind=kind, context={**context, **dict.fromkeys(secrets, MASK)})
        if secrets
        else body
    )
    now = timezone.now()
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(
                person=person,
                kind=kind,
                mobile=person.mobile,
                body=stored_body,
                status=MessageStatus.QUEUED,
                dedupe_key=dedupe_key,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        # A concurrent call with the same key won the race: its message is the one.
        return SmsMessage.objects.get(dedupe_key=dedupe_key)
    if secrets:
        # Before the commit that lets the task run, so the worker always finds it while it lives.
        cache.set(secret_body_key(message_id=message.pk), body, timeout=secret_ttl_seconds)
    enqueue_message(message_id=message.pk)
    return message


def enqueue_message(*, message_id: int) -> None:
    """Send the message through the ``sms`` queue after the current transaction commits."""
    announce_on_commit(message_ids=[message_id])
