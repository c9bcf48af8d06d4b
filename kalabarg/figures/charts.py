"""Server-rendered SVG charts: horizontal bars, right to left, readable on a 360 px phone.

A horizontal bar chart is the one that stays readable at 360 px with 31 provinces: each bar is a
row of its own — the label on the right and the figure on the left on one line, the bar beneath
them, growing from the right. Nothing is drawn in the browser (no script, no chart library),
nothing is styled inline (the Content-Security-Policy forbids ``style`` attributes): colours and
fonts come from ``static/css/figures.css`` through the classes below.

The SVG is an image (``role="img"``) named by its Persian ``<title>``; the figures themselves are
in the table under every chart, which is what a screen reader reads. A bar whose figure is not
shown (a suppressed cell) draws no bar, only its words («کمتر از ۱۰»): colour never carries a
meaning alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

# The chart's own units: at 360 px the SVG is drawn about 1:1 (the page's padding leaves ~328
# px), so 13 units are 13 px text; on a wide screen the CSS caps its width.
WIDTH = 320
ROW = 42  # one bar: a line of text and the bar beneath it
TEXT_Y = 15
BAR_Y = 22
BAR_HEIGHT = 12
LABEL_CHARACTERS = 24  # longer labels (a store's name) are cut, the table has them whole


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its value (None: not shown, no bar) and the value as people read it."""

    label: str
    value: int | Decimal | None
    text: str


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…"


def _length(value: int | Decimal | None, largest: int | Decimal) -> float:
    if value is None or value <= 0 or largest <= 0:
        return 0.0
    # Drawing geometry in SVG user units (a tenth is enough), not money: a float is right here.
    return round(float(value) / float(largest) * WIDTH, 1)


def bar_chart(*, chart_id: str, title: str, bars: Sequence[Bar]) -> SafeString:
    """An SVG of ``bars``, longest bar the full width, named ``title`` (``chart_id`` must be unique
    on the page: the title's id)."""
    largest = max((bar.value for bar in bars if bar.value is not None), default=0)
    rows = []
    for index, bar in enumerate(bars):
        top = index * ROW
        length = _length(bar.value, largest)
        filled = format_html(
            '<rect class="bar" x="{}" y="{}" width="{}" height="{}"/>',
            round(WIDTH - length, 1),
            top + BAR_Y,
            length,
            BAR_HEIGHT,
        )
        label, value = (WIDTH, top + TEXT_Y, _cut(bar.label)), (top + TEXT_Y, bar.text)
        rows.append((*label, *value, top + BAR_Y, WIDTH, BAR_HEIGHT, filled if length else ""))
    body = format_html_join(
        "",
        '<g class="bar-row"><text class="bar-label" x="{}" y="{}" text-anchor="start">{}</text>'
        '<text class="bar-value" x="0" y="{}" text-anchor="end">{}</text>'
        '<rect class="bar-track" x="0" y="{}" width="{}" height="{}"/>{}</g>',
        rows,
    )
    height = max(len(bars), 1) * ROW
    return format_html(
        '<svg class="bar-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" '
        'width="{}" height="{}" direction="rtl" role="img" aria-labelledby="{}-title">'
        '<title id="{}-title">{}</title>{}</svg>',
        WIDTH,
        height,
        WIDTH,
        height,
        chart_id,
        chart_id,
        title,
        body,
    )
