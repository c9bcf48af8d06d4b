"""Campaigns: the outbox of a mass sending, built set-based in household-id chunks.

Each chunk is one ``INSERT … SELECT … ON CONFLICT (campaign_id, person_id) DO NOTHING`` over
the heads of household of a range of household ids, so a re-run, or a chunk redelivered after a
killed worker, adds nothing twice. Texts are rendered once per distinct value in Python (a decile
notice has one text per decile) and chosen in SQL by ``CASE``; a per-row amount (a balance) is
formatted in SQL (Persian digits, thousands separator, toman) between the rendered parts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from households.models import Household
from households.selectors import DECILES_IN_RANGE_SQL
from kalabarg.lib.errors import field_error
from kalabarg.lib.money import RIALS_PER_TOMAN
from kalabarg.lib.persian import JALALI_MONTHS, to_persian_digits
from notifications import templating
from notifications.models import (
    CampaignStatus,
    MessageStatus,
    SmsBuildChunk,
    SmsCampaign,
    SmsKind,
    SmsMessage,
    SmsTemplate,
)
from notifications.signals import announce_on_commit, sms_work_ready
from settlements.models import CreditBasis, Phase
from settlements.services import rules

DEFAULT_CHUNK_SIZE = 50_000


def month_label(*, month_key: str) -> str:
    """``1402-06`` → ``شهریور ۱۴۰۲``."""
    year, month = month_key.split("-")
    return f"{JALALI_MONTHS[int(month) - 1]} {to_persian_digits(year)}"


def money_sql(*, expression: str) -> str:
    """SQL that shows whole rials ``expression`` as people read money: Persian digits, a
    thousands separator, the display unit — the same text as ``kalabarg.lib.money.format_money``
    for amounts ≥ 0. Its ``%`` are doubled: it goes into a statement with bound parameters."""
    toman = settings.MONEY_DISPLAY_UNIT == "toman"
    whole = f"(({expression}) / {RIALS_PER_TOMAN})" if toman else f"({expression})"
    digits = "0123456789"
    persian = "۰۱۲۳۴۵۶۷۸۹"
    if connection.vendor == "postgresql":
        grouped = f"translate(to_char({whole}, 'FM999,999,999,999,990'), '{digits},', '{persian}٬')"
        fraction = (
            f"translate(CAST(({expression}) %% {RIALS_PER_TOMAN} AS text), '{digits}', '{persian}')"
        )
    else:
        grouped = f"printf('%%,d', {whole})"
        for latin, fa in zip(digits + ",", persian + "٬", strict=True):
            grouped = f"replace({grouped}, '{latin}', '{fa}')"
        fraction = f"CAST(({expression}) %% {RIALS_PER_TOMAN} AS text)"
        for latin, fa in zip(digits, persian, strict=True):
            fraction = f"replace({fraction}, '{latin}', '{fa}')"
    if toman:
        grouped = (
            f"{grouped} || CASE WHEN ({expression}) %% {RIALS_PER_TOMAN} <> 0 "
            f"THEN '٫' || {fraction} ELSE '' END"
        )
    unit = "تومان" if toman else "ریال"
    return f"({grouped} || ' {unit}')"


# --- Starting ------------------------------------------------------------------------------------


def _template(kind: str) -> str:
    template = SmsTemplate.objects.filter(kind=kind).first()
    if template is None:
        raise field_error(
            field="kind", message="متن این نوع پیامک تعریف نشده است", code="sms_template_missing"
        )
    return template.body


# Under the per-member basis (the real programme's default) the band's amounts are per member;
# the notice says so rather than multiplying per household (one text per decile keeps the build
# a single set-based statement).
PER_MEMBER_NOTE = " (به ازای هر نفر از اعضای خانوار)"


def personal_notice_key_sql(*, phase_id: int, person: str) -> str:
    """The dedupe key of a head's personal decile notice in a phase (sent when the household was
    covered during a cycle, ``notifications.services.coverage``), as SQL; ``person`` is an SQL
    expression of the person's id. A campaign of the phase leaves out heads who hold one."""
    return f"'decile_notice:{int(phase_id)}:' || CAST({person} AS varchar(20))"


def decile_bodies(*, phase: Phase, deciles: Sequence[int], body_template: str) -> dict[int, str]:
    """The notice's text for each decile, with that decile's amounts from the phase's band."""
    bodies: dict[int, str] = {}
    bands = list(phase.bands.all())
    for decile in deciles:
        band = next((b for b in bands if b.min_decile <= decile <= b.max_decile), None)
        if band is None:
            raise field_error(
                field="deciles",
                message=f"دهک {to_persian_digits(decile)} در مرحله «{phase.name}» نیست",
                code="sms_decile_not_in_phase",
            )
        bodies[decile] = templating.render(
            body_template,
            {
                "decile": decile,
                "credit_rial": band.credit_per_cycle_rial,
                "threshold_rial": band.bonus_threshold_rial,
                "bonus_rial": band.bonus_amount_rial,
                "phase": phase.name,
                "basis": PER_MEMBER_NOTE if phase.basis == CreditBasis.PER_MEMBER else "",
            },
        )
    return bodies


@transaction.atomic
def start_decile_notices(
    *,
    deciles: Sequence[int],
    phase: Phase | None = None,
    started_by: User | None = None,
    reason: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    enqueue: Callable[[SmsCampaign, list[int]], None] | None = None,
) -> SmsCampaign:
    """Start (or resume) the decile-notice campaign of ``phase`` (default: today's) for ``deciles``.

    Amounts and deciles come from the phase's bands, not from the template. Starting the same
    campaign again while it runs resumes it (unfinished chunks are queued again, dispatch is
    kicked); once it has completed, starting it again returns it and sends nothing. A head
    already notified by another campaign of the phase is left out. ``enqueue(campaign, chunk_ids)`` runs on commit (default: the Celery tasks)."""
    chosen = sorted({int(d) for d in deciles})
    if not chosen or any(d < 1 or d > 10 for d in chosen):
        raise field_error(
            field="deciles", message="دهک‌ها باید عددی از ۱ تا ۱۰ باشند", code="sms_deciles_invalid"
        )
    phase = phase or rules.phase_on(day=timezone.localdate(), prefetch_bands=True)
    if phase is None:
        raise field_error(
            field="phase", message="امروز هیچ مرحله‌ای از طرح در جریان نیست", code="sms_no_phase"
        )
    body_template = _template(SmsKind.DECILE_NOTICE)
    decile_bodies(phase=phase, deciles=chosen, body_template=body_template)  # validates deciles
    label = "دهک " + "، ".join(to_persian_digits(d) for d in chosen)
    return _start(
        kind=SmsKind.DECILE_NOTICE,
        phase=phase,
        deciles=chosen,
        label=label,
        body_template=body_template,
        started_by=started_by,
        reason=reason,
        chunk_size=chunk_size,
        enqueue=enqueue,
    )


@transaction.atomic
def start_monthly_balance(
    *,
    month_key: str | None = None,
    started_by: User | None = None,
    reason: str = "",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    enqueue: Callable[[SmsCampaign, list[int]], None] | None = None,
) -> SmsCampaign:
    """Start (or resume) the month's balance messages: one per head of a household with a wallet."""
    from kalabarg.lib.persian import jalali_month_key

    month_key = month_key or jalali_month_key(timezone.localdate())
    try:
        month_label(month_key=month_key)
    except (ValueError, IndexError) as exc:
        raise field_error(
            field="month", message="ماه باید به شکل ۱۴۰۲-۰۶ باشد", code="sms_month_invalid"
        ) from exc
    return _start(
        kind=SmsKind.MONTHLY_BALANCE,
        phase=None,
        deciles=[],
        label=month_key,
        body_template=_template(SmsKind.MONTHLY_BALANCE),
        started_by=started_by,
        reason=reason,
        chunk_size=chunk_size,
        enqueue=enqueue,
    )


def _start(
    *,
    kind: str,
    phase: Phase | None,
    deciles: list[int],
    label: str,
    body_template: str,
    started_by: User | None,
    reason: str,
    chunk_size: int,
    enqueue: Callable[[SmsCampaign, list[int]], None] | None,
) -> SmsCampaign:
    if chunk_size < 1:
        raise field_error(
            field="chunk_size", message="اندازه بخش باید مثبت باشد", code="chunk_size_invalid"
        )
    campaign = (
        SmsCampaign.objects.select_for_update()
        .filter(
            kind=kind,
            phase=phase,
            label=label,
        )
        .exclude(status=CampaignStatus.CANCELLED)
        .order_by("-created_at")
        .first()
    )
    if campaign is not None and campaign.status == CampaignStatus.COMPLETED:
        # The same notice (or month) again: its messages went out already; nobody gets it twice.
        return campaign
    if campaign is None:
        bounds = Household.objects.aggregate(low=Min("pk"), high=Max("pk"))
        low, high = bounds["low"] or 0, (bounds["high"] or -1) + 1
        campaign = SmsCampaign.objects.create(
            kind=kind,
            phase=phase,
            deciles=deciles,
            label=label,
            body_template=body_template,
            chunk_size=chunk_size,
            started_by=started_by,
            reason=reason,
        )
        chunks = [
            SmsBuildChunk(
                campaign=campaign,
                index=index,
                from_household_id=start,
                to_household_id=min(start + chunk_size, high),
            )
            for index, start in enumerate(range(low, high, chunk_size))
        ]
        SmsBuildChunk.objects.bulk_create(chunks)
        SmsCampaign.objects.filter(pk=campaign.pk).update(chunks_total=len(chunks))
        campaign.chunks_total = len(chunks)
        if not chunks:
            SmsCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
            campaign.status = CampaignStatus.SENDING
    queue_unbuilt_chunks(campaign=campaign, enqueue=enqueue)
    return campaign


def queue_unbuilt_chunks(
    *,
    campaign: SmsCampaign,
    enqueue: Callable[[SmsCampaign, list[int]], None] | None = None,
) -> list[int]:
    """Queue the campaign's chunks not built yet, on commit (a campaign with none left goes to
    dispatch), and restart its clock (``progress_at``); returns their ids. Called with the
    campaign's row locked: by a start or resume, and by the kick's takeover of a build that lost
    a chunk with a dead node (``notifications.services.stalls``). A chunk queued twice is built
    once (``build_chunk``)."""
    campaign.progress_at = timezone.now()
    SmsCampaign.objects.filter(pk=campaign.pk).update(progress_at=campaign.progress_at)
    pending = list(
        campaign.chunks.filter(done=False).order_by("index").values_list("pk", flat=True)
    )
    run = enqueue or _enqueue_default
    transaction.on_commit(lambda: run(campaign, pending))
    return pending


def _enqueue_default(campaign: SmsCampaign, chunk_ids: list[int]) -> None:
    """Build the unfinished chunks; a campaign with none left goes straight to dispatch."""
    if chunk_ids:
        sms_work_ready.send(sender=None, build_chunk_ids=chunk_ids, campaign_ids=[], message_ids=[])
    else:
        sms_work_ready.send(
            sender=None, build_chunk_ids=[], campaign_ids=[campaign.pk], message_ids=[]
        )


# --- Building ------------------------------------------------------------------------------------

_INSERT_COLUMNS = (
    "campaign_id, person_id, kind, mobile, body, status, attempts, generation, "
    "provider_message_id, error_code, last_error, next_attempt_at, created_at, updated_at"
)


def _insert_sql(campaign: SmsCampaign, low: int, high: int) -> tuple[str, list[Any]]:
    now = timezone.now()
    head: list[Any] = [campaign.pk, campaign.kind]
    tail: list[Any] = [now, now, now]
    if campaign.kind == SmsKind.DECILE_NOTICE:
        if campaign.phase is None:
            raise ValueError("a decile notice campaign without its phase")
        bodies = decile_bodies(
            phase=campaign.phase, deciles=campaign.deciles, body_template=campaign.body_template
        )
        # Somebody notified by an earlier (e.g. cancelled) campaign of this phase is left out.
        earlier = list(
            SmsCampaign.objects.filter(kind=campaign.kind, phase=campaign.phase)
            .exclude(pk=campaign.pk)
            .values_list("pk", flat=True)
        )
        # A head told by a personal notice of this phase (covered during a cycle) is left out.
        # Asked only when the phase has any (read through the small partial index
        # ``sms_personal_decile_notice_idx``): a per-head probe costs the build most of its time
        # when the planner's statistics still see the outbox empty (docs/benchmarks.md).
        not_notified = ""
        if SmsMessage.objects.filter(
            kind=SmsKind.DECILE_NOTICE,
            campaign__isnull=True,
            dedupe_key__startswith=f"decile_notice:{campaign.phase.pk}:",
        ).exists():
            not_notified = (
                " AND NOT EXISTS (SELECT 1 FROM notifications_smsmessage m3 WHERE m3.kind = 'decile_notice' "
                "AND m3.campaign_id IS NULL AND m3.person_id = p.id AND m3.dedupe_key = "
                f"{personal_notice_key_sql(phase_id=campaign.phase.pk, person='p.id')} AND m3.status <> 'cancelled')"
            )
        if earlier:
            not_notified += (
                " AND NOT EXISTS (SELECT 1 FROM notifications_smsmessage m2 WHERE m2.campaign_id IN ("
                + ", ".join(str(int(pk)) for pk in earlier)
                + ") AND m2.person_id = p.id AND m2.status <> 'cancelled')"
            )
        cases = " ".join(["WHEN %s THEN %s"] * len(bodies))
        in_list = ", ".join(["%s"] * len(bodies))
        sql = (
            f"INSERT INTO notifications_smsmessage ({_INSERT_COLUMNS}) "
            f"SELECT %s, p.id, %s, p.mobile, CASE d.decile {cases} END, 'queued', 0, 0, '', '', '', %s, %s, %s "
            f"FROM ({DECILES_IN_RANGE_SQL}) d "
            "JOIN households_person p ON p.household_id = d.household_id AND p.is_head "
            f"WHERE d.rn = 1 AND d.decile IN ({in_list}) AND p.mobile <> ''{not_notified} "
            "ON CONFLICT (campaign_id, person_id) DO NOTHING"
        )
        params = [
            *head,
            *[v for item in bodies.items() for v in item],
            *tail,
            low,
            high,
            timezone.localdate(),
            *bodies.keys(),
        ]
        return sql, params
    if campaign.kind == SmsKind.MONTHLY_BALANCE:
        before, after = templating.split_on(
            campaign.body_template, "balance", {"month": month_label(month_key=campaign.label)}
        )
        sql = (
            f"INSERT INTO notifications_smsmessage ({_INSERT_COLUMNS}) "
            f"SELECT %s, p.id, %s, p.mobile, %s || {money_sql(expression='a.balance_rial')} || %s, "
            "'queued', 0, 0, '', '', '', %s, %s, %s "
            "FROM settlements_account a "
            "JOIN households_person p ON p.household_id = a.household_id AND p.is_head "
            "WHERE a.kind = 'wallet' AND a.household_id >= %s AND a.household_id < %s AND p.mobile <> '' "
            "ON CONFLICT (campaign_id, person_id) DO NOTHING"
        )
        return sql, [*head, before, after, *tail, low, high]
    raise ValueError(f"no outbox builder for {campaign.kind}")


def build_chunk(*, chunk_id: int) -> bool:
    """Build one chunk of a campaign's outbox, exactly once; False if done already or cancelled.

    When the last chunk is done the campaign moves to ``sending`` and dispatch is queued."""
    with transaction.atomic():
        chunk = (
            SmsBuildChunk.objects.select_for_update(of=("self",))
            .select_related("campaign__phase")
            .get(pk=chunk_id)
        )
        campaign = chunk.campaign
        if chunk.done or campaign.status == CampaignStatus.CANCELLED:
            return False
        sql, params = _insert_sql(campaign, chunk.from_household_id, chunk.to_household_id)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            inserted = max(cursor.rowcount, 0)
        now = timezone.now()
        SmsBuildChunk.objects.filter(pk=chunk.pk).update(
            done=True, inserted=inserted, finished_at=now
        )
        SmsCampaign.objects.filter(pk=campaign.pk).update(
            chunks_done=F("chunks_done") + 1,
            recipients_total=F("recipients_total") + inserted,
            progress_at=now,
        )
        ready = SmsCampaign.objects.filter(
            pk=campaign.pk, status=CampaignStatus.BUILDING, chunks_done__gte=F("chunks_total")
        ).update(status=CampaignStatus.SENDING)
        if ready:
            announce_on_commit(campaign_ids=[campaign.pk])
    return True


def record_build_failure(*, chunk_id: int, exc: DatabaseError) -> None:
    SmsCampaign.objects.filter(chunks__pk=chunk_id).update(last_error=str(exc)[:2000])


# --- Officers' actions -----------------------------------------------------------------------------


@transaction.atomic
def cancel_campaign(*, campaign: SmsCampaign, cancelled_by: User | None = None) -> int:
    """Stop a campaign: no further chunk is built or batch claimed; its queued messages become
    ``cancelled``. Messages already with the gateway (``sending``) finish normally."""
    updated = SmsCampaign.objects.filter(
        pk=campaign.pk, status__in=[CampaignStatus.BUILDING, CampaignStatus.SENDING]
    ).update(status=CampaignStatus.CANCELLED, cancelled_by=cancelled_by, finished_at=timezone.now())
    if not updated:
        raise field_error(
            field="status",
            message="این پویش در جریان نیست و لغو نمی‌شود",
            code="sms_campaign_not_running",
        )
    now = timezone.now()
    cancelled = SmsMessage.objects.filter(campaign=campaign, status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, updated_at=now, lease_until=None
    )
    from notifications.services.dispatch import refresh_counts

    refresh_counts(campaign_id=campaign.pk)
    return cancelled


@transaction.atomic
def retry_failed(*, message_ids: Sequence[int]) -> int:
    """Queue failed messages again (an officer's decision), to the person's current mobile, as a
    new send generation (a new local id: the gateway must not de-duplicate it against the failed
    one). Messages of a cancelled campaign are not retried."""
    now = timezone.now()
    failed = (
        SmsMessage.objects.select_for_update(of=("self",))
        .filter(pk__in=list(message_ids), status=MessageStatus.FAILED)
        .exclude(campaign__status=CampaignStatus.CANCELLED)
        .select_related("person")
    )
    retried = []
    for message in failed:
        if not message.person.mobile:
            continue
        message.mobile = message.person.mobile
        message.status = MessageStatus.QUEUED
        message.generation += 1
        message.attempts = 0
        message.error_code = ""
        message.last_error = ""
        message.provider_message_id = ""
        message.next_attempt_at = now
        message.updated_at = now
        retried.append(message)
    SmsMessage.objects.bulk_update(
        retried,
        [
            "mobile",
            "status",
            "generation",
            "attempts",
            "error_code",
            "last_error",
            "provider_message_id",
            "next_attempt_at",
            "updated_at",
        ],
    )
    campaign_ids = {m.campaign_id for m in retried if m.campaign_id}
    personal = [m.pk for m in retried if m.campaign_id is None]
    SmsCampaign.objects.filter(pk__in=campaign_ids, status=CampaignStatus.COMPLETED).update(
        status=CampaignStatus.SENDING, finished_at=None
    )
    announce_on_commit(campaign_ids=sorted(campaign_ids), message_ids=personal)
    return len(retried)
