"""Money is whole rials; people see toman (or rial) with Persian digits and separators."""

from decimal import Decimal

import pytest

from kalabarg.lib.money import format_money, group_thousands, round_rial

MINUS = "\u2212"  # the minus sign format_money uses, not the ASCII hyphen


@pytest.fixture
def toman_display(settings):
    settings.MONEY_DISPLAY_UNIT = "toman"
    return settings


@pytest.fixture
def rial_display(settings):
    settings.MONEY_DISPLAY_UNIT = "rial"
    return settings


# --- format_money -------------------------------------------------------------------------------


def test_format_money_shows_rials_as_toman_with_persian_digits_and_separator(toman_display):
    # Given 2,000,000 rials stored
    # When shown in the default toman unit
    # Then it reads 200,000 toman with the Persian thousands separator
    assert format_money(2_000_000) == "۲۰۰٬۰۰۰ تومان"


def test_format_money_uses_rial_when_the_display_unit_setting_is_rial(rial_display):
    assert format_money(2_000_000) == "۲٬۰۰۰٬۰۰۰ ریال"


def test_format_money_explicit_unit_overrides_the_setting(rial_display):
    assert format_money(2_000_000, unit="toman") == "۲۰۰٬۰۰۰ تومان"


@pytest.mark.parametrize(
    ("amount_rial", "expected"),
    [
        (15, "۱٫۵ تومان"),
        (5, "۰٫۵ تومان"),
        (2_000_005, "۲۰۰٬۰۰۰٫۵ تومان"),
        (12_345_678_905, "۱٬۲۳۴٬۵۶۷٬۸۹۰٫۵ تومان"),
    ],
)
def test_format_money_keeps_a_toman_fraction_with_the_persian_decimal_separator(
    toman_display, amount_rial, expected
):
    assert format_money(amount_rial) == expected


def test_format_money_rial_display_never_has_a_fraction(rial_display):
    assert format_money(15) == "۱۵ ریال"


@pytest.mark.parametrize(("unit", "expected"), [("toman", "۰ تومان"), ("rial", "۰ ریال")])
def test_format_money_of_zero(settings, unit, expected):
    settings.MONEY_DISPLAY_UNIT = unit
    assert format_money(0) == expected


@pytest.mark.parametrize(
    ("amount_rial", "unit", "expected"),
    [
        (-2_000_000, "toman", f"{MINUS}۲۰۰٬۰۰۰ تومان"),
        (-15, "toman", f"{MINUS}۱٫۵ تومان"),
        (-5, "toman", f"{MINUS}۰٫۵ تومان"),
        (-2_000_000, "rial", f"{MINUS}۲٬۰۰۰٬۰۰۰ ریال"),
    ],
)
def test_format_money_of_a_negative_amount_puts_a_minus_sign_before_the_figure(
    amount_rial, unit, expected
):
    # The fraction is taken from the absolute value, so -15 rials is -1.5 toman, not -2 + 0.5
    assert format_money(amount_rial, unit=unit) == expected


@pytest.mark.parametrize(("unit", "expected"), [("toman", "۲۰۰٬۰۰۰"), ("rial", "۲٬۰۰۰٬۰۰۰")])
def test_format_money_without_unit_returns_only_the_figure(unit, expected):
    assert format_money(2_000_000, unit=unit, with_unit=False) == expected


# --- round_rial ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.5"), 3),
        (Decimal("3.5"), 4),  # half up, not banker's rounding (which would give 4 and 2 for 2.5)
        (Decimal("2.4999"), 2),
        (Decimal("2.5000001"), 3),
        (Decimal("2"), 2),
        (Decimal("0.4"), 0),
        (Decimal("0"), 0),
    ],
)
def test_round_rial_rounds_half_up_to_a_whole_rial(value, expected):
    assert round_rial(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("-2.5"), -3),
        (Decimal("-2.4999"), -2),
        (Decimal("-0.5"), -1),
    ],
)
def test_round_rial_rounds_negative_halves_away_from_zero(value, expected):
    # ROUND_HALF_UP in decimal rounds ties away from zero, so -2.5 becomes -3 (not -2, which a
    # "towards +infinity" reading of "half up" would give).
    assert round_rial(value) == expected


def test_round_rial_returns_an_int():
    result = round_rial(Decimal("1234.5"))
    assert result == 1235
    assert type(result) is int


# --- group_thousands ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1٬000"),
        (1_234_567, "1٬234٬567"),
        (2_000_000_000, "2٬000٬000٬000"),
        (-1234, "-1٬234"),
    ],
)
def test_group_thousands_uses_the_persian_thousands_separator_and_latin_digits(number, expected):
    assert group_thousands(number) == expected
