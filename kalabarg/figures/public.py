"""The public transparency page for a cycle: the programme's households only (the deciles the
cycle's phase covers) by province, by decile and province × decile, small cells suppressed;
connected stores as counts per province; money in the unit people see (toman today).

Nothing personal: no store, household or person is named, and no cell about fewer than 10
households is shown or can be worked out from the totals. One suppression serves the whole page
(``suppressed``): the province × decile grid of households, whose margins are the provinces' and
the deciles' lines and whose corner is the total, so no table shows what another hides.
"""

from dataclasses import dataclass

from django.conf import settings

from kalabarg.figures import selectors
from kalabarg.figures.charts import Bar, bar_chart
from kalabarg.figures.pages import TOTAL, TOTAL_LABEL, Page, Section, cycle_label, cycle_period
from kalabarg.figures.selectors import Figures
from kalabarg.figures.suppression import THRESHOLD, suppress_grid
from kalabarg.figures.tables import (
    COUNT,
    FEWER_THAN_TEN,
    LABEL,
    PERCENT,
    RIAL,
    SHOWN,
    TEXT,
    WITHHELD,
    Column,
    Row,
    Table,
    hidden_count,
    hidden_figure,
    show,
)
from settlements.models import Cycle

PUBLIC_MONEY = None  # the display unit people see (settings.MONEY_DISPLAY_UNIT: toman today)

PUBLIC_COLUMNS = (
    Column("households", "خانوارهای مشمول"),
    Column("charged_households", "خانوارهای شارژشده"),
    Column("participation_percent", "مشارکت", PERCENT),
    Column("credit_issued_rial", "اعتبار شارژشده", RIAL),
    Column("credit_spent_rial", "اعتبار خرج‌شده", RIAL),
    Column("bonuses", "اعتبار مضاعف (تعداد)"),
    Column("bonus_rial", "اعتبار مضاعف (مبلغ)", RIAL),
    Column("compensation_rial", "جبران تورم", RIAL),
)
STATUS_COLUMN = Column("status", "وضعیت", TEXT, on_page=False)


def _status(count: int, hidden: bool) -> str:
    if not hidden:
        return SHOWN
    return FEWER_THAN_TEN if count < THRESHOLD else WITHHELD


def _public_values(f: Figures, status: str) -> tuple[object, ...]:
    if status != SHOWN:
        # A hidden line hides every figure it carries: its money would betray its count.
        return (hidden_count(status), *(hidden_figure(status),) * (len(PUBLIC_COLUMNS) - 1))
    return (
        f.households,
        f.charged,
        f.participation_percent,
        f.credit_issued_rial,
        f.credit_spent_rial,
        f.bonuses,
        f.bonus_rial,
        f.compensation_rial,
    )


@dataclass(frozen=True)
class Suppressed:
    """Each line's status (shown, fewer than 10, withheld), from one suppression of the grid."""

    provinces: list[str]
    deciles: list[str]
    total: str
    cells: list[list[str]]


def suppressed(figures: selectors.CycleFigures) -> Suppressed:
    """One suppression for the whole page: the province × decile grid of households (each cell
    judged by the smallest count of households it publishes: covered, charged, buying, holding a
    bonus), whose margins
    are the provinces' and the deciles' lines and whose corner is the total. The lists follow the
    grid's margins, so no table shows what another hides."""
    counts = figures.grid.smallest
    grid = suppress_grid(counts)
    provinces = [
        _status(line.figures.smallest_count, hidden)
        for line, hidden in zip(figures.grid.provinces, grid.row_total_hidden, strict=True)
    ]
    by_decile = {line.key: line for line in figures.by_decile}
    deciles = [
        _status(by_decile[str(decile)].figures.smallest_count, hidden)
        for decile, hidden in zip(figures.grid.deciles, grid.column_total_hidden, strict=True)
    ]
    cells = [
        [_status(count, hidden) for count, hidden in zip(row, hidden_row, strict=True)]
        for row, hidden_row in zip(counts, grid.hidden, strict=True)
    ]
    return Suppressed(
        provinces=provinces,
        deciles=deciles,
        total=_status(figures.total.smallest_count, grid.grand_total_hidden),
        cells=cells,
    )


def _public_province_table(figures: selectors.CycleFigures, s: Suppressed) -> Table:
    columns = (
        Column("province_code", "کد استان", TEXT, on_page=False),
        Column("province", "استان", LABEL),
        *PUBLIC_COLUMNS,
        STATUS_COLUMN,
    )
    rows = [
        Row((line.key, line.label, *_public_values(line.figures, status), status))
        for line, status in zip(figures.by_province, s.provinces, strict=True)
    ]
    rows.append(
        Row(
            (TOTAL, TOTAL_LABEL, *_public_values(figures.total, s.total), s.total),
            total=True,
        )
    )
    return Table("provinces", "به تفکیک استان", columns, tuple(rows), money=PUBLIC_MONEY)


def _public_decile_table(figures: selectors.CycleFigures, s: Suppressed) -> Table:
    columns = (
        Column("decile", "دهک", TEXT, on_page=False),
        Column("decile_label", "دهک", LABEL, in_csv=False),
        *PUBLIC_COLUMNS,
        STATUS_COLUMN,
    )
    rows = [
        Row((line.key, line.label, *_public_values(line.figures, status), status))
        for line, status in zip(figures.by_decile, s.deciles, strict=True)
    ]
    rows.append(
        Row(
            (TOTAL, TOTAL_LABEL, *_public_values(figures.total, s.total), s.total),
            total=True,
        )
    )
    return Table("deciles", "به تفکیک دهک", columns, tuple(rows), money=PUBLIC_MONEY)


def _count_or_hidden(count: int, status: str) -> object:
    return count if status == SHOWN else hidden_count(status)


def _public_grid_table(figures: selectors.CycleFigures, s: Suppressed) -> Table:
    grid = figures.grid
    deciles = grid.deciles
    columns = (
        Column("province", "استان", LABEL),
        *(Column(f"decile_{d}", selectors.decile_label(d)) for d in deciles),
        Column("total", TOTAL_LABEL),
    )
    rows = [
        Row(
            (
                line.label,
                *(
                    _count_or_hidden(count, status)
                    for count, status in zip(counts, statuses, strict=True)
                ),
                _count_or_hidden(line.figures.households, row_status),
            )
        )
        for line, counts, statuses, row_status in zip(
            grid.provinces, grid.households, s.cells, s.provinces, strict=True
        )
    ]
    by_decile = {line.key: line.figures.households for line in figures.by_decile}
    rows.append(
        Row(
            (
                TOTAL_LABEL,
                *(
                    _count_or_hidden(by_decile[str(d)], status)
                    for d, status in zip(deciles, s.deciles, strict=True)
                ),
                _count_or_hidden(figures.total.households, s.total),
            ),
            total=True,
        )
    )
    # The CSV in long form: one line per cell, margins included, with each cell's status.
    long_columns = (
        Column("province_code", "کد استان", TEXT),
        Column("province", "استان", TEXT),
        Column("decile", "دهک", TEXT),
        Column("households", "خانوارهای مشمول"),
        STATUS_COLUMN,
    )
    long_rows: list[Row] = []
    for line, counts, statuses, row_status in zip(
        grid.provinces, grid.households, s.cells, s.provinces, strict=True
    ):
        for decile, count, status in zip(deciles, counts, statuses, strict=True):
            long_rows.append(
                Row((line.key, line.label, str(decile), _csv_count(count, status), status))
            )
        long_rows.append(
            Row(
                (
                    line.key,
                    line.label,
                    TOTAL,
                    _csv_count(line.figures.households, row_status),
                    row_status,
                )
            )
        )
    for decile, status in zip(deciles, s.deciles, strict=True):
        long_rows.append(
            Row(
                (
                    TOTAL,
                    TOTAL_LABEL,
                    str(decile),
                    _csv_count(by_decile[str(decile)], status),
                    status,
                )
            )
        )
    long_rows.append(
        Row((TOTAL, TOTAL_LABEL, TOTAL, _csv_count(figures.total.households, s.total), s.total))
    )
    long_table = Table("province_deciles", "", long_columns, tuple(long_rows))
    return Table(
        "province_deciles",
        "خانوارهای مشمول به تفکیک استان و دهک",
        columns,
        tuple(rows),
        money=PUBLIC_MONEY,
        csv_table=long_table,
    )


def _csv_count(count: int, status: str) -> int | None:
    return count if status == SHOWN else None


def _public_store_table(stores: selectors.CycleStores) -> Table:
    columns = (
        Column("province_code", "کد استان", TEXT, on_page=False),
        Column("province", "استان", LABEL),
        Column("connected_stores", "فروشگاه‌های متصل"),
    )
    rows = [Row((line.key, line.label, line.counts.connected)) for line in stores.by_province]
    rows.append(Row((TOTAL, TOTAL_LABEL, stores.total.connected), total=True))
    return Table(
        "stores", "فروشگاه‌های متصل به تفکیک استان", columns, tuple(rows), money=PUBLIC_MONEY
    )


def _public_bar(label: str, value: object, kind: str, status: str) -> Bar:
    if status != SHOWN:
        return Bar(label=label, value=None, text=hidden_count(status).text)
    return Bar(label=label, value=value, text=show(value, kind, money=PUBLIC_MONEY))  # type: ignore[arg-type]


def transparency_page(*, cycle: Cycle) -> Page:
    """The public page for ``cycle``: the programme's households by province, by decile and both,
    small cells suppressed; connected stores per province."""
    figures = selectors.cycle_figures(cycle=cycle, covered_only=True)
    stores = selectors.store_figures(cycle=cycle)
    s = suppressed(figures)
    name = cycle_label(cycle)
    sections = [
        Section(
            heading="استان‌ها",
            explains="خانوارهای مشمول: خانوارهایی که دهکشان در آغاز این دوره در دهک‌های مشمول طرح بوده است.",
            chart=bar_chart(
                chart_id="chart-provinces",
                title=f"نمودار خانوارهای مشمول به تفکیک استان، {name}",
                bars=[
                    _public_bar(line.label, line.figures.households, COUNT, status)
                    for line, status in zip(figures.by_province, s.provinces, strict=True)
                ],
            ),
            table=_public_province_table(figures, s),
            anchor="provinces",
        ),
        Section(
            heading="دهک‌ها",
            explains="مشارکت: درصد خانوارهای شارژشده که در این دوره دست‌کم یک خرید کرده‌اند.",
            chart=bar_chart(
                chart_id="chart-deciles",
                title=f"نمودار مشارکت خانوارها به تفکیک دهک، {name}",
                bars=[
                    _public_bar(line.label, line.figures.participation_percent, PERCENT, status)
                    for line, status in zip(figures.by_decile, s.deciles, strict=True)
                ],
            ),
            table=_public_decile_table(figures, s),
            anchor="deciles",
        ),
        Section(
            heading="استان و دهک",
            explains="شمار خانوارهای مشمول هر استان در هر دهک.",
            table=_public_grid_table(figures, s),
            anchor="province-deciles",
        ),
        Section(
            heading="فروشگاه‌های متصل",
            explains="فروشگاه‌هایی که هنگام محاسبه این آمار به سامانه متصل بوده‌اند (فقط شمار آن‌ها).",
            chart=bar_chart(
                chart_id="chart-stores",
                title=f"نمودار فروشگاه‌های متصل به تفکیک استان، {name}",
                bars=[
                    Bar(
                        line.label,
                        line.counts.connected,
                        show(line.counts.connected, COUNT, money=PUBLIC_MONEY),
                    )
                    for line in stores.by_province
                ],
            ),
            table=_public_store_table(stores),
            anchor="stores",
        ),
    ]
    total_values = _public_values(figures.total, s.total)
    headline = [
        (column.label, show(value, column.kind, money=PUBLIC_MONEY))
        for column, value in zip(PUBLIC_COLUMNS, total_values, strict=True)
    ]
    headline.append(("فروشگاه‌های متصل", show(stores.total.connected, COUNT, money=PUBLIC_MONEY)))
    money_unit = "تومان" if settings.MONEY_DISPLAY_UNIT == "toman" else "ریال"
    return Page(
        cycle_key=cycle.key,
        cycle_label=name,
        period=cycle_period(cycle),
        headline=headline,
        sections=sections,
        money_unit=money_unit,
    )
