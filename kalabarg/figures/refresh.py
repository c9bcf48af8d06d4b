"""Refreshing the programme's summary tables, cycle by cycle, in set-based SQL.

For a cycle, every household is placed by its province and its decile on the cycle's first day
(one pass over the deciles, ``households.selectors.DECILES_IN_RANGE_SQL``); its charge, bonuses
in force and purchases in the cycle (net of reversals: a reversed purchase counts for nothing)
are staged by ``settlements.services.cycle_cost.stage_cycle_money`` and its SMS by a ``GROUP BY``
here, each into a temporary table; one ``INSERT … SELECT`` then sums them per province and
decile. A cycle's rows are replaced in one transaction.

Which cycles: those charging or open, those closed in the last two months (late figures: a
reversal on the cycle's last day, an SMS delivered late), and any cycle with no figures yet.
Older cycles are frozen: their money can no longer move.

Each refreshed cycle's per-decile totals are also recorded as its actual cost
(``settlements.CycleCost``), and the latest closed cycle's basket per household
(``settlements.CycleBasket``): the what-if of a phase reads both.
"""

import datetime as dt
import logging

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from households.selectors import DECILES_IN_RANGE_SQL
from kalabarg.figures.models import CycleFigure, FiguresRefresh, RefreshStatus
from kalabarg.lib.bulk import temporary_table
from settlements.models import Cycle, CycleStatus
from settlements.services.cycle_cost import (
    BONUSES,
    CHARGES,
    PURCHASES,
    DecileSpend,
    drop_cycle_money,
    record_cycle_baskets,
    record_cycle_cost,
    stage_cycle_money,
)

logger = logging.getLogger(__name__)

RECENT = dt.timedelta(days=62)
TOP_STORES = 20
SMS_SENT = ("sent", "delivered")
SMS_FAILED = ("failed",)


def cycles_to_refresh(*, today: dt.date | None = None) -> list[Cycle]:
    """Open and charging cycles, cycles closed recently, and cycles with no figures yet."""
    today = today or timezone.localdate()
    has_figures = Exists(CycleFigure.objects.filter(cycle=OuterRef("pk")))
    return list(
        Cycle.objects.exclude(status=CycleStatus.PLANNED)
        .filter(
            Q(status__in=[CycleStatus.CHARGING, CycleStatus.OPEN])
            | Q(ends_on__gte=today - RECENT)
            | ~has_figures
        )
        .select_related("phase")
        .order_by("starts_on")
    )


def _window(cycle: Cycle) -> tuple[dt.datetime, dt.datetime]:
    """The cycle's moments: from its first day's midnight to the midnight after its last, Tehran."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(cycle.starts_on, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(cycle.ends_on + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end


def _covered_deciles(cycle: Cycle) -> list[int]:
    return sorted(
        {
            decile
            for band in cycle.phase.bands.all()
            for decile in range(band.min_decile, band.max_decile + 1)
        }
    )


def refresh_cycle(*, cycle: Cycle) -> int:
    """Replace ``cycle``'s rows in the three summary tables; returns the figure rows written."""
    start, end = _window(cycle)
    covered = _covered_deciles(cycle) or [-1]
    with transaction.atomic(), connection.cursor() as cursor:
        temporary_table(
            cursor,
            "fig_household",
            "SELECT h.id AS household_id, h.province_id, COALESCE(d.decile, 0) AS decile, "
            "COALESCE(m.members, 0) AS members FROM households_household h "
            f"LEFT JOIN ({DECILES_IN_RANGE_SQL}) d ON d.household_id = h.id AND d.rn = 1 "
            "LEFT JOIN (SELECT household_id, COUNT(*) AS members FROM households_person "
            "WHERE birth_date IS NULL OR birth_date <= %s GROUP BY household_id) m "
            "ON m.household_id = h.id",
            [0, 2**62, cycle.starts_on, cycle.starts_on],
        )
        stage_cycle_money(cycle=cycle, start=start, end=end)
        sent = ", ".join(["%s"] * len(SMS_SENT))
        failed = ", ".join(["%s"] * len(SMS_FAILED))
        temporary_table(
            cursor,
            "fig_sms",
            f"SELECT p.household_id, SUM(CASE WHEN m.status IN ({sent}) THEN 1 ELSE 0 END) AS sent, "
            f"SUM(CASE WHEN m.status IN ({failed}) THEN 1 ELSE 0 END) AS failed "
            "FROM notifications_smsmessage m JOIN households_person p ON p.id = m.person_id "
            "WHERE m.created_at >= %s AND m.created_at < %s GROUP BY p.household_id",
            [*SMS_SENT, *SMS_FAILED, start, end],
        )
        cursor.execute("DELETE FROM figures_cyclefigure WHERE cycle_id = %s", [cycle.pk])
        in_covered = ", ".join(["%s"] * len(covered))
        cursor.execute(
            "INSERT INTO figures_cyclefigure (cycle_id, province_id, decile, covered, households, "
            "members, charged, charged_members, credit_issued_rial, participating, purchases, basket_rial, "
            "credit_spent_rial, compensation_rial, bonuses, bonus_rial, sms_sent, sms_failed) "
            f"SELECT %s, h.province_id, h.decile, CASE WHEN h.decile IN ({in_covered}) THEN 1 ELSE 0 END = 1, "
            "COUNT(*), SUM(h.members), COUNT(c.household_id), "
            "SUM(CASE WHEN c.household_id IS NULL THEN 0 ELSE h.members END), "
            "COALESCE(SUM(c.amount), 0), "
            "COUNT(p.household_id), COALESCE(SUM(p.n), 0), COALESCE(SUM(p.basket), 0), "
            "COALESCE(SUM(p.credit), 0), COALESCE(SUM(p.compensation), 0), "
            "COALESCE(SUM(b.n), 0), COALESCE(SUM(b.amount), 0), "
            "COALESCE(SUM(s.sent), 0), COALESCE(SUM(s.failed), 0) "
            f"FROM fig_household h LEFT JOIN {CHARGES} c ON c.household_id = h.household_id "
            f"LEFT JOIN {PURCHASES} p ON p.household_id = h.household_id "
            f"LEFT JOIN {BONUSES} b ON b.household_id = h.household_id "
            "LEFT JOIN fig_sms s ON s.household_id = h.household_id "
            "GROUP BY h.province_id, h.decile",
            [cycle.pk, *covered],
        )
        rows = max(cursor.rowcount, 0)
        _record_cost(cursor, cycle=cycle)
        record_cycle_baskets(cycle=cycle)
        _refresh_stores(cursor, cycle=cycle, start=start, end=end)
        for name in ("fig_household", "fig_sms"):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
        drop_cycle_money()
    return rows


def _record_cost(cursor, *, cycle: Cycle) -> None:
    """The cycle's actual cost per decile (the what-if sets a rule beside it), from the rows just
    written: the same charges, bonuses and compensation the dashboard shows."""
    cursor.execute(
        "SELECT decile, SUM(charged), SUM(charged_members), SUM(credit_issued_rial), "
        "SUM(bonus_rial), SUM(compensation_rial) FROM figures_cyclefigure WHERE cycle_id = %s "
        "GROUP BY decile ORDER BY decile",
        [cycle.pk],
    )
    record_cycle_cost(
        cycle=cycle,
        deciles=[DecileSpend(*(int(value) for value in row)) for row in cursor.fetchall()],
    )


def _refresh_stores(cursor, *, cycle: Cycle, start: dt.datetime, end: dt.datetime) -> None:
    """Stores per province (connected now, selling in the cycle, paid for it) and the top sellers."""
    temporary_table(
        cursor,
        "fig_store_sales",
        "SELECT store_id, COUNT(*) AS n, SUM(current_total_rial) AS basket, "
        "SUM(credit_rial + compensation_rial) AS owed FROM stores_purchase "
        "WHERE created_at >= %s AND created_at < %s AND status = 'completed' GROUP BY store_id",
        [start, end],
    )
    cursor.execute("DELETE FROM figures_storefigure WHERE cycle_id = %s", [cycle.pk])
    cursor.execute(
        "INSERT INTO figures_storefigure (cycle_id, province_id, connected, selling, paid_out, paid_out_rial) "
        "SELECT %s, s.province_id, SUM(CASE WHEN s.status = 'connected' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN x.store_id IS NULL THEN 0 ELSE 1 END), "
        "SUM(CASE WHEN y.store_id IS NULL THEN 0 ELSE 1 END), COALESCE(SUM(y.amount), 0) "
        "FROM stores_store s LEFT JOIN fig_store_sales x ON x.store_id = s.id "
        "LEFT JOIN (SELECT store_id, SUM(amount_rial) AS amount FROM settlements_storesettlement "
        "WHERE status = 'paid' AND cutoff > %s AND cutoff <= %s GROUP BY store_id) y "
        "ON y.store_id = s.id GROUP BY s.province_id",
        [cycle.pk, start, end],
    )
    cursor.execute("DELETE FROM figures_topstore WHERE cycle_id = %s", [cycle.pk])
    cursor.execute(
        "INSERT INTO figures_topstore (cycle_id, rank, store_id, purchases, basket_rial, owed_rial) "
        "SELECT %s, ROW_NUMBER() OVER (ORDER BY t.basket DESC, t.store_id), t.store_id, t.n, "
        "t.basket, t.owed FROM (SELECT store_id, n, basket, owed FROM fig_store_sales "
        "ORDER BY basket DESC, store_id LIMIT %s) t",
        [cycle.pk, TOP_STORES],
    )
    cursor.execute("DROP TABLE IF EXISTS fig_store_sales")


def refresh_figures(*, trigger: str, cycles: list[Cycle] | None = None) -> FiguresRefresh:
    """Refresh the summary tables of ``cycles`` (default: ``cycles_to_refresh``), each cycle in
    its own transaction, and record the refresh (its time is what the pages say)."""
    cycles = cycles_to_refresh() if cycles is None else cycles
    record = FiguresRefresh.objects.create(
        trigger=trigger[:32], cycles=[c.key for c in cycles], started_at=timezone.now()
    )
    try:
        for cycle in cycles:
            refresh_cycle(cycle=cycle)
    except Exception as exc:
        FiguresRefresh.objects.filter(pk=record.pk).update(
            status=RefreshStatus.FAILED,
            finished_at=timezone.now(),
            error=str(exc)[:2000],
        )
        raise
    FiguresRefresh.objects.filter(pk=record.pk).update(
        status=RefreshStatus.COMPLETED,
        finished_at=timezone.now(),
    )
    record.refresh_from_db()
    logger.info("figures refreshed for %s in %.1f s", record.cycles, record.seconds or 0)
    return record
