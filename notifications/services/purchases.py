"""The head hears of every purchase and reversal: messages built set-based, off the POS path.

The checkout writes nothing for the SMS (its statement count is a tested budget) and never waits
for one. Every minute a beat task (``sms_queue_purchase_messages``) turns the purchases and
reversals committed since the feed's watermark into messages with one ``INSERT … SELECT`` each,
keyed ``purchase:<purchase id>`` and ``reversal:<purchase id>`` (unique: a re-run, an overlap or
two builders at once add nothing twice), then sends them in gateway batches.

Each scan starts ``FEED_MARGIN`` before the watermark: a purchase is stamped when its request
starts and becomes visible when it commits, and the web and worker clocks may differ by a little;
purchases already messaged are skipped through the dedupe key's index. The figures are the ones
the till's receipt showed (the idempotency record's answer: credit used or returned, balance after);
a purchase made without one (the admin, demo data) shows the wallet's balance when the message
is built. A household that turned the messages off in the portal gets none.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications import templating
from notifications.models import SmsFeedWatermark, SmsKind, SmsTemplate
from notifications.services.campaigns import money_sql
from stores.models import Store

FEED = "purchases"
# Longer than any purchase's transaction plus the clock difference between web and worker nodes.
FEED_MARGIN = dt.timedelta(minutes=3)
# A store whose name would read as a link on a phone is named generically (no link, ever).
STORE_FALLBACK_NAME = "فروشگاه طرف قرارداد"
# Characters that every link pattern of ``templating.find_link`` needs one of (after NFKC).
_LINKISH = (".", ":", "。", "｡", "．", "﹒", "：")

_INSERT = (
    "INSERT INTO notifications_smsmessage (campaign_id, person_id, kind, mobile, body, status, "
    "attempts, generation, provider_message_id, error_code, last_error, dedupe_key, "
    "next_attempt_at, created_at, updated_at) "
)
_CONFLICT = " ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING id"


def _answer_balance(alias: str) -> str:
    """The wallet balance the till's answer showed, from the idempotency record ``alias``."""
    if connection.vendor == "postgresql":
        return f"CAST({alias}.response_body ->> 'wallet_balance_rial' AS bigint)"
    return f"CAST(json_extract({alias}.response_body, '$.wallet_balance_rial') AS integer)"


def body_sql(*, body: str, columns: Mapping[str, str]) -> tuple[str, list[object]]:
    """SQL for ``body`` with each ``{name}`` of ``columns`` filled per row by its SQL expression;
    the text between them is rendered as usual and bound as parameters."""
    names = "|".join(re.escape(name) for name in columns)
    pieces = re.split(r"\{(" + names + r")\}", body)
    sql: list[str] = []
    params: list[object] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            sql.append(columns[piece])
        elif piece:
            sql.append("%s")
            params.append(templating.render(piece, {}))
    return " || ".join(sql) or "''", params


def _store_name_sql() -> str:
    """The store's name, or a generic one for the few names that would read as a link."""
    candidates = Q()
    for char in _LINKISH:
        candidates |= Q(name__contains=char)
    linkish = [
        pk
        for pk, name in Store.objects.filter(candidates).values_list("pk", "name")
        if templating.find_link(name) is not None
    ]
    if not linkish:
        return "s.name"
    ids = ", ".join(str(int(pk)) for pk in linkish)
    return f"CASE WHEN s.id IN ({ids}) THEN '{STORE_FALLBACK_NAME}' ELSE s.name END"


def _template(kind: str) -> str | None:
    return SmsTemplate.objects.filter(kind=kind).values_list("body", flat=True).first()


def _columns(*, credit: str, record: str) -> dict[str, str]:
    return {
        "store": _store_name_sql(),
        "credit": money_sql(expression=credit),
        "balance": money_sql(expression=f"COALESCE({_answer_balance(record)}, a.balance_rial, 0)"),
    }


def _purchases_sql(*, template: str, since: dt.datetime, now: dt.datetime) -> tuple[str, list]:
    body, body_params = body_sql(
        body=template, columns=_columns(credit="pu.credit_rial", record="r")
    )
    sql = (
        _INSERT + f"SELECT NULL, p.id, %s, p.mobile, {body}, 'queued', 0, 0, '', '', '', "
        "'purchase:' || CAST(pu.id AS varchar(20)), %s, %s, %s "
        "FROM stores_purchase pu "
        "JOIN households_household h ON h.id = pu.household_id AND h.purchase_sms "
        "JOIN households_person p ON p.household_id = pu.household_id AND p.is_head "
        "JOIN stores_store s ON s.id = pu.store_id "
        "LEFT JOIN stores_idempotencyrecord r ON r.purchase_id = pu.id AND r.operation = 'purchase' "
        "LEFT JOIN settlements_account a ON a.household_id = pu.household_id AND a.kind = 'wallet' "
        "WHERE pu.created_at >= %s AND p.mobile <> '' "
        "AND NOT EXISTS (SELECT 1 FROM notifications_smsmessage m "
        "WHERE m.dedupe_key = 'purchase:' || CAST(pu.id AS varchar(20)))" + _CONFLICT
    )
    return sql, [SmsKind.PURCHASE_MADE, *body_params, now, now, now, since]


def _reversals_sql(*, template: str, since: dt.datetime, now: dt.datetime) -> tuple[str, list]:
    # A reversal is found by its ledger entry (indexed by time); the purchase's entry it reverses
    # names the purchase. (A reversal of a purchase that moved no money posts no entry.)
    body, body_params = body_sql(
        body=template, columns=_columns(credit="pu.credit_rial", record="r")
    )
    sql = (
        _INSERT + f"SELECT NULL, p.id, %s, p.mobile, {body}, 'queued', 0, 0, '', '', '', "
        "'reversal:' || CAST(pu.id AS varchar(20)), %s, %s, %s "
        "FROM settlements_journalentry e "
        "JOIN settlements_journalentry o ON o.id = e.reverses_id AND o.kind = 'purchase' "
        "JOIN stores_purchase pu ON pu.id = o.purchase_id "
        "JOIN households_household h ON h.id = pu.household_id AND h.purchase_sms "
        "JOIN households_person p ON p.household_id = pu.household_id AND p.is_head "
        "JOIN stores_store s ON s.id = pu.store_id "
        "LEFT JOIN stores_idempotencyrecord r ON r.purchase_id = pu.id AND r.operation = 'reversal' "
        "LEFT JOIN settlements_account a ON a.household_id = pu.household_id AND a.kind = 'wallet' "
        "WHERE e.kind = 'reversal' AND e.created_at >= %s AND p.mobile <> '' "
        "AND NOT EXISTS (SELECT 1 FROM notifications_smsmessage m "
        "WHERE m.dedupe_key = 'reversal:' || CAST(pu.id AS varchar(20)))" + _CONFLICT
    )
    return sql, [SmsKind.PURCHASE_REVERSED, *body_params, now, now, now, since]


@transaction.atomic
def queue_purchase_messages(*, now: dt.datetime | None = None) -> list[int]:
    """Queue the message of every purchase and reversal committed since the feed's watermark
    (less ``FEED_MARGIN``) that has none yet; move the watermark to ``now``. Returns the new
    message ids (the caller sends them)."""
    now = now or timezone.now()
    SmsFeedWatermark.objects.get_or_create(name=FEED, defaults={"scanned_to": now - FEED_MARGIN})
    # The row lock makes builders take turns: each sees what the one before it inserted.
    mark = SmsFeedWatermark.objects.select_for_update().get(name=FEED)
    since = min(mark.scanned_to, now) - FEED_MARGIN
    ids: list[int] = []
    for kind, build in (
        (SmsKind.PURCHASE_MADE, _purchases_sql),
        (SmsKind.PURCHASE_REVERSED, _reversals_sql),
    ):
        template = _template(kind)
        if template is None:
            continue
        sql, params = build(template=template, since=since, now=now)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids += [row[0] for row in cursor.fetchall()]
    SmsFeedWatermark.objects.filter(name=FEED).update(scanned_to=now)
    return ids
