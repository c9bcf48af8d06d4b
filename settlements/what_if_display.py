"""How officers read a what-if (``settlements.services.projection``): one table of the projected
monthly cost per decile beside the last closed cycle's actual cost, the totals, and what each
figure counts. The what-if page (``settlements.admin.what_if``) and a ``phase`` request's page
(``settlements.approvals``, the projection recorded when it was asked) show the same table."""

from django.utils.html import format_html, format_html_join

from kalabarg.lib import admin_display as show
from kalabarg.lib.persian import to_persian_digits
from settlements.models import CreditBasis
from settlements.services.projection import DecileCost, Projection, WhatIf

_EMPTY = DecileCost(
    decile=None, households=0, members=0, credit_rial=0, bonus_rial=0, compensation_rial=0
)


def _decile_label(decile: int | None) -> str:
    return "بدون دهک" if decile is None else to_persian_digits(decile)


def _basis(projection: Projection) -> str:
    if projection.basis in CreditBasis.values:
        return str(CreditBasis(projection.basis).label)
    return projection.basis


def _bands(projection: Projection) -> str:
    return "، ".join(
        format_html(
            "دهک {} تا {}: اعتبار {}، اعتبار مضاعف {} با خرج {}",
            to_persian_digits(band.min_decile),
            to_persian_digits(band.max_decile),
            show.rial(band.credit_per_cycle_rial),
            show.rial(band.bonus_amount_rial),
            show.rial(band.bonus_threshold_rial),
        )
        for band in projection.bands
    )


def cost_table(figures: WhatIf) -> str:
    """The projection per decile and in total, the actual cost beside it, and the notes."""
    projected, actual = figures.projection, figures.actual
    actual_by = {row.decile: row for row in actual.deciles} if actual is not None else {}
    projected_by = {row.decile: row for row in projected.deciles}
    deciles = sorted(
        set(projected_by) | set(actual_by), key=lambda decile: (decile is None, decile or 0)
    )
    rows = [
        (_decile_label(decile), projected_by.get(decile, _EMPTY), actual_by.get(decile, _EMPTY))
        for decile in deciles
    ]
    total = projected.total_row()
    actual_total = actual.total_row() if actual is not None else _EMPTY
    cycle = to_persian_digits(projected.cycle_key) if projected.cycle_key else "—"
    body = format_html_join(
        "",
        '<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                label,
                show.number(row.households),
                show.number(row.members),
                show.rial(row.credit_rial),
                show.rial(row.bonus_rial),
                show.rial(row.compensation_rial),
                show.rial(row.total_rial),
                show.number(row.estimated),
                show.number(past.households),
                show.rial(past.total_rial),
            )
            for label, row, past in [*rows, ("جمع", total, actual_total)]
        ),
    )
    return format_html(
        '<div class="what-if">'
        "<p>{}</p><p>مبنا: {} — {}</p>"
        '<table class="what-if-table"><caption>هزینه ماهانه پیش‌بینی‌شده، و هزینه واقعی دوره '
        'بسته {}</caption><thead><tr><th scope="col">دهک</th>'
        '<th scope="col">خانوار مشمول</th><th scope="col">اعضا</th>'
        '<th scope="col">اعتبار کالابرگ</th><th scope="col">اعتبار مضاعف (برآورد)</th>'
        '<th scope="col">جبران تورم (برآورد)</th><th scope="col">جمع پیش‌بینی</th>'
        '<th scope="col">خانوار با رفتار میانگین</th><th scope="col">خانوار شارژشده در {}</th>'
        '<th scope="col">هزینه واقعی {}</th></tr></thead><tbody>{}</tbody></table>'
        '<ul class="what-if-notes">{}</ul></div>',
        format_html(
            "برآورد از ثبت خانوارها در {} و رفتار خرید دوره بسته {}؛ هزینه ماهانه = اعتبار "
            "کالابرگ + اعتبار مضاعف + جبران تورم.",
            show.day(projected.day),
            cycle,
        ),
        _basis(projected),
        _bands(projected),
        cycle,
        cycle,
        cycle,
        body,
        format_html_join(
            "",
            "<li>{}</li>",
            ((note,) for note in [*projected.notes, *(actual.notes if actual else ())]),
        ),
    )
