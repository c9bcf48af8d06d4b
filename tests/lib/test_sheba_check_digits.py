"""The Sheba check digits, computed once in ``kalabarg.lib.identifiers`` for the validator and
the synthetic stores alike."""

import pytest

from kalabarg.lib.identifiers import IdentifierError, normalize_sheba, sheba_check_digits


def test_check_digits_of_a_real_sheba_are_its_own():
    assert sheba_check_digits("0540102680020817909002") == "82"


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
