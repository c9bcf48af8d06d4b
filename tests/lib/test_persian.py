"""Persian text helpers: digits, Arabic letter variants and Jalali dates."""

import datetime as dt

import jdatetime
import pytest

from kalabarg.lib.persian import (
    JalaliDateError,
    format_jalali_date,
    format_jalali_datetime,
    jalali_month_key,
    normalize_text,
    parse_jalali_date,
    to_latin_digits,
    to_persian_digits,
)

UTC = dt.UTC

# --- Digits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("۰۱۲۳۴۵۶۷۸۹", "0123456789"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("کد ۱۲۳ و ٤٥٦", "کد 123 و 456"),
        ("0123456789", "0123456789"),
        ("", ""),
    ],
    ids=["persian", "arabic-indic", "mixed-with-text", "already-latin", "empty"],
)
def test_to_latin_digits_replaces_persian_and_arabic_indic_digits(text, expected):
    assert to_latin_digits(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0123456789", "۰۱۲۳۴۵۶۷۸۹"),
        ("٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹"),
        ("۰۱۲۳۴۵۶۷۸۹", "۰۱۲۳۴۵۶۷۸۹"),
        ("ساعت 14:05", "ساعت ۱۴:۰۵"),
        (1402, "۱۴۰۲"),
        (-7, "-۷"),
    ],
    ids=["latin", "arabic-indic", "already-persian", "mixed-with-text", "int", "negative-int"],
)
def test_to_persian_digits_replaces_latin_and_arabic_indic_digits(value, expected):
    assert to_persian_digits(value) == expected


def test_digit_conversion_round_trips():
    # Given Latin digits
    original = "09121234567"

    # When converted to Persian and back
    result = to_latin_digits(to_persian_digits(original))

    # Then nothing is lost
    assert result == original


# --- Text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("علي", "علی"),  # Arabic yeh
        ("كالا", "کالا"),  # Arabic kaf
        ("مصطفى", "مصطفی"),  # alef maksura
        ("فاطمة", "فاطمه"),  # teh marbuta
        ("كاظم يزدي", "کاظم یزدی"),
    ],
)
def test_normalize_text_turns_arabic_letter_variants_into_persian_letters(text, expected):
    assert normalize_text(text) == expected


def test_normalize_text_drops_tatweel():
    assert normalize_text("کالـــابرگ") == "کالابرگ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  محمد   رضا  ", "محمد رضا"),
        ("محمد\tرضا\nاحمدی", "محمد رضا احمدی"),
        ("محمد\u00a0رضا", "محمد رضا"),  # no-break space
        ("   ", ""),
    ],
)
def test_normalize_text_folds_runs_of_white_space_and_strips_the_ends(text, expected):
    assert normalize_text(text) == expected


def test_normalize_text_keeps_zero_width_non_joiner():
    # Given a word written with a ZWNJ (نیم‌فاصله), which is part of Persian spelling
    text = "می\u200cروم"

    # Then it is not treated as white space
    assert normalize_text(text) == "می\u200cروم"


# --- Parsing Jalali dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "1402/06/01",
        "1402-06-01",
        "۱۴۰۲/۰۶/۰۱",
        "١٤٠٢/٠٦/٠١",
        "۱۴۰۲-۰۶-۰۱",
        "1402/6/1",
        "  1402/06/01  ",
    ],
)
def test_parse_jalali_date_returns_the_gregorian_date(text):
    assert parse_jalali_date(text) == dt.date(2023, 8, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1403/01/01", dt.date(2024, 3, 20)),  # Nowruz
        ("1402/12/29", dt.date(2024, 3, 19)),  # last day of a common year
        ("1402/06/31", dt.date(2023, 9, 22)),  # first six months have 31 days
        ("1402/07/30", dt.date(2023, 10, 22)),  # Mehr has 30 days
    ],
)
def test_parse_jalali_date_handles_month_and_year_boundaries(text, expected):
    assert parse_jalali_date(text) == expected


def test_parse_jalali_date_accepts_esfand_30_in_a_leap_year():
    # Given 1403, a leap year in jdatetime
    assert jdatetime.date(1403, 1, 1).isleap()

    # When its 30 Esfand is parsed
    result = parse_jalali_date("1403/12/30")

    # Then it is the day before Nowruz 1404
    assert result == dt.date(2025, 3, 20)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1402",
        "1402/06",
        "02/06/01",
        "1402/06/01/",
        "1402.06.01",
        "1402 06 01",
        "01/06/1402",
        "1402/006/01",
        "1402/06/01 10:00",
        "abcd/ef/gh",
        "۱۴۰۲ شهریور ۱",
    ],
)
def test_parse_jalali_date_rejects_malformed_text(text):
    with pytest.raises(JalaliDateError):
        parse_jalali_date(text)


def test_parse_jalali_date_rejects_esfand_30_in_a_common_year():
    # Given 1402, which is not a leap year in jdatetime (Esfand has 29 days)
    assert not jdatetime.date(1402, 1, 1).isleap()

    # When 1402/12/30 is parsed
    # Then it is rejected as a day that does not exist
    with pytest.raises(JalaliDateError):
        parse_jalali_date("1402/12/30")


@pytest.mark.parametrize(
    "text",
    [
        "1402/07/31",  # Mehr has 30 days
        "1402/13/01",
        "1402/00/10",
        "1402/06/00",
        "1402/06/32",
    ],
)
def test_parse_jalali_date_rejects_days_that_do_not_exist(text):
    with pytest.raises(JalaliDateError):
        parse_jalali_date(text)


def test_jalali_date_error_is_a_value_error_with_a_persian_message():
    with pytest.raises(ValueError, match="تقویم"):
        parse_jalali_date("1402/07/31")
    with pytest.raises(ValueError, match="۱۴۰۲/۰۶/۰۱"):
        parse_jalali_date("not a date")


# --- Formatting Jalali dates --------------------------------------------------------------------


def test_format_jalali_date_uses_month_name_and_persian_digits():
    assert format_jalali_date(dt.date(2023, 8, 23)) == "۱ شهریور ۱۴۰۲"


def test_format_jalali_date_numeric_form_is_zero_padded():
    assert format_jalali_date(dt.date(2023, 8, 23), with_month_name=False) == "۱۴۰۲/۰۶/۰۱"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 3, 20), "۱ فروردین ۱۴۰۳"),
        (dt.date(2024, 3, 19), "۲۹ اسفند ۱۴۰۲"),
        (dt.date(2023, 12, 22), "۱ دی ۱۴۰۲"),
    ],
)
def test_format_jalali_date_names_every_month_correctly(value, expected):
    assert format_jalali_date(value) == expected


def test_format_jalali_date_shows_an_aware_datetime_on_its_tehran_day():
    # Given 21:00 UTC on 22 August, which is already 00:30 on 23 August in Tehran
    value = dt.datetime(2023, 8, 22, 21, 0, tzinfo=UTC)

    # When formatted
    # Then the Tehran calendar day is shown
    assert format_jalali_date(value) == "۱ شهریور ۱۴۰۲"
    assert format_jalali_date(value, with_month_name=False) == "۱۴۰۲/۰۶/۰۱"


def test_format_jalali_datetime_shows_an_aware_utc_datetime_in_tehran_time():
    # Given 10:00 UTC (Tehran is UTC+03:30 with no daylight saving since 2023)
    value = dt.datetime(2023, 8, 23, 10, 0, tzinfo=UTC)

    # When formatted
    result = format_jalali_datetime(value)

    # Then the Tehran wall-clock time is shown
    assert result == "۱ شهریور ۱۴۰۲، ساعت ۱۳:۳۰"


def test_format_jalali_datetime_moves_to_the_next_tehran_day_after_2030_utc():
    value = dt.datetime(2023, 8, 23, 21, 0, tzinfo=UTC)
    assert format_jalali_datetime(value) == "۲ شهریور ۱۴۰۲، ساعت ۰۰:۳۰"


def test_format_jalali_datetime_leaves_a_naive_datetime_as_it_is():
    # A naive datetime is taken to be Tehran wall-clock time already
    value = dt.datetime(2023, 8, 23, 10, 0)  # noqa: DTZ001
    assert format_jalali_datetime(value) == "۱ شهریور ۱۴۰۲، ساعت ۱۰:۰۰"


# --- Month keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2023, 8, 23), "1402-06"),  # 1 Shahrivar
        (dt.date(2023, 9, 22), "1402-06"),  # 31 Shahrivar
        (dt.date(2023, 9, 23), "1402-07"),  # 1 Mehr
        (dt.date(2024, 3, 19), "1402-12"),  # 29 Esfand
        (dt.date(2024, 3, 20), "1403-01"),  # 1 Farvardin
    ],
)
def test_jalali_month_key_is_the_jalali_year_and_zero_padded_month(value, expected):
    assert jalali_month_key(value) == expected
