"""The national code validator: the mod-11 check digit, the extra rules, Persian digits, masking.

Every valid example below was computed by hand from the algorithm in DOMAIN.md ("Identifiers")
and hard-coded, so the tests check the implementation against the rule, not against itself.
"""

import pytest

from kalabarg.lib.identifiers import (
    is_valid_national_code,
    mask_national_code,
    national_code_check_digit,
    normalize_national_code,
)
from tests.lib.factories import ARABIC_INDIC, FULLWIDTH, PERSIAN, PERSIAN_LETTERS, raise_code

# --- National code ------------------------------------------------------------------------------
#
# Weights 10..2 on the first nine digits, r = sum mod 11, check = r if r < 2 else 11 - r.
#   9876543210: 9*10+8*9+7*8+6*7+5*6+4*5+3*4+2*3+1*2 = 330, 330 % 11 = 0  -> check 0
#   1234567891: 1*10+2*9+3*8+4*7+5*6+6*5+7*4+8*3+9*2 = 210, 210 % 11 = 1  -> check 1
#   4312345678: 4*10+3*9+1*8+2*7+3*6+4*5+5*4+6*3+7*2 = 179, 179 % 11 = 3  -> check 11-3 = 8
#   1122334451: 1*10+1*9+2*8+2*7+3*6+3*5+4*4+4*3+5*2 = 120, 120 % 11 = 10 -> check 11-10 = 1
#   0001234560: 1*7+2*6+3*5+4*4+5*3+6*2 = 77, 77 % 11 = 0                 -> check 0


@pytest.mark.parametrize(
    ("first_nine", "expected_remainder", "expected_check"),
    [
        ("987654321", 0, 0),
        ("123456789", 1, 1),
        ("431234567", 3, 8),
        ("112233445", 10, 1),
    ],
)
def test_national_code_check_digit_follows_the_mod_11_rule(
    first_nine, expected_remainder, expected_check
):
    # Given nine digits whose weighted sum has a known remainder
    remainder = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True)) % 11
    assert remainder == expected_remainder

    # When the check digit is computed
    check = national_code_check_digit(first_nine)

    # Then it is r for r < 2 and 11 - r otherwise
    assert check == expected_check


def test_national_code_with_check_remainder_zero_uses_zero_as_check_digit():
    # Given a code whose weighted sum is divisible by 11 (r == 0)
    code = "9876543210"

    # When it is normalised
    result = normalize_national_code(code)

    # Then it is accepted unchanged
    assert result == "9876543210"


def test_national_code_with_check_remainder_one_uses_one_as_check_digit():
    # Given a code whose weighted sum leaves remainder 1
    code = "1234567891"

    # When it is normalised
    result = normalize_national_code(code)

    # Then it is accepted unchanged
    assert result == "1234567891"


@pytest.mark.parametrize("code", ["4312345678", "1122334451", "2345678909", "5551234568"])
def test_national_code_with_check_remainder_two_or_more_uses_eleven_minus_remainder(code):
    # Given a code whose remainder r >= 2 and whose check digit is 11 - r
    # When it is normalised
    result = normalize_national_code(code)

    # Then it is accepted unchanged
    assert result == code


@pytest.mark.parametrize(
    "code", ["9876543210", "1234567891", "4312345678", "0001234560", "0012345679"]
)
def test_is_valid_national_code_is_true_for_valid_codes(code):
    assert is_valid_national_code(code) is True


@pytest.mark.parametrize("code", ["9876543211", "1111111111", "123", "", "abcdefghij"])
def test_is_valid_national_code_is_false_instead_of_raising(code):
    assert is_valid_national_code(code) is False


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1234567891".translate(PERSIAN), "1234567891"),
        ("1234567891".translate(ARABIC_INDIC), "1234567891"),
        ("۱۲۳۴5678٩1", "1234567891"),
    ],
    ids=["persian", "arabic-indic", "mixed"],
)
def test_national_code_in_persian_or_arabic_indic_digits_is_stored_in_latin_digits(typed, expected):
    # Given a code typed on a Persian or Arabic keyboard
    # When it is normalised
    result = normalize_national_code(typed)

    # Then the stored form has ASCII digits only
    assert result == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (" 123-456789-1 ", "1234567891"),
        ("123 456 789 1", "1234567891"),
        ("123.456.789.1", "1234567891"),
    ],
)
def test_national_code_separators_and_surrounding_spaces_are_dropped(typed, expected):
    assert normalize_national_code(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12345679", "0012345679"),  # 8 digits
        ("123456789", "0123456789"),  # 9 digits
        ("۱۲۳۴۵۶۷۹", "0012345679"),  # 8 Persian digits
    ],
)
def test_national_code_of_eight_or_nine_digits_is_padded_with_leading_zeros(typed, expected):
    # Given a code written without the leading zeros of its region
    # When it is normalised
    result = normalize_national_code(typed)

    # Then it is padded to ten digits (and the padded code passes the checksum)
    assert result == expected
    assert len(result) == 10


@pytest.mark.parametrize("code", ["1234567890", "9876543211", "4312345677", "0012345678"])
def test_national_code_with_wrong_check_digit_is_rejected_as_invalid(code):
    # When a code whose last digit does not match the checksum is normalised
    error = raise_code(normalize_national_code, code)

    # Then it is rejected as invalid
    assert error.code == "national_code_invalid"


def test_all_identical_digits_pass_the_raw_checksum():
    # Given codes made of one repeated digit (every one of them satisfies the checksum:
    # the sum is 54*d and 54*d mod 11 works out to give d as the check digit)
    for digit in "0123456789":
        code = digit * 10

        # Then the checksum alone would accept it
        assert national_code_check_digit(code[:9]) == int(code[9])


@pytest.mark.parametrize("digit", list("0123456789"))
def test_national_code_of_all_identical_digits_is_rejected_despite_valid_checksum(digit):
    # Given a repeated-digit code that passes the checksum (see the test above)
    code = digit * 10
    assert national_code_check_digit(code[:9]) == int(code[9])

    # When it is normalised
    error = raise_code(normalize_national_code, code)

    # Then the extra rule rejects it
    assert error.code == "national_code_invalid"


def test_eight_zeros_are_rejected_after_padding_as_all_identical_digits():
    error = raise_code(normalize_national_code, "00000000")
    assert error.code == "national_code_invalid"


@pytest.mark.parametrize("code", ["1230000003", "4560000001"])
def test_national_code_with_digits_four_to_nine_all_zero_is_rejected_despite_valid_checksum(code):
    # Given a code whose 4th-9th digits are zero but whose check digit is right
    assert national_code_check_digit(code[:9]) == int(code[9])

    # When it is normalised
    error = raise_code(normalize_national_code, code)

    # Then it is rejected
    assert error.code == "national_code_invalid"


@pytest.mark.parametrize("code", ["1234567", "12345678911", "123", "123456789012345"])
def test_national_code_of_wrong_length_is_rejected_with_length_code(code):
    error = raise_code(normalize_national_code, code)
    assert error.code == "national_code_length"


@pytest.mark.parametrize("code", ["12345a7891", "ABCDEFGHIJ", "۱۲۳۴۵۶۷۸۹x", "123/456/7891"])
def test_national_code_with_letters_or_symbols_is_rejected_as_not_digits(code):
    error = raise_code(normalize_national_code, code)
    assert error.code == "national_code_not_digits"


@pytest.mark.parametrize(
    "code",
    ["1234567891".translate(FULLWIDTH), "123456789²"],
    ids=["fullwidth-digits", "superscript-digit"],
)
def test_national_code_with_digits_of_other_scripts_is_rejected_as_not_digits(code):
    # Given digits that str.isdigit() accepts but that are neither Latin, Persian nor Arabic
    # When the code is normalised
    error = raise_code(normalize_national_code, code)

    # Then it is rejected (not stored in a second, non-canonical spelling, and no bare ValueError)
    assert error.code == "national_code_not_digits"


@pytest.mark.parametrize("code", ["", "   ", " - "])
def test_empty_national_code_is_rejected_as_required(code):
    error = raise_code(normalize_national_code, code)
    assert error.code == "national_code_required"


@pytest.mark.parametrize(
    ("value", "expected_code"),
    [
        ("", "national_code_required"),
        ("12345a7891", "national_code_not_digits"),
        ("1234567", "national_code_length"),
        ("1234567890", "national_code_invalid"),
    ],
)
def test_national_code_errors_carry_a_persian_message(value, expected_code):
    # When an invalid national code is normalised
    error = raise_code(normalize_national_code, value)

    # Then the error has a stable code and a Persian message, also as str(error)
    assert error.code == expected_code
    assert PERSIAN_LETTERS.search(error.message)
    assert str(error) == error.message
    assert isinstance(error, ValueError)


# --- Masking ------------------------------------------------------------------------------------


def test_mask_national_code_keeps_first_and_last_three_digits():
    # When a national code is masked for a listing page
    masked = mask_national_code("1234567891")

    # Then only the first three and last three digits remain, and the length is unchanged
    assert masked == "123****891"
    assert len(masked) == 10


def test_mask_national_code_hides_the_middle_digits():
    masked = mask_national_code("9876543210")
    assert "6543" not in masked
    assert masked.count("*") == 4
