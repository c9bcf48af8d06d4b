"""Sending the outbox: claim a batch, call the gateway once for many recipients, record every outcome.

Claiming is one statement: ``UPDATE … SET status = 'sending', attempts = attempts + 1,
lease_until = <token> WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING …``, committed
before the gateway is called, so concurrent dispatchers never take the same row and a crash
leaves the row visibly ``sending``. ``lease_until`` doubles as the claim's token: outcomes are
written only where the row still carries it, so a dispatcher whose lease ran out (and whose rows
someone else re-claimed) cannot overwrite the newer attempt. Rows whose lease has run out are put
back in the queue by :func:`requeue_expired_leases` and are sent again **with the same local id**
— a gateway that honours local ids sends them once (docs/decisions.md, "SMS exactly once").
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone

from kalabarg.lib.sms import Outcome, OutgoingSms, SendResult, SmsGateway, get_gateway
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage
from notifications.services.personal import SECRET_PLACEHOLDERS, secret_body_key

logger = logging.getLogger(__name__)

TABLE = "notifications_smsmessage"


@dataclass(frozen=True)
class Claimed:
    id: int
    generation: int
    mobile: str
    body: str
    attempts: int
    kind: str = ""

    @property
    def local_id(self) -> str:
        return f"{self.id}-{self.generation}"


@dataclass
class DispatchReport:
    sent: int = 0
    transient: int = 0
    failed: int = 0
    batches: int = 0
    more_now: bool = False  # stopped by the time budget with due messages left
    retry_in: float | None = None  # only later retries (or others' leases) are left
    finished: bool = False


def backoff_seconds(*, attempts: int) -> int:
    """Seconds before the next try after ``attempts`` tries: base·2^(attempts−1), capped."""
    delay = settings.SMS_RETRY_BASE_SECONDS * (2 ** max(attempts - 1, 0))
    return int(min(delay, settings.SMS_RETRY_MAX_SECONDS))


def _claim(where: str, params: Sequence[Any], limit: int) -> tuple[list[Claimed], dt.datetime]:
    """Mark up to ``limit`` due rows matching ``where`` as ``sending`` (own transaction)."""
    now = timezone.now()
    token = now + dt.timedelta(seconds=settings.SMS_LEASE_SECONDS)
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = (
        f"UPDATE {TABLE} SET status = 'sending', attempts = attempts + 1, lease_until = %s, "
        f"updated_at = %s WHERE id IN (SELECT id FROM {TABLE} WHERE {where} "
        f"AND status = 'queued' AND next_attempt_at <= %s ORDER BY next_attempt_at LIMIT %s{lock}) "
        "RETURNING id, generation, mobile, body, attempts, kind"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [token, now, *params, now, limit])
        rows = cursor.fetchall()
    return [Claimed(*row) for row in rows], token


def claim_campaign_batch(*, campaign_id: int, limit: int) -> tuple[list[Claimed], dt.datetime]:
    return _claim("campaign_id = %s", [campaign_id], limit)


def claim_messages(*, message_ids: Sequence[int]) -> tuple[list[Claimed], dt.datetime]:
    placeholders = ", ".join(["%s"] * len(message_ids))
    return _claim(f"id IN ({placeholders})", list(message_ids), len(message_ids))


def claim_personal_batch(*, limit: int) -> tuple[list[Claimed], dt.datetime]:
    return _claim("campaign_id IS NULL", [], limit)


def record_results(
    *, claimed: Sequence[Claimed], results: Sequence[SendResult], token: dt.datetime
) -> tuple[int, int, int]:
    """Write every outcome of a claimed batch in a few statements; returns (sent, retried, failed).

    Sent rows get their provider id; transient failures go back to the queue with exponential
    backoff until ``SMS_MAX_ATTEMPTS``, then fail; permanent failures fail at once. Only rows
    still holding this claim's token are touched."""
    by_local = {c.local_id: c for c in claimed}
    now = timezone.now()
    sent: list[tuple[int, str]] = []
    groups: dict[tuple[str, str, str, dt.datetime | None], list[int]] = defaultdict(list)
    retried = failed = 0
    for result in results:
        message = by_local.get(result.local_id)
        if message is None:
            continue
        if result.outcome == Outcome.SENT:
            sent.append((message.id, result.provider_id))
        elif result.outcome == Outcome.TRANSIENT and message.attempts < settings.SMS_MAX_ATTEMPTS:
            next_at = now + dt.timedelta(seconds=backoff_seconds(attempts=message.attempts))
            groups[(MessageStatus.QUEUED, result.error_code, result.error, next_at)].append(
                message.id
            )
            retried += 1
        else:
            error = result.error
            if result.outcome == Outcome.TRANSIENT:
                error = f"پس از {message.attempts} تلاش: {error}"
            groups[(MessageStatus.FAILED, result.error_code, error, None)].append(message.id)
            failed += 1
    with transaction.atomic(), connection.cursor() as cursor:
        if sent:
            cases = " ".join(["WHEN %s THEN %s"] * len(sent))
            ids = ", ".join(["%s"] * len(sent))
            cursor.execute(
                f"UPDATE {TABLE} SET status = 'sent', sent_at = %s, updated_at = %s, lease_until = NULL, "
                f"error_code = '', last_error = '', provider_message_id = CASE id {cases} ELSE provider_message_id END "
                f"WHERE id IN ({ids}) AND status = 'sending' AND lease_until = %s",
                [now, now, *[v for pair in sent for v in pair], *[i for i, _ in sent], token],
            )
        for (status, code, error, retry_at), message_ids in groups.items():
            ids = ", ".join(["%s"] * len(message_ids))
            cursor.execute(
                f"UPDATE {TABLE} SET status = %s, error_code = %s, last_error = %s, updated_at = %s, "
                f"lease_until = NULL, next_attempt_at = COALESCE(%s, next_attempt_at) "
                f"WHERE id IN ({ids}) AND status = 'sending' AND lease_until = %s",
                [status, code[:32], error[:500], now, retry_at, *message_ids, token],
            )
    return len(sent), retried, failed


def throttle(*, count: int) -> None:
    """Wait until ``count`` more messages fit in the rate limit (``SMS_RATE_PER_SECOND``).

    A counter per wall-clock second in the cache, shared by every dispatcher when the cache is
    Redis; a batch that does not fit waits for the next second."""
    rate = settings.SMS_RATE_PER_SECOND
    count = min(count, rate)
    while True:
        now = time.time()
        key = f"sms:rate:{int(now)}"
        cache.add(key, 0, timeout=5)
        try:
            used = cache.incr(key, count)
        except ValueError:  # expired between add and incr
            continue
        if used <= rate:
            return
        time.sleep(max(0.0, 1 - (now - int(now))) + 0.001)


SECRET_EXPIRED = "secret_expired"  # noqa: S105 (an error code, not a password)


def bodies_to_send(*, claimed: Sequence[Claimed]) -> dict[str, str | None]:
    """The body to send for each claimed message with a masked stored body (a login code), by
    local id, from its short-lived cache entry; ``None`` where the entry has expired (the code is
    dead: the message fails rather than sending a masked or stale code)."""
    secret = [c for c in claimed if c.kind in SECRET_PLACEHOLDERS]
    if not secret:
        return {}
    found = cache.get_many([secret_body_key(message_id=c.id) for c in secret])
    return {c.local_id: found.get(secret_body_key(message_id=c.id)) for c in secret}


def send_claimed(
    *, gateway: SmsGateway, claimed: Sequence[Claimed], token: dt.datetime
) -> tuple[int, int, int]:
    """Throttle, call the gateway for the whole batch, record the outcomes."""
    if not claimed:
        return 0, 0, 0
    secret_bodies = bodies_to_send(claimed=claimed)
    expired = [
        SendResult(local_id, Outcome.PERMANENT, "", SECRET_EXPIRED, "کد پیش از فرستادن منقضی شد")
        for local_id, body in secret_bodies.items()
        if body is None
    ]
    sendable = [c for c in claimed if secret_bodies.get(c.local_id, c.body) is not None]
    outgoing = [
        OutgoingSms(c.local_id, c.mobile, secret_bodies.get(c.local_id) or c.body) for c in sendable
    ]
    results: list[SendResult] = []
    if outgoing:
        throttle(count=len(outgoing))
        try:
            results = gateway.send(outgoing)
        except Exception as exc:  # a bug in a gateway must not strand the batch in "sending"
            logger.exception("SMS gateway raised")
            results = [
                SendResult(m.local_id, Outcome.TRANSIENT, "", "gateway_error", str(exc)[:200])
                for m in outgoing
            ]
    recorded = record_results(claimed=claimed, results=results + expired, token=token)
    sent = {result.local_id for result in results if result.outcome == Outcome.SENT}
    sent_secrets = [
        secret_body_key(message_id=c.id)
        for c in sendable
        if c.local_id in secret_bodies and c.local_id in sent
    ]
    if sent_secrets:
        cache.delete_many(sent_secrets)  # sent: the code now lives only on the person's phone
    return recorded


def requeue_expired_leases(*, campaign_id: int | None = None) -> int:
    """Put ``sending`` rows whose lease ran out (their dispatcher died) back in the queue, due now."""
    now = timezone.now()
    queryset = SmsMessage.objects.filter(status=MessageStatus.SENDING, lease_until__lt=now)
    if campaign_id is not None:
        queryset = queryset.filter(campaign_id=campaign_id)
    return queryset.update(
        status=MessageStatus.QUEUED, lease_until=None, next_attempt_at=now, updated_at=now
    )


def batch_size(*, gateway: SmsGateway) -> int:
    return max(1, min(settings.SMS_BATCH_SIZE, gateway.max_batch, settings.SMS_RATE_PER_SECOND))


def dispatch_campaign(
    *, campaign_id: int, time_budget: float | None = None, gateway: SmsGateway | None = None
) -> DispatchReport:
    """Send a campaign's due messages in batches until none is due, it is cancelled, or the time
    budget (``SMS_DISPATCH_SLICE_SECONDS``) is spent. Memory stays flat: one batch at a time."""
    gateway = gateway or get_gateway()
    budget = settings.SMS_DISPATCH_SLICE_SECONDS if time_budget is None else time_budget
    deadline = time.monotonic() + budget
    report = DispatchReport()
    requeue_expired_leases(campaign_id=campaign_id)
    size = batch_size(gateway=gateway)
    last_count = time.monotonic()
    while True:
        status = SmsCampaign.objects.filter(pk=campaign_id).values_list("status", flat=True).first()
        if status != CampaignStatus.SENDING:
            report.finished = status != CampaignStatus.BUILDING
            return report
        if time.monotonic() >= deadline:
            report.more_now = True
            break
        claimed, token = claim_campaign_batch(campaign_id=campaign_id, limit=size)
        if not claimed:
            break
        sent, retried, failed = send_claimed(gateway=gateway, claimed=claimed, token=token)
        report.sent += sent
        report.transient += retried
        report.failed += failed
        report.batches += 1
        if time.monotonic() - last_count > 5:
            refresh_counts(campaign_id=campaign_id)
            last_count = time.monotonic()
    if not report.more_now:
        report.retry_in, report.finished = _what_is_left(campaign_id)
    refresh_counts(campaign_id=campaign_id)
    return report


def _what_is_left(campaign_id: int) -> tuple[float | None, bool]:
    """(seconds until something may be sendable again, whether the campaign is finished)."""
    now = timezone.now()
    pending = SmsMessage.objects.filter(
        campaign_id=campaign_id, status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]
    )
    first_retry = (
        pending.filter(status=MessageStatus.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    first_lease = (
        pending.filter(status=MessageStatus.SENDING)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first()
    )
    moments = [m for m in (first_retry, first_lease) if m is not None]
    if not moments:
        finished = (
            SmsCampaign.objects.filter(
                pk=campaign_id, status=CampaignStatus.SENDING, chunks_done__gte=F("chunks_total")
            ).update(status=CampaignStatus.COMPLETED, finished_at=now)
            > 0
        )
        return None, finished
    return max(1.0, (min(moments) - now).total_seconds() + 0.5), False


def refresh_counts(*, campaign_id: int) -> dict[str, int]:
    """Count the campaign's messages by status (index-only on PostgreSQL) into its snapshot."""
    counts = {
        row["status"]: row["n"]
        for row in SmsMessage.objects.filter(campaign_id=campaign_id)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    }
    SmsCampaign.objects.filter(pk=campaign_id).update(counts=counts, counts_at=timezone.now())
    return counts


def send_messages_now(
    *, message_ids: Sequence[int], gateway: SmsGateway | None = None
) -> DispatchReport:
    """Claim and send these messages (a personal message's task); ones not due are left alone."""
    report = DispatchReport()
    if not message_ids:
        return report
    claimed, token = claim_messages(message_ids=message_ids)
    sent, retried, failed = send_claimed(
        gateway=gateway or get_gateway(), claimed=claimed, token=token
    )
    report.sent, report.transient, report.failed = sent, retried, failed
    return report


def dispatch_personal(*, limit: int = 1000, gateway: SmsGateway | None = None) -> DispatchReport:
    """Send personal messages whose retry is due (the periodic kick)."""
    gateway = gateway or get_gateway()
    report = DispatchReport()
    size = batch_size(gateway=gateway)
    while report.sent + report.transient + report.failed < limit:
        claimed, token = claim_personal_batch(limit=size)
        if not claimed:
            break
        sent, retried, failed = send_claimed(gateway=gateway, claimed=claimed, token=token)
        report.sent += sent
        report.transient += retried
        report.failed += failed
    return report
