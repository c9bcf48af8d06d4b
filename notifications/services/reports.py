"""Delivery reports: the gateway's webhook and a status poll move ``sent`` messages on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kalabarg.lib.sms import DeliveryState, SmsGateway, delivery_state, get_gateway
from notifications.models import MessageStatus, SmsMessage

POLL_AFTER = dt.timedelta(minutes=10)
POLL_GIVE_UP = dt.timedelta(days=3)


@dataclass(frozen=True)
class ReportOutcome:
    updated: int
    unknown: int


@transaction.atomic
def apply_reports(*, reports: Sequence[tuple[str, DeliveryState, int]]) -> ReportOutcome:
    """Apply (provider id, state, provider status) reports. Only ``sent`` messages move (a late or
    repeated report changes nothing); an id we do not know is counted, not an error."""
    now = timezone.now()
    delivered = [pid for pid, state, _ in reports if state == DeliveryState.DELIVERED]
    failed: dict[int, list[str]] = {}
    for pid, state, code in reports:
        if state == DeliveryState.FAILED:
            failed.setdefault(code, []).append(pid)
    updated = 0
    if delivered:
        updated += SmsMessage.objects.filter(
            provider_message_id__in=delivered, status=MessageStatus.SENT
        ).update(status=MessageStatus.DELIVERED, delivered_at=now, updated_at=now)
    for code, pids in failed.items():
        updated += SmsMessage.objects.filter(
            provider_message_id__in=pids, status=MessageStatus.SENT
        ).update(
            status=MessageStatus.FAILED,
            error_code=f"undelivered_{code}",
            last_error="پیامک به گوشی گیرنده نرسید (گزارش تحویل)",
            updated_at=now,
        )
    ids = [pid for pid, _, _ in reports]
    known = set(
        SmsMessage.objects.filter(provider_message_id__in=ids).values_list(
            "provider_message_id", flat=True
        )
    )
    return ReportOutcome(updated=updated, unknown=len(set(ids) - known))


def apply_provider_statuses(*, statuses: Sequence[tuple[str, int]]) -> ReportOutcome:
    """Reports in the gateway's own status codes (as its webhook sends them)."""
    return apply_reports(reports=[(pid, delivery_state(code), code) for pid, code in statuses])


def poll_statuses(*, limit: int = 5000, gateway: SmsGateway | None = None) -> int:
    """Ask the gateway about messages sent 10 minutes to 3 days ago that have no report yet."""
    gateway = gateway or get_gateway()
    now = timezone.now()
    pending = list(
        SmsMessage.objects.filter(
            status=MessageStatus.SENT,
            sent_at__lte=now - POLL_AFTER,
            sent_at__gte=now - POLL_GIVE_UP,
        )
        .exclude(provider_message_id="")
        .values_list("provider_message_id", flat=True)[:limit]
    )
    updated = 0
    for start in range(0, len(pending), 100):
        results = gateway.status(pending[start : start + 100])
        updated += apply_reports(
            reports=[
                (r.provider_id, r.state, r.provider_status)
                for r in results
                if r.state in (DeliveryState.DELIVERED, DeliveryState.FAILED)
            ]
        ).updated
    return updated
