"""The Sheba (IBAN) validator: the mod-97 check digits, the IR prefix, Persian digits.

Every valid example below was computed by hand from the algorithm in DOMAIN.md ("Identifiers")
and hard-coded, so the tests check the implementation against the rule, not against itself.
"""

import pytest

from kalabarg.lib.identifiers import IdentifierError, normalize_sheba, sheba_check_digits
from tests.lib.factories import FULLWIDTH, PERSIAN_LETTERS, raise_code

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
    error = raise_code(normalize_sheba, sheba)
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
    error = raise_code(normalize_sheba, sheba)
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
    error = raise_code(normalize_sheba, value)
    assert error.code == expected_code
    assert PERSIAN_LETTERS.search(error.message)


# --- The check digits, computed once for the validator and the synthetic stores ---------------


@pytest.mark.parametrize(
    ("bban", "check"),
    [
        ("0540102680020817909002", "82"),
        ("0120000000001234567890", "16"),
        ("0620000000000000000011", "06"),
    ],
)
def test_check_digits_are_the_hand_computed_ones(bban, check):
    assert sheba_check_digits(bban) == check


@pytest.mark.parametrize("bban", ["0" * 22, "0170000000123456789012", "9" * 22])
def test_a_sheba_made_with_its_check_digits_is_valid(bban):
    sheba = f"IR{sheba_check_digits(bban)}{bban}"
    assert normalize_sheba(sheba) == sheba


def test_a_sheba_with_other_check_digits_is_refused():
    bban = "0170000000123456789012"
    wrong = f"{(int(sheba_check_digits(bban)) + 1) % 100:02d}"
    with pytest.raises(IdentifierError) as refused:
        normalize_sheba(f"IR{wrong}{bban}")
    assert refused.value.code == "sheba_invalid"
