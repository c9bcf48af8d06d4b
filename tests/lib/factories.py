"""Typed inputs for the identifier tests: digits of other scripts, and the refusal they expect."""

import re
from collections.abc import Callable

import pytest

from kalabarg.lib.identifiers import IdentifierError

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
PERSIAN_LETTERS = re.compile(r"[\u0600-\u06FF]")


def raise_code(func: Callable[[str], object], value: str) -> IdentifierError:
    """The ``IdentifierError`` that ``func(value)`` raises (the test fails if it raises none)."""
    with pytest.raises(IdentifierError) as excinfo:
        func(value)
    return excinfo.value
