"""Bonus-credited messages: one per bonus entry, keyed ``bonus:<entry id>``, queued set-based."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from notifications import templating
from notifications.models import SmsKind, SmsTemplate
from notifications.services.campaigns import money_sql, month_label
from settlements.models import Cycle


@transaction.atomic
def queue_bonus_messages(*, cycle_id: int, low: int, high: int) -> list[int]:
    """Queue the bonus SMS for every bonus of ``cycle_id`` granted to households ``[low, high)``
    that has none yet (a repeat adds nothing: the key is unique). Returns the new message ids."""
    cycle = Cycle.objects.filter(pk=cycle_id).first()
    template = SmsTemplate.objects.filter(kind=SmsKind.BONUS_CREDITED).first()
    if cycle is None or template is None:
        return []
    before, after = templating.split_on(
        template.body, "amount", {"cycle": month_label(month_key=cycle.key)}
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_smsmessage (campaign_id, person_id, kind, mobile, body, status, "
            "attempts, generation, provider_message_id, error_code, last_error, dedupe_key, "
            "next_attempt_at, created_at, updated_at) "
            f"SELECT NULL, p.id, %s, p.mobile, %s || {money_sql(expression='w.amount_rial')} || %s, 'queued', 0, 0, "
            "'', '', '', 'bonus:' || CAST(e.id AS varchar(20)), %s, %s, %s "
            "FROM settlements_journalentry e "
            "JOIN settlements_posting w ON w.entry_id = e.id AND w.amount_rial > 0 "
            "JOIN households_person p ON p.household_id = e.household_id AND p.is_head "
            "WHERE e.kind = 'bonus' AND e.cycle_id = %s AND e.household_id >= %s AND e.household_id < %s "
            "AND p.mobile <> '' "
            "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING "
            "RETURNING id",
            [SmsKind.BONUS_CREDITED, before, after, now, now, now, cycle_id, low, high],
        )
        return [row[0] for row in cursor.fetchall()]
