"""The nightly anomaly job: flag stores whose purchases show a pattern an officer should look at.

Five detectors, each one ``INSERT … SELECT`` over the period's completed purchases (a range of
``purchase_created_idx``), grouped in SQL — no Python object per purchase or per store. Each
inserts a ``stores.StoreFlag`` with the figures that raised it (``evidence``) for every store
that shows its pattern and holds no open flag of that kind: ``NOT EXISTS`` skips those, and
``ON CONFLICT DO NOTHING`` on the one-open-flag-per-kind index settles a race between two runs.
A closed flag does not stop a new one: the pattern seen again after an officer closed it is
raised again.

"One card" is the payer, the card's BIN and its last four digits (the full number is never
stored): the same person paying with another card is another card. A payment-code purchase has
no card, so each person's payment code counts as one card of theirs.

Days and hours are Tehran's (``Asia/Tehran``): the period is whole Tehran days, and the night
and per-day detectors read the local hour and date through Django's own SQL for the backend
(``AT TIME ZONE`` on PostgreSQL, Django's registered functions on SQLite), so the same SQL runs
on both. Thresholds are settings (``ANOMALY_*``, see docs/decisions.md).
"""

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from kalabarg.lib.errors import field_error
from settlements.services.checkout import MAX_QUANTITY
from stores.models import FlagKind, PurchaseStatus

logger = logging.getLogger(__name__)

TEHRAN_NAME = "Asia/Tehran"
TEHRAN = ZoneInfo(TEHRAN_NAME)

# The period's completed purchases: one range of purchase_created_idx (created_at, id).
_PERIOD = (
    f"p.created_at >= %s AND p.created_at < %s AND p.status = '{PurchaseStatus.COMPLETED.value}'"
)


@dataclass(frozen=True)
class AnomalyReport:
    """How many flags one run raised, per kind (stores already flagged open are not counted)."""

    day_from: dt.date
    day_to: dt.date
    basket_above_province: int = 0
    card_repeated: int = 0
    few_cards: int = 0
    night_sales: int = 0
    under_line_limit: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_kind().values())

    def by_kind(self) -> dict[str, int]:
        """``{kind: flags raised}`` in ``FlagKind`` order (JSON-ready, for the task's result)."""
        counts = asdict(self)
        return {kind: counts[kind] for kind in FlagKind.values}


@dataclass(frozen=True)
class _Period:
    day_from: dt.date
    day_to: dt.date
    start: Any  # the first moment, adapted for the backend
    end: Any  # the moment after the last


def tehran_yesterday() -> dt.date:
    """The day before today in Tehran: what the nightly run flags."""
    return timezone.localdate(timezone=TEHRAN) - dt.timedelta(days=1)


def _period(day_from: dt.date, day_to: dt.date) -> _Period:
    ops = connection.ops
    start = dt.datetime.combine(day_from, dt.time(0), tzinfo=TEHRAN)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), tzinfo=TEHRAN)
    return _Period(
        day_from=day_from,
        day_to=day_to,
        start=ops.adapt_datetimefield_value(start),
        end=ops.adapt_datetimefield_value(end),
    )


def _json_object(pairs: list[tuple[str, str]]) -> str:
    """``jsonb_build_object('key', expr, …)`` on PostgreSQL, ``json_object(…)`` on SQLite; the
    keys are constants of this module, never input."""
    function = "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"
    return f"{function}(" + ", ".join(f"'{key}', {expr}" for key, expr in pairs) + ")"


def _json_array(expressions: list[str]) -> str:
    function = "jsonb_build_array" if connection.vendor == "postgresql" else "json_array"
    return f"{function}({', '.join(expressions)})"


def _insert_flags(
    *,
    kind: str,
    period: _Period,
    ctes: str,
    cte_params: list[Any],
    source: str,
    evidence: list[tuple[str, str]],
    evidence_params: list[Any],
    condition: str,
    condition_params: list[Any],
) -> int:
    """One statement: a flag of ``kind`` for every row ``x`` of ``source`` (one per store, with its
    ``store_id``) that meets ``condition``, unless the store holds an open flag of that kind."""
    ops = connection.ops
    # INSERT first, then the WITH of its SELECT: Python's sqlite3 counts the rows of a
    # statement only when it starts with INSERT (a leading WITH leaves rowcount at -1).
    sql = (
        "INSERT INTO stores_storeflag "
        "(store_id, kind, period_from, period_to, evidence, status, close_reason, created_at) "
        f"WITH {ctes} SELECT x.store_id, %s, %s, %s, {_json_object(evidence)}, 'open', '', %s "
        f"FROM {source} x WHERE {condition} "
        "AND NOT EXISTS (SELECT 1 FROM stores_storeflag f "
        "WHERE f.store_id = x.store_id AND f.kind = %s AND f.status = 'open') "
        "ON CONFLICT DO NOTHING"
    )
    params = [
        *cte_params,
        kind,
        ops.adapt_datefield_value(period.day_from),
        ops.adapt_datefield_value(period.day_to),
        *evidence_params,
        ops.adapt_datetimefield_value(timezone.now()),
        *condition_params,
        kind,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# --- The five detectors ------------------------------------------------------------------------


def _basket_above_province(period: _Period) -> int:
    """A store whose average basket (current prices) is at least ``ANOMALY_BASKET_FACTOR`` times
    the average of the other stores of its province; both sides need
    ``ANOMALY_BASKET_MIN_PURCHASES`` purchases. The store itself is left out of its province's
    average, so a store that makes most of a small province's sales cannot hide in it."""
    minimum = settings.ANOMALY_BASKET_MIN_PURCHASES
    factor = settings.ANOMALY_BASKET_FACTOR
    ctes = (
        "by_store AS (SELECT p.store_id, COUNT(*) AS purchases, "
        "CAST(SUM(p.current_total_rial) AS bigint) AS total "
        f"FROM stores_purchase p WHERE {_PERIOD} GROUP BY p.store_id), "
        "per_store AS (SELECT b.store_id, s.province_id, b.purchases, b.total "
        "FROM by_store b JOIN stores_store s ON s.id = b.store_id), "
        "per_province AS (SELECT province_id, CAST(SUM(purchases) AS bigint) AS purchases, "
        "CAST(SUM(total) AS bigint) AS total FROM per_store GROUP BY province_id), "
        # Integer division: averages in whole rials, rounded down.
        "scored AS (SELECT ps.store_id, ps.purchases, ps.total / ps.purchases AS store_average, "
        "pv.purchases - ps.purchases AS others, "
        "(pv.total - ps.total) / NULLIF(pv.purchases - ps.purchases, 0) AS others_average "
        "FROM per_store ps JOIN per_province pv ON pv.province_id = ps.province_id)"
    )
    return _insert_flags(
        kind=FlagKind.BASKET_ABOVE_PROVINCE,
        period=period,
        ctes=ctes,
        cte_params=[period.start, period.end],
        source="scored",
        evidence=[
            ("purchases", "x.purchases"),
            ("store_average_rial", "x.store_average"),
            ("province_average_rial", "x.others_average"),
            ("province_purchases", "x.others"),
            ("ratio_percent", "x.store_average * 100 / x.others_average"),
            ("factor", "%s"),
        ],
        evidence_params=[factor],
        condition=(
            "x.purchases >= %s AND x.others >= %s AND x.others_average > 0 "
            "AND x.store_average >= %s * x.others_average"
        ),
        condition_params=[minimum, minimum, factor],
    )


def _card_repeated(period: _Period) -> int:
    """A store where one card paid ``ANOMALY_CARD_PURCHASES_PER_DAY`` purchases or more in one
    Tehran day. The evidence is the worst card-day (most purchases, then the latest day) and how
    many card-days passed the threshold."""
    threshold = settings.ANOMALY_CARD_PURCHASES_PER_DAY
    day_sql, day_params = connection.ops.datetime_cast_date_sql("p.created_at", (), TEHRAN_NAME)
    ctes = (
        "days AS (SELECT p.store_id, p.payer_id, p.card_bin, p.card_last4, "
        f"{day_sql} AS local_day FROM stores_purchase p WHERE {_PERIOD}), "
        "per_card_day AS (SELECT store_id, payer_id, card_bin, card_last4, local_day, "
        "COUNT(*) AS purchases FROM days "
        "GROUP BY store_id, payer_id, card_bin, card_last4, local_day HAVING COUNT(*) >= %s), "
        "ranked AS (SELECT c.store_id, c.payer_id, c.card_bin, c.card_last4, c.local_day, "
        "c.purchases, ROW_NUMBER() OVER (PARTITION BY c.store_id "
        "ORDER BY c.purchases DESC, c.local_day DESC, c.payer_id, c.card_last4) AS rn, "
        "COUNT(*) OVER (PARTITION BY c.store_id) AS card_days FROM per_card_day c)"
    )
    return _insert_flags(
        kind=FlagKind.CARD_REPEATED,
        period=period,
        ctes=ctes,
        cte_params=[*day_params, period.start, period.end, threshold],
        source="ranked",
        evidence=[
            ("day", "x.local_day"),
            ("purchases", "x.purchases"),
            ("card_bin", "x.card_bin"),
            ("card_last4", "x.card_last4"),
            ("payer_id", "x.payer_id"),
            ("card_days", "x.card_days"),
            ("threshold", "%s"),
        ],
        evidence_params=[threshold],
        condition="x.rn = 1",
        condition_params=[],
    )


def _few_cards(period: _Period) -> int:
    """A store whose top ``ANOMALY_FEW_CARDS_COUNT`` cards (by value) made at least
    ``ANOMALY_FEW_CARDS_SHARE_PERCENT`` % of its sales in rials (current prices), once it has
    ``ANOMALY_FEW_CARDS_MIN_PURCHASES`` purchases. The evidence names those cards' last four."""
    top = settings.ANOMALY_FEW_CARDS_COUNT
    share = settings.ANOMALY_FEW_CARDS_SHARE_PERCENT
    minimum = settings.ANOMALY_FEW_CARDS_MIN_PURCHASES
    card_columns = "".join(
        f", MAX(CASE WHEN rn = {rank} THEN card_last4 END) AS card_{rank}"
        for rank in range(1, top + 1)
    )
    ctes = (
        "per_card AS (SELECT p.store_id, p.payer_id, p.card_bin, p.card_last4, "
        "COUNT(*) AS purchases, CAST(SUM(p.current_total_rial) AS bigint) AS total "
        f"FROM stores_purchase p WHERE {_PERIOD} "
        "GROUP BY p.store_id, p.payer_id, p.card_bin, p.card_last4), "
        "ranked AS (SELECT c.store_id, c.card_last4, c.purchases, c.total, "
        "ROW_NUMBER() OVER (PARTITION BY c.store_id "
        "ORDER BY c.total DESC, c.purchases DESC, c.payer_id, c.card_bin, c.card_last4) AS rn "
        "FROM per_card c), "
        "per_store AS (SELECT store_id, COUNT(*) AS cards, "
        "CAST(SUM(purchases) AS bigint) AS purchases, CAST(SUM(total) AS bigint) AS total, "
        "CAST(SUM(CASE WHEN rn <= %s THEN purchases ELSE 0 END) AS bigint) AS top_purchases, "
        f"CAST(SUM(CASE WHEN rn <= %s THEN total ELSE 0 END) AS bigint) AS top_total{card_columns} "
        "FROM ranked GROUP BY store_id)"
    )
    return _insert_flags(
        kind=FlagKind.FEW_CARDS,
        period=period,
        ctes=ctes,
        cte_params=[period.start, period.end, top, top],
        source="per_store",
        evidence=[
            ("purchases", "x.purchases"),
            ("cards", "x.cards"),
            ("top_cards", "%s"),
            ("top_purchases", "x.top_purchases"),
            ("top_total_rial", "x.top_total"),
            ("total_rial", "x.total"),
            ("share_percent", "x.top_total * 100 / x.total"),
            ("card_last4s", _json_array([f"x.card_{rank}" for rank in range(1, top + 1)])),
            ("threshold_percent", "%s"),
        ],
        evidence_params=[top, share],
        condition="x.purchases >= %s AND x.total > 0 AND x.top_total * 100 >= %s * x.total",
        condition_params=[minimum, share],
    )


def _night_sales(period: _Period) -> int:
    """A store with ``ANOMALY_NIGHT_MIN_PURCHASES`` purchases or more in the night hours
    (``ANOMALY_NIGHT_FROM_HOUR`` to ``ANOMALY_NIGHT_TO_HOUR``, Tehran time, the end hour
    excluded) making at least ``ANOMALY_NIGHT_SHARE_PERCENT`` % of its purchases."""
    from_hour, to_hour = settings.ANOMALY_NIGHT_FROM_HOUR, settings.ANOMALY_NIGHT_TO_HOUR
    hour_sql, hour_params = connection.ops.datetime_extract_sql(
        "hour", "p.created_at", (), TEHRAN_NAME
    )
    # 23 → 5 wraps past midnight: either side of it; 1 → 5 does not: between.
    joiner = "OR" if from_hour > to_hour else "AND"
    night = f"(local_hour >= %s {joiner} local_hour < %s)"
    ctes = (
        f"hours AS (SELECT p.store_id, {hour_sql} AS local_hour "
        f"FROM stores_purchase p WHERE {_PERIOD}), "
        "per_store AS (SELECT store_id, COUNT(*) AS purchases, "
        f"SUM(CASE WHEN {night} THEN 1 ELSE 0 END) AS night FROM hours GROUP BY store_id)"
    )
    minimum, share = settings.ANOMALY_NIGHT_MIN_PURCHASES, settings.ANOMALY_NIGHT_SHARE_PERCENT
    return _insert_flags(
        kind=FlagKind.NIGHT_SALES,
        period=period,
        ctes=ctes,
        cte_params=[*hour_params, period.start, period.end, from_hour, to_hour],
        source="per_store",
        evidence=[
            ("purchases", "x.purchases"),
            ("night_purchases", "x.night"),
            ("share_percent", "x.night * 100 / x.purchases"),
            ("from_hour", "%s"),
            ("to_hour", "%s"),
            ("threshold_percent", "%s"),
        ],
        evidence_params=[from_hour, to_hour, share],
        condition="x.night >= %s AND x.night * 100 >= %s * x.purchases",
        condition_params=[minimum, share],
    )


def under_limit_from() -> Decimal:
    """The smallest quantity counted as "just under the limit" (``ANOMALY_UNDER_LIMIT_PERCENT`` %
    of the checkout's ``MAX_QUANTITY``, to the gram)."""
    return (MAX_QUANTITY * settings.ANOMALY_UNDER_LIMIT_PERCENT / 100).quantize(Decimal("0.001"))


def _under_line_limit(period: _Period) -> int:
    """A store with ``ANOMALY_UNDER_LIMIT_MIN_LINES`` purchase lines or more whose quantity is at
    least ``ANOMALY_UNDER_LIMIT_PERCENT`` % of the per-line limit (``MAX_QUANTITY``) and under it:
    a basket split to stay just inside what the till accepts."""
    low, limit = under_limit_from(), MAX_QUANTITY
    near = "l.quantity >= %s AND l.quantity < %s"
    ctes = (
        "per_store AS (SELECT p.store_id, COUNT(*) AS lines, "
        f"SUM(CASE WHEN {near} THEN 1 ELSE 0 END) AS near_lines, "
        f"COUNT(DISTINCT CASE WHEN {near} THEN p.id END) AS near_purchases "
        "FROM stores_purchase p JOIN stores_purchaseline l ON l.purchase_id = p.id "
        f"WHERE {_PERIOD} GROUP BY p.store_id)"
    )
    return _insert_flags(
        kind=FlagKind.UNDER_LINE_LIMIT,
        period=period,
        ctes=ctes,
        cte_params=[low, limit, low, limit, period.start, period.end],
        source="per_store",
        evidence=[
            ("lines", "x.lines"),
            ("near_lines", "x.near_lines"),
            ("near_purchases", "x.near_purchases"),
            ("from_quantity", "CAST(%s AS varchar(20))"),
            ("limit_quantity", "CAST(%s AS varchar(20))"),
            ("threshold_lines", "%s"),
        ],
        evidence_params=[
            f"{low.normalize():f}",
            f"{limit.normalize():f}",
            settings.ANOMALY_UNDER_LIMIT_MIN_LINES,
        ],
        condition="x.near_lines >= %s",
        condition_params=[settings.ANOMALY_UNDER_LIMIT_MIN_LINES],
    )


@transaction.atomic
def flag_store_anomalies(*, day_from: dt.date, day_to: dt.date) -> AnomalyReport:
    """Flag every store whose completed purchases of Tehran days ``day_from``…``day_to``
    (inclusive) show one of the five patterns, once per store and kind while a flag stays open.

    Idempotent: a second run over the same days raises nothing new. One transaction, so a run
    that fails raises no flag at all and can simply be run again."""
    if day_to < day_from:
        raise field_error(
            field="day_to",
            message="روز پایان نباید پیش از روز آغاز باشد",
            code="period_reversed",
        )
    period = _period(day_from, day_to)
    report = AnomalyReport(
        day_from=day_from,
        day_to=day_to,
        basket_above_province=_basket_above_province(period),
        card_repeated=_card_repeated(period),
        few_cards=_few_cards(period),
        night_sales=_night_sales(period),
        under_line_limit=_under_line_limit(period),
    )
    logger.info("store anomaly flags %s…%s: %s", day_from, day_to, report.by_kind())
    return report
