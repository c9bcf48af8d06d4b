"""The server-rendered bar charts: right to left, in proportion, an image named in Persian, and
nothing the Content-Security-Policy would refuse."""

import re
from decimal import Decimal

from kalabarg.figures.charts import WIDTH, Bar, bar_chart


def bars_of(svg: str) -> list[tuple[float, float]]:
    """(x, width) of each filled bar."""
    return [
        (float(x), float(w))
        for x, w in re.findall(r'<rect class="bar" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg)
    ]


def test_the_longest_bar_fills_the_width_and_the_others_are_in_proportion_from_the_right():
    svg = bar_chart(
        chart_id="c",
        title="نمودار",
        bars=[Bar("تهران", 200, "۲۰۰"), Bar("فارس", 50, "۵۰"), Bar("قم", Decimal("100.0"), "۱۰۰")],
    )

    assert bars_of(svg) == [(0.0, WIDTH), (WIDTH * 3 / 4, WIDTH / 4), (WIDTH / 2, WIDTH / 2)]


def test_a_bar_without_a_figure_draws_no_bar_only_its_words():
    svg = bar_chart(
        chart_id="c", title="نمودار", bars=[Bar("تهران", 200, "۲۰۰"), Bar("قم", None, "کمتر از ۱۰")]
    )

    assert len(bars_of(svg)) == 1
    assert ">کمتر از ۱۰</text>" in svg


def test_the_chart_is_an_image_named_by_its_persian_title_and_has_no_style_attribute():
    svg = bar_chart(chart_id="chart-x", title="نمودار مشارکت <دهک‌ها>", bars=[Bar("دهک ۱", 1, "۱")])

    assert 'role="img" aria-labelledby="chart-x-title"' in svg
    assert '<title id="chart-x-title">نمودار مشارکت &lt;دهک‌ها&gt;</title>' in svg
    assert 'direction="rtl"' in svg
    assert "style=" not in svg and "<script" not in svg


def test_a_long_label_is_cut_in_the_chart():
    svg = bar_chart(
        chart_id="c", title="t", bars=[Bar("فروشگاه زنجیره‌ای بزرگ شماره یک شعبه مرکزی", 1, "۱")]
    )

    label = re.search(r'<text class="bar-label"[^>]*>([^<]*)</text>', svg)
    assert label and label.group(1).endswith("…") and len(label.group(1)) == 24


def test_nothing_to_draw_is_an_empty_chart_not_an_error():
    svg = bar_chart(chart_id="c", title="t", bars=[Bar("تهران", 0, "۰")])

    assert bars_of(svg) == []
