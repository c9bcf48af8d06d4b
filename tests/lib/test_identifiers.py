"""Validators for Iranian identifiers: national code, bank card, Sheba and mobile.

Every valid example below was computed by hand from the algorithm in DOMAIN.md ("Identifiers")
and hard-coded, so the tests check the implementation against the rule, not against itself.
"""

import re

import pytest

from kalabarg.lib.identifiers import (
    BANKS_BY_BIN,
    IdentifierError,
    card_hash,
    is_valid_national_code,
    luhn_check_digit,
    luhn_is_valid,
    mask_card,
    mask_national_code,
    national_code_check_digit,
    normalize_card_number,
    normalize_mobile,
    normalize_national_code,
    normalize_sheba,
)

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PERSIAN_LETTERS = re.compile(r"[\u0600-\u06FF]")


def _raise_code(func, value: str) -> IdentifierError:
    with pytest.raises(IdentifierError) as excinfo:
        func(value)
    return excinfo.value


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
    error = _raise_code(normalize_national_code, code)

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
    error = _raise_code(normalize_national_code, code)

    # Then the extra rule rejects it
    assert error.code == "national_code_invalid"


def test_eight_zeros_are_rejected_after_padding_as_all_identical_digits():
    error = _raise_code(normalize_national_code, "00000000")
    assert error.code == "national_code_invalid"


@pytest.mark.parametrize("code", ["1230000003", "4560000001"])
def test_national_code_with_digits_four_to_nine_all_zero_is_rejected_despite_valid_checksum(code):
    # Given a code whose 4th-9th digits are zero but whose check digit is right
    assert national_code_check_digit(code[:9]) == int(code[9])

    # When it is normalised
    error = _raise_code(normalize_national_code, code)

    # Then it is rejected
    assert error.code == "national_code_invalid"


@pytest.mark.parametrize("code", ["1234567", "12345678911", "123", "123456789012345"])
def test_national_code_of_wrong_length_is_rejected_with_length_code(code):
    error = _raise_code(normalize_national_code, code)
    assert error.code == "national_code_length"


@pytest.mark.parametrize("code", ["12345a7891", "ABCDEFGHIJ", "۱۲۳۴۵۶۷۸۹x", "123/456/7891"])
def test_national_code_with_letters_or_symbols_is_rejected_as_not_digits(code):
    error = _raise_code(normalize_national_code, code)
    assert error.code == "national_code_not_digits"


@pytest.mark.parametrize(
    "code",
    ["1234567891".translate(FULLWIDTH), "123456789²"],
    ids=["fullwidth-digits", "superscript-digit"],
)
def test_national_code_with_digits_of_other_scripts_is_rejected_as_not_digits(code):
    # Given digits that str.isdigit() accepts but that are neither Latin, Persian nor Arabic
    # When the code is normalised
    error = _raise_code(normalize_national_code, code)

    # Then it is rejected (not stored in a second, non-canonical spelling, and no bare ValueError)
    assert error.code == "national_code_not_digits"


@pytest.mark.parametrize("code", ["", "   ", " - "])
def test_empty_national_code_is_rejected_as_required(code):
    error = _raise_code(normalize_national_code, code)
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
    error = _raise_code(normalize_national_code, value)

    # Then the error has a stable code and a Persian message, also as str(error)
    assert error.code == expected_code
    assert PERSIAN_LETTERS.search(error.message)
    assert str(error) == error.message
    assert isinstance(error, ValueError)


# --- Bank card ----------------------------------------------------------------------------------
#
# Luhn check digits, computed by doubling every second digit from the right:
#   603799123456789? -> 3,  610433123456789? -> 0,  627353000012345? -> 8,
#   621986987654321? -> 8,  123456123456789? -> 6 (BIN 123456 belongs to no bank)

MELLI_CARD = "6037991234567893"


@pytest.mark.parametrize(
    ("number", "bank"),
    [
        ("6037991234567893", "بانک ملی ایران"),
        ("6104331234567890", "بانک ملت"),
        ("6273530000123458", "بانک تجارت"),
        ("6219869876543218", "بانک سامان"),
    ],
)
def test_valid_card_with_known_bin_exposes_bin_last4_bank_and_mask(number, bank):
    # Given a 16-digit number with a Shetab BIN and a correct Luhn digit
    assert luhn_is_valid(number)

    # When it is normalised
    card = normalize_card_number(number)

    # Then the parts used for storage and display are exposed
    assert card.number == number
    assert card.bin == number[:6]
    assert card.last4 == number[-4:]
    assert card.bank == bank
    assert card.masked == f"{number[:4]}-{number[4:6]}**-****-{number[-4:]}"


@pytest.mark.parametrize(
    "typed",
    [
        "6037 9912 3456 7893",
        "6037-9912-3456-7893",
        " 6037991234567893 ",
        "6037991234567893".translate(PERSIAN),
        "6037991234567893".translate(ARABIC_INDIC),
        "۶۰۳۷ ۹۹۱۲ ۳۴۵۶ ۷۸۹۳",
    ],
)
def test_card_with_spaces_dashes_or_persian_digits_normalises_to_sixteen_latin_digits(typed):
    card = normalize_card_number(typed)
    assert card.number == MELLI_CARD


@pytest.mark.parametrize(
    ("partial", "check"),
    [
        ("603799123456789", 3),
        ("610433123456789", 0),
        ("627353000012345", 8),
        ("621986987654321", 8),
        ("123456123456789", 6),
    ],
)
def test_luhn_check_digit_is_the_last_digit_that_passes_the_luhn_check(partial, check):
    # Given the first fifteen digits of a card number (the comment above works them by hand)
    # When the check digit is computed
    digit = luhn_check_digit(partial)

    # Then it is the expected digit, the number it completes passes, and no other digit does
    assert digit == check
    assert luhn_is_valid(f"{partial}{digit}")
    assert not any(luhn_is_valid(f"{partial}{d}") for d in range(10) if d != digit)


@pytest.mark.parametrize("number", ["6037991234567894", "6037991234567839", "6037991234657893"])
def test_card_failing_luhn_is_rejected_as_invalid(number):
    # Given a known BIN but a number whose Luhn check fails (wrong last digit / swapped digits)
    assert not luhn_is_valid(number)

    # When it is normalised
    error = _raise_code(normalize_card_number, number)

    # Then it is rejected as invalid
    assert error.code == "card_invalid"


@pytest.mark.parametrize("number", ["603799123456789", "60379912345678930"], ids=["15", "17"])
def test_card_of_fifteen_or_seventeen_digits_is_rejected_with_length_code(number):
    error = _raise_code(normalize_card_number, number)
    assert error.code == "card_length"


def test_card_with_unknown_bin_and_valid_luhn_is_rejected_as_unknown_bank():
    # Given a Luhn-valid number whose BIN belongs to no Shetab member
    number = "1234561234567896"
    assert luhn_is_valid(number)
    assert number[:6] not in BANKS_BY_BIN

    # When it is normalised
    error = _raise_code(normalize_card_number, number)

    # Then the bank is reported unknown
    assert error.code == "card_unknown_bank"


@pytest.mark.parametrize(
    ("value", "expected_code"),
    [
        ("", "card_required"),
        ("6037-99ab-3456-7893", "card_not_digits"),
        ("6037991234567893".translate(FULLWIDTH), "card_not_digits"),
    ],
)
def test_card_that_is_empty_or_not_digits_is_rejected(value, expected_code):
    error = _raise_code(normalize_card_number, value)
    assert error.code == expected_code


@pytest.mark.parametrize(
    "value", ["", "6037-99ab-3456-7893", "603799123456789", "6037991234567894", "1234561234567896"]
)
def test_card_errors_carry_a_persian_message(value):
    error = _raise_code(normalize_card_number, value)
    assert PERSIAN_LETTERS.search(error.message)


def test_card_hash_is_deterministic_for_the_same_key():
    assert card_hash(MELLI_CARD, key="k1") == card_hash(MELLI_CARD, key="k1")


def test_card_hash_differs_for_another_key():
    assert card_hash(MELLI_CARD, key="k1") != card_hash(MELLI_CARD, key="k2")


def test_card_hash_differs_for_another_card():
    assert card_hash(MELLI_CARD, key="k1") != card_hash("6104331234567890", key="k1")


def test_card_hash_is_64_hex_characters_and_never_contains_the_number():
    # When a card number is hashed
    digest = card_hash(MELLI_CARD, key="secret")

    # Then it is a SHA-256 hex digest with no trace of the number, its BIN or its last four
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert MELLI_CARD not in digest
    assert MELLI_CARD[:6] not in digest


@pytest.mark.parametrize(
    ("bin_", "last4", "expected"),
    [
        ("603799", "7893", "6037-99**-****-7893"),
        ("610433", "0000", "6104-33**-****-0000"),
    ],
)
def test_mask_card_shows_only_bin_and_last_four(bin_, last4, expected):
    assert mask_card(bin_, last4) == expected


# --- Sheba --------------------------------------------------------------------------------------
#
# Check digits = 98 - (BBAN + "1827" + "00") mod 97 (I=18, R=27; ISO 7064 mod 97-10), where the
# BBAN is the 22 digits after the check pair:
#   BBAN 0540102680020817909002 -> 82 (the published example)
#   BBAN 0120000000001234567890 -> 16
#   BBAN 0170000001234567890123 -> 12
#   BBAN 0620000000000000000011 -> 06 (a check pair with a leading zero)


VALID_SHEBAS = [
    "IR820540102680020817909002",
    "IR160120000000001234567890",
    "IR120170000001234567890123",
    "IR060620000000000000000011",
]


@pytest.mark.parametrize("sheba", VALID_SHEBAS)
def test_valid_sheba_is_accepted_unchanged(sheba):
    assert normalize_sheba(sheba) == sheba


@pytest.mark.parametrize(
    "typed",
    [
        "ir820540102680020817909002",
        "Ir82 0540 1026 8002 0817 9090 02",
        "IR82-0540-1026-8002-0817-9090-02",
        "IR۸۲۰۵۴۰۱۰۲۶۸۰۰۲۰۸۱۷۹۰۹۰۰۲",
    ],
)
def test_sheba_in_lower_case_with_spaces_dashes_or_persian_digits_is_normalised(typed):
    assert normalize_sheba(typed) == "IR820540102680020817909002"


def test_sheba_of_24_digits_without_ir_gets_the_prefix():
    assert normalize_sheba("820540102680020817909002") == "IR820540102680020817909002"


@pytest.mark.parametrize(
    "sheba",
    [
        "IR820540102680020817909003",  # last digit changed
        "IR830540102680020817909002",  # check digits changed
        "IR820540102680020817909020",  # two digits swapped
        "IR160120000000001234567891",  # constructed example, last digit changed
    ],
)
def test_sheba_with_one_changed_digit_is_rejected_as_invalid(sheba):
    error = _raise_code(normalize_sheba, sheba)
    assert error.code == "sheba_invalid"


@pytest.mark.parametrize(
    "sheba",
    [
        "IR82054010268002081790900",  # 23 digits
        "IR8205401026800208179090021",  # 25 digits
        "82054010268002081790900",  # 23 digits, no prefix
        "DE820540102680020817909002",  # another country
        "IR82054010268002081790900A",  # letter among the digits
        "IRX20540102680020817909002",
        "IR820540102680020817909002".translate(FULLWIDTH),
    ],
)
def test_sheba_of_wrong_length_or_with_letters_is_rejected_as_format(sheba):
    error = _raise_code(normalize_sheba, sheba)
    assert error.code == "sheba_format"


@pytest.mark.parametrize(
    ("value", "expected_code"),
    [
        ("", "sheba_required"),
        ("IR82", "sheba_format"),
        ("IR830540102680020817909002", "sheba_invalid"),
    ],
)
def test_sheba_errors_carry_a_code_and_persian_message(value, expected_code):
    error = _raise_code(normalize_sheba, value)
    assert error.code == expected_code
    assert PERSIAN_LETTERS.search(error.message)


# --- Mobile -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "09121234567",
        "+989121234567",
        "00989121234567",
        "989121234567",
        "9121234567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "+۹۸۹۱۲۱۲۳۴۵۶۷",
        "0912 123 4567",
        "0912-123-4567",
        "(0912) 123 4567",
        "+98 912 123 4567",
    ],
)
def test_mobile_in_any_accepted_form_normalises_to_the_09_form(typed):
    assert normalize_mobile(typed) == "09121234567"


@pytest.mark.parametrize(
    "typed",
    [
        "0912123456",  # too short
        "091212345678",  # too long
        "08121234567",  # not 09
        "0212345678",  # a Tehran landline
        "+982112345678",  # a landline with the country code
        "0912123456a",
        "09121234567".translate(FULLWIDTH),
        "09" + "121234567".translate(FULLWIDTH),
    ],
)
def test_mobile_that_is_not_09_plus_nine_digits_is_rejected_as_invalid(typed):
    error = _raise_code(normalize_mobile, typed)
    assert error.code == "mobile_invalid"
    assert PERSIAN_LETTERS.search(error.message)


def test_empty_mobile_is_rejected_as_required():
    error = _raise_code(normalize_mobile, "  ")
    assert error.code == "mobile_required"


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
