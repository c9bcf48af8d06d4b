"""The bank card validator: the Luhn check digit, the Shetab BIN's bank, the keyed hash, the mask.

Every valid example below was computed by hand from the algorithm in DOMAIN.md ("Identifiers")
and hard-coded, so the tests check the implementation against the rule, not against itself.
"""

import re

import pytest

from kalabarg.lib.identifiers import (
    BANKS_BY_BIN,
    card_hash,
    luhn_check_digit,
    luhn_is_valid,
    mask_card,
    normalize_card_number,
)
from tests.lib.factories import ARABIC_INDIC, FULLWIDTH, PERSIAN, PERSIAN_LETTERS, raise_code

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
    error = raise_code(normalize_card_number, number)

    # Then it is rejected as invalid
    assert error.code == "card_invalid"


@pytest.mark.parametrize("number", ["603799123456789", "60379912345678930"], ids=["15", "17"])
def test_card_of_fifteen_or_seventeen_digits_is_rejected_with_length_code(number):
    error = raise_code(normalize_card_number, number)
    assert error.code == "card_length"


def test_card_with_unknown_bin_and_valid_luhn_is_rejected_as_unknown_bank():
    # Given a Luhn-valid number whose BIN belongs to no Shetab member
    number = "1234561234567896"
    assert luhn_is_valid(number)
    assert number[:6] not in BANKS_BY_BIN

    # When it is normalised
    error = raise_code(normalize_card_number, number)

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
    error = raise_code(normalize_card_number, value)
    assert error.code == expected_code


@pytest.mark.parametrize(
    "value", ["", "6037-99ab-3456-7893", "603799123456789", "6037991234567894", "1234561234567896"]
)
def test_card_errors_carry_a_persian_message(value):
    error = raise_code(normalize_card_number, value)
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
