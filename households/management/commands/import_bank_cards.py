"""``manage.py import_bank_cards FILE.csv``: apply a bank's card-owner file (see README)."""

from collections.abc import Callable, Sequence
from typing import Any, TextIO

from households.card_import import CardImportResult, import_bank_cards
from households.importer import RowError
from households.management.commands._csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = "Import bank cards (card_number,national_code,status) from a UTF-8 CSV."
    default_chunk_rows = 50_000
    report_help = (
        "where to write the rejected rows and moved cards (CSV); "
        "default: FILE.errors.csv next to the file"
    )

    def run_import(
        self, *, stream: TextIO, chunk_rows: int, progress: Callable[[Any], None]
    ) -> CardImportResult:
        return import_bank_cards(stream=stream, chunk_rows=chunk_rows, progress=progress)

    def summary(self, result: CardImportResult) -> str:
        return f", {len(result.moved):,} cards moved, {result.cards_changed:,} cards changed"

    def report_rows(self, result: CardImportResult) -> Sequence[RowError]:
        return result.report_rows()  # rejected rows and moved cards, by line
