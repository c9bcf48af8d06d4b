"""The mobile number validator: every accepted spelling normalised to the 09 form, nothing else."""

import pytest

from kalabarg.lib.identifiers import normalize_mobile
from tests.lib.factories import FULLWIDTH, PERSIAN_LETTERS, raise_code


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
    error = raise_code(normalize_mobile, typed)
    assert error.code == "mobile_invalid"
    assert PERSIAN_LETTERS.search(error.message)


def test_empty_mobile_is_rejected_as_required():
    error = raise_code(normalize_mobile, "  ")
    assert error.code == "mobile_required"
