"""Template filters registered as builtins: usable in any template without ``{% load %}``."""

import datetime as dt

import pytest
from django.template import Context, Template


def render(source: str, **context: object) -> str:
    return Template(source).render(Context(context))


# --- fa_digits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1402, "۱۴۰۲"),
        ("09121234567", "۰۹۱۲۱۲۳۴۵۶۷"),
        ("٤٥", "۴۵"),
        (0, "۰"),
        ("", ""),
    ],
)
def test_fa_digits_filter_shows_persian_digits(value, expected):
    assert render("{{ value|fa_digits }}", value=value) == expected


def test_fa_digits_filter_of_none_renders_nothing():
    assert render("{{ value|fa_digits }}", value=None) == ""


def test_fa_digits_filter_of_a_missing_variable_renders_nothing():
    assert render("{{ missing|fa_digits }}") == ""


# --- fa_number ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1_234_567, "۱٬۲۳۴٬۵۶۷"),
        (999, "۹۹۹"),
        (0, "۰"),
        ("2000", "۲٬۰۰۰"),
    ],
)
def test_fa_number_filter_groups_thousands_with_persian_digits(value, expected):
    assert render("{{ value|fa_number }}", value=value) == expected


def test_fa_number_filter_of_none_renders_nothing():
    assert render("{{ value|fa_number }}", value=None) == ""


# --- jalali / jalali_numeric / jalali_datetime ---------------------------------------------------


def test_jalali_filter_shows_the_date_with_month_name():
    assert render("{{ value|jalali }}", value=dt.date(2023, 8, 23)) == "۱ شهریور ۱۴۰۲"


def test_jalali_filter_shows_an_aware_datetime_on_its_tehran_day():
    value = dt.datetime(2023, 8, 22, 21, 0, tzinfo=dt.UTC)  # 00:30 on 23 August in Tehran
    assert render("{{ value|jalali }}", value=value) == "۱ شهریور ۱۴۰۲"


def test_jalali_numeric_filter_shows_the_zero_padded_numeric_date():
    assert render("{{ value|jalali_numeric }}", value=dt.date(2023, 8, 23)) == "۱۴۰۲/۰۶/۰۱"


def test_jalali_datetime_filter_shows_tehran_time():
    value = dt.datetime(2023, 8, 23, 10, 0, tzinfo=dt.UTC)
    assert render("{{ value|jalali_datetime }}", value=value) == "۱ شهریور ۱۴۰۲، ساعت ۱۳:۳۰"


@pytest.mark.parametrize("filter_name", ["jalali", "jalali_numeric", "jalali_datetime"])
def test_jalali_filters_of_none_render_nothing(filter_name):
    assert render(f"{{{{ value|{filter_name} }}}}", value=None) == ""


# --- toman --------------------------------------------------------------------------------------


def test_toman_filter_shows_rials_in_toman(settings):
    settings.MONEY_DISPLAY_UNIT = "toman"
    assert render("{{ value|toman }}", value=2_000_000) == "۲۰۰٬۰۰۰ تومان"


def test_toman_filter_follows_the_display_unit_setting(settings):
    settings.MONEY_DISPLAY_UNIT = "rial"
    assert render("{{ value|toman }}", value=2_000_000) == "۲٬۰۰۰٬۰۰۰ ریال"


def test_toman_filter_keeps_a_toman_fraction(settings):
    settings.MONEY_DISPLAY_UNIT = "toman"
    assert render("{{ value|toman }}", value=15) == "۱٫۵ تومان"


def test_toman_filter_of_none_renders_nothing():
    assert render("{{ value|toman }}", value=None) == ""


# --- all together -------------------------------------------------------------------------------


def test_filters_work_in_one_template_without_load_tag(settings):
    # Given a template that uses several filters and no {% load %}
    settings.MONEY_DISPLAY_UNIT = "toman"
    source = "{{ amount|toman }} تا {{ day|jalali }} برای {{ members|fa_digits }} نفر"

    # When it is rendered
    result = render(source, amount=5_000_000, day=dt.date(2024, 3, 20), members=4)

    # Then every value is shown the Persian way
    assert result == "۵۰۰٬۰۰۰ تومان تا ۱ فروردین ۱۴۰۳ برای ۴ نفر"
