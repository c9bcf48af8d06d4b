"""Error reports are opened in spreadsheets: a cell from the file that starts like a formula
(= + - @) is written with a leading ' so it stays text (CSV injection)."""

import csv
import io

import pytest

from households.card_import import import_bank_cards
from households.importer import COLUMNS, import_households, write_error_report
from kalabarg.lib.spreadsheet import safe_cell
from tests.households.factories import next_card_number, row

pytestmark = pytest.mark.django_db

FORMULAS = ["=HYPERLINK('http://x')", "+1+1", "-2+3", "@SUM(A1)", "\t=1", " =1"]


def report_cells(errors) -> list[list[str]]:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    write_error_report(errors=errors, stream=out)
    return list(csv.reader(io.StringIO(out.getvalue())))[1:]


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_card_file_national_code_that_starts_like_a_formula_is_text_in_the_report(formula):
    text = f'card_number,national_code,status\n{next_card_number()},"{formula}",active\n'

    result = import_bank_cards(stream=io.StringIO(text))
    cells = report_cells(result.report_rows())

    assert cells[0][1] == "'" + formula.strip()  # the importer strips the code's white space
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells[0])


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_household_file_national_code_that_starts_like_a_formula_is_text_in_the_report(
    formula,
):
    header = ",".join(COLUMNS)
    line = row(national_code=f'"{formula}"')

    result = import_households(stream=io.StringIO(f"{header}\n{line}\n"))
    cells = report_cells(result.errors)

    assert cells, "the row should have been rejected"
    assert all(
        not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row_ in cells for cell in row_
    )
    assert cells[0][1] == "'" + formula.strip()  # the importer strips the code's white space


def test_plain_cells_and_numbers_are_written_unchanged():
    assert safe_cell("0012345679") == "0012345679"
    assert safe_cell("کد ملی معتبر نیست") == "کد ملی معتبر نیست"
    assert safe_cell(-3) == -3
    assert safe_cell("=1") == "'=1"
