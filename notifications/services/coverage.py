"""The decile notice to a household covered during a cycle (charged late by the money core):
the same text the phase's decile-notice campaign sends, once per head and phase."""

from __future__ import annotations

from django.db import connection, transaction
from django.utils import timezone

from households.selectors import decile_on_sql
from notifications.models import SmsKind, SmsTemplate
from notifications.services.campaigns import decile_bodies, personal_notice_key_sql
from settlements.models import Cycle


@transaction.atomic
def queue_coverage_notices(*, cycle_id: int, low: int, high: int) -> list[int]:
    """Queue the decile notice for the head of every household in ``[low, high)`` charged
    ``cycle_id`` after it began, unless the head already has the phase's notice (a campaign's or
    this one's: key ``decile_notice:<phase>:<person>``). Returns the new message ids."""
    cycle = Cycle.objects.select_related("phase").filter(pk=cycle_id).first()
    template = SmsTemplate.objects.filter(kind=SmsKind.DECILE_NOTICE).first()
    if cycle is None or template is None:
        return []
    phase = cycle.phase
    deciles = sorted(
        {d for band in phase.bands.all() for d in range(band.min_decile, band.max_decile + 1)}
    )
    if not deciles:
        return []
    bodies = decile_bodies(phase=phase, deciles=deciles, body_template=template.body)
    cases = " ".join(["WHEN %s THEN %s"] * len(bodies))
    now = timezone.now()
    on_date = min(timezone.localdate(), cycle.ends_on)
    key = personal_notice_key_sql(phase_id=phase.pk, person="p.id")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_smsmessage (campaign_id, person_id, kind, mobile, body, status, "
            "attempts, generation, provider_message_id, error_code, last_error, dedupe_key, "
            "next_attempt_at, created_at, updated_at) "
            f"SELECT NULL, x.person_id, %s, x.mobile, x.body, 'queued', 0, 0, '', '', '', x.dedupe_key, %s, %s, %s "
            f"FROM (SELECT p.id AS person_id, p.mobile, {key} AS dedupe_key, "
            f"CASE {decile_on_sql(household='c.household_id', on_date='%s')} {cases} END AS body "
            # The late charges: those whose entry no run posted.
            "FROM settlements_charge c "
            "JOIN settlements_journalentry e ON e.id = c.entry_id AND e.period = c.period "
            "JOIN households_person p ON p.household_id = c.household_id AND p.is_head "
            "WHERE c.cycle_id = %s AND e.run_id IS NULL "
            "AND c.household_id >= %s AND c.household_id < %s AND p.mobile <> '' "
            "AND NOT EXISTS (SELECT 1 FROM notifications_smsmessage m JOIN notifications_smscampaign c "
            "ON c.id = m.campaign_id WHERE m.person_id = p.id AND c.kind = 'decile_notice' AND c.phase_id = %s "
            "AND m.status <> 'cancelled')) x WHERE x.body IS NOT NULL "
            "ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING "
            "RETURNING id",
            [
                SmsKind.DECILE_NOTICE, now, now, now,
                on_date, *[v for item in bodies.items() for v in item],
                cycle_id, low, high, phase.pk,
            ],
        )  # fmt: skip
        return [row[0] for row in cursor.fetchall()]
