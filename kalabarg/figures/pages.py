"""What the two pages show for a cycle: their sections (a chart, the table beneath it, one line
saying what it counts) and their headline figures, built from the selectors' reads.

- ``programme_page`` (here): the officers' dashboard — every household of the registry, by
  decile and by province, stores per province, the best-selling stores; money in rials
  (officers check figures against the ledger and the bank's files, which are in rials).
- ``public.transparency_page``: the public page, small cells suppressed (see there).
"""

from dataclasses import dataclass, field

from django.utils.safestring import SafeString

from kalabarg.figures import selectors
from kalabarg.figures.charts import Bar, bar_chart
from kalabarg.figures.selectors import Figures
from kalabarg.figures.tables import (
    COUNT,
    LABEL,
    PERCENT,
    RIAL,
    TEXT,
    YES_NO,
    Column,
    Row,
    Table,
    show,
)
from kalabarg.lib.persian import JALALI_MONTHS, format_jalali_date, jalali, to_persian_digits
from settlements.models import Cycle

TOTAL = "total"
TOTAL_LABEL = "جمع"


@dataclass(frozen=True)
class Section:
    heading: str
    explains: str  # one line: what the section counts
    table: Table
    chart: SafeString | None = None
    anchor: str = ""


@dataclass(frozen=True)
class Page:
    cycle_key: str
    cycle_label: str  # «شهریور ۱۴۰۲»
    period: str  # «۱ شهریور ۱۴۰۲ تا ۳۱ شهریور ۱۴۰۲»
    headline: list[tuple[str, str]]  # (what, figure as shown)
    sections: list[Section] = field(default_factory=list)
    money_unit: str = "ریال"  # the unit the page's amounts are in, in words

    def table(self, name: str) -> Table | None:
        return next((s.table for s in self.sections if s.table.name == name), None)


TRIGGERS = {
    "beat": "زمان‌بندی",
    "officer": "درخواست کارشناس",
    "test": "آزمایش",
    "after:cycle_charge": "پس از شارژ دوره",
    "after:bonus_sweep": "پس از بررسی اعتبار مضاعف",
    "after:expiry": "پس از ابطال اعتبار",
    "after:store_settlement": "پس از تسویه فروشگاه‌ها",
}


def trigger_label(trigger: str) -> str:
    """Why a refresh ran, in words (``FiguresRefresh.trigger``)."""
    return TRIGGERS.get(trigger, trigger)


def cycle_label(cycle: Cycle) -> str:
    month = jalali(cycle.starts_on)
    return f"{JALALI_MONTHS[month.month - 1]} {to_persian_digits(month.year)}"


def cycle_period(cycle: Cycle) -> str:
    return f"{format_jalali_date(cycle.starts_on)} تا {format_jalali_date(cycle.ends_on)}"


# --- The officers' dashboard ---------------------------------------------------------------------

# The figures of a decile's or a province's line, in the order of the columns.
FIGURE_COLUMNS = (
    Column("households", "خانوارها"),
    Column("eligible_households", "خانوارهای مشمول"),
    Column("charged_households", "خانوارهای شارژشده"),
    Column("participating_households", "خانوارهای خریدار"),
    Column("participation_percent", "مشارکت", PERCENT),
    Column("credit_issued_rial", "اعتبار شارژشده", RIAL),
    Column("credit_spent_rial", "اعتبار خرج‌شده", RIAL),
    Column("bonuses", "اعتبار مضاعف (تعداد)"),
    Column("bonus_rial", "اعتبار مضاعف (مبلغ)", RIAL),
    Column("compensation_rial", "جبران تورم", RIAL),
    Column("purchases", "خریدها"),
    Column("basket_rial", "ارزش سبدها", RIAL),
    Column("average_basket_rial", "میانگین سبد", RIAL),
    Column("sms_sent", "پیامک‌های فرستاده"),
    Column("sms_failed", "پیامک‌های ناموفق"),
)


def _figure_values(f: Figures) -> tuple[object, ...]:
    return (
        f.households,
        f.eligible,
        f.charged,
        f.participating,
        f.participation_percent,
        f.credit_issued_rial,
        f.credit_spent_rial,
        f.bonuses,
        f.bonus_rial,
        f.compensation_rial,
        f.purchases,
        f.basket_rial,
        f.average_basket_rial,
        f.sms_sent,
        f.sms_failed,
    )


def _decile_table(figures: selectors.CycleFigures) -> Table:
    columns = (
        Column("decile", "دهک", TEXT, on_page=False),
        Column("decile_label", "دهک", LABEL, in_csv=False),
        Column("covered", "مشمول", YES_NO),
        *FIGURE_COLUMNS,
    )
    rows = [
        Row((line.key, line.label, line.covered, *_figure_values(line.figures)))
        for line in figures.by_decile
    ]
    rows.append(Row((TOTAL, TOTAL_LABEL, None, *_figure_values(figures.total)), total=True))
    return Table("deciles", "به تفکیک دهک", columns, tuple(rows))


def _province_table(figures: selectors.CycleFigures) -> Table:
    columns = (
        Column("province_code", "کد استان", TEXT, on_page=False),
        Column("province", "استان", LABEL),
        *FIGURE_COLUMNS,
    )
    rows = [
        Row((line.key, line.label, *_figure_values(line.figures))) for line in figures.by_province
    ]
    rows.append(Row((TOTAL, TOTAL_LABEL, *_figure_values(figures.total)), total=True))
    return Table("provinces", "به تفکیک استان", columns, tuple(rows))


def _store_table(stores: selectors.CycleStores) -> Table:
    columns = (
        Column("province_code", "کد استان", TEXT, on_page=False),
        Column("province", "استان", LABEL),
        Column("connected_stores", "فروشگاه‌های متصل"),
        Column("selling_stores", "فروشگاه‌های دارای فروش"),
        Column("paid_out_stores", "فروشگاه‌های تسویه‌شده"),
        Column("paying_out_percent", "تسویه‌شده از دارای فروش", PERCENT),
        Column("paid_out_rial", "مبلغ تسویه‌شده", RIAL),
    )

    def values(key: str, label: str, c: selectors.StoreCounts) -> tuple[object, ...]:
        return (
            key,
            label,
            c.connected,
            c.selling,
            c.paid_out,
            c.paying_out_percent,
            c.paid_out_rial,
        )

    rows = [Row(values(line.key, line.label, line.counts)) for line in stores.by_province]
    rows.append(Row(values(TOTAL, TOTAL_LABEL, stores.total), total=True))
    return Table("stores", "فروشگاه‌ها به تفکیک استان", columns, tuple(rows))


def _top_store_table(top: list[selectors.TopStoreLine]) -> Table:
    columns = (
        Column("rank", "رتبه", COUNT),
        Column("store_id", "شناسه فروشگاه", TEXT, on_page=False),
        Column("store", "فروشگاه", LABEL),
        Column("province", "استان", TEXT),
        Column("city", "شهر", TEXT),
        Column("purchases", "خریدها"),
        Column("basket_rial", "ارزش سبدها", RIAL),
        Column("average_basket_rial", "میانگین سبد", RIAL),
        Column("owed_rial", "سهم دولت (اعتبار و جبران تورم)", RIAL),
    )
    rows = tuple(
        Row(
            (
                s.rank,
                str(s.store_id),
                s.name,
                s.province,
                s.city,
                s.purchases,
                s.basket_rial,
                s.average_basket_rial,
                s.owed_rial,
            )
        )
        for s in top
    )
    return Table("top_stores", "فروشگاه‌های پرفروش", columns, rows)


def _percent_bar(label: str, value: object) -> Bar:
    return Bar(label=label, value=value, text=show(value, PERCENT, money="rial"))  # type: ignore[arg-type]


def programme_page(*, cycle: Cycle) -> Page:
    """The officers' dashboard for ``cycle``: four sections, each a chart over its table."""
    figures = selectors.cycle_figures(cycle=cycle)
    stores = selectors.store_figures(cycle=cycle)
    top = selectors.top_stores(cycle=cycle)
    name = cycle_label(cycle)
    t = figures.total
    sections = [
        Section(
            heading="دهک‌ها",
            explains="مشارکت: درصد خانوارهای شارژشده در این دوره که دست‌کم یک خرید کرده‌اند.",
            chart=bar_chart(
                chart_id="chart-deciles",
                title=f"نمودار مشارکت خانوارهای شارژشده به تفکیک دهک، {name}",
                bars=[
                    _percent_bar(line.label, line.figures.participation_percent)
                    for line in figures.by_decile
                    if line.covered
                ],
            ),
            table=_decile_table(figures),
            anchor="deciles",
        ),
        Section(
            heading="استان‌ها",
            explains="اعتبار خرج‌شده: اعتبار کالابرگ و اعتبار مضاعفی که خانوارهای هر استان در این "
            "دوره خرج کرده‌اند، پس از کسر خریدهای برگشتی.",
            chart=bar_chart(
                chart_id="chart-provinces",
                title=f"نمودار اعتبار خرج‌شده به تفکیک استان، {name}",
                bars=[
                    Bar(
                        line.label,
                        line.figures.credit_spent_rial,
                        show(line.figures.credit_spent_rial, RIAL, money="rial"),
                    )
                    for line in figures.by_province
                ],
            ),
            table=_province_table(figures),
            anchor="provinces",
        ),
        Section(
            heading="فروشگاه‌ها",
            explains="فروشگاه‌های تسویه‌شده: فروشگاه‌هایی که برای فروش این دوره پولشان پرداخت شده، "
            "از فروشگاه‌هایی که در این دوره فروش داشته‌اند.",
            chart=bar_chart(
                chart_id="chart-stores",
                title=f"نمودار درصد فروشگاه‌های تسویه‌شده به تفکیک استان، {name}",
                bars=[
                    _percent_bar(line.label, line.counts.paying_out_percent)
                    for line in stores.by_province
                ],
            ),
            table=_store_table(stores),
            anchor="stores",
        ),
        Section(
            heading="فروشگاه‌های پرفروش",
            explains="ارزش سبدها به قیمت روز، پس از کسر خریدهای برگشتی.",
            chart=bar_chart(
                chart_id="chart-top-stores",
                title=f"نمودار ارزش سبدهای فروشگاه‌های پرفروش، {name}",
                bars=[
                    Bar(s.name, s.basket_rial, show(s.basket_rial, RIAL, money="rial")) for s in top
                ],
            )
            if top
            else None,
            table=_top_store_table(top),
            anchor="top-stores",
        ),
    ]
    headline = [
        ("خانوارهای مشمول", show(t.eligible, COUNT, money="rial")),
        ("خانوارهای شارژشده", show(t.charged, COUNT, money="rial")),
        ("مشارکت", show(t.participation_percent, PERCENT, money="rial")),
        ("اعتبار شارژشده", show(t.credit_issued_rial, RIAL, money="rial")),
        ("اعتبار خرج‌شده", show(t.credit_spent_rial, RIAL, money="rial")),
        (
            "اعتبار مضاعف",
            f"{show(t.bonuses, COUNT, money='rial')} خانوار، "
            f"{show(t.bonus_rial, RIAL, money='rial')}",
        ),
        ("جبران تورم", show(t.compensation_rial, RIAL, money="rial")),
        (
            "خریدها",
            f"{show(t.purchases, COUNT, money='rial')}، میانگین سبد "
            f"{show(t.average_basket_rial, RIAL, money='rial')}",
        ),
        (
            "فروشگاه‌های تسویه‌شده",
            f"{show(stores.total.paid_out, COUNT, money='rial')} از "
            f"{show(stores.total.selling, COUNT, money='rial')} فروشگاه دارای فروش",
        ),
        (
            "پیامک‌ها",
            f"{show(t.sms_sent, COUNT, money='rial')} فرستاده، "
            f"{show(t.sms_failed, COUNT, money='rial')} ناموفق",
        ),
    ]
    return Page(
        cycle_key=cycle.key,
        cycle_label=name,
        period=cycle_period(cycle),
        headline=headline,
        sections=sections,
        money_unit="ریال",
    )
