"""``manage.py import_households FILE.csv``: apply the welfare registry's household file."""

from collections.abc import Callable
from typing import Any, TextIO

from households.importer import ImportResult, import_households
from households.management.commands._csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = "Import households, members and deciles from a UTF-8 CSV (see README for the columns)."
    default_chunk_rows = 20_000

    def run_import(
        self, *, stream: TextIO, chunk_rows: int, progress: Callable[[Any], None]
    ) -> ImportResult:
        return import_households(stream=stream, chunk_rows=chunk_rows, progress=progress)

    def summary(self, result: ImportResult) -> str:
        return f", {result.households_in_file:,} households"
