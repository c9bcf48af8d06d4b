"""``manage.py import_bank_cards FILE.csv``: apply a bank's card-owner file (see README)."""

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from households.card_import import CardImportResult, import_bank_cards
from households.importer import ImportFileError, write_error_report


class Command(BaseCommand):
    help = "Import bank cards (card_number,national_code,status) from a UTF-8 CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--errors",
            type=Path,
            help="where to write the rejected rows and moved cards (CSV); "
            "default: FILE.errors.csv next to the file",
        )
        parser.add_argument("--chunk-rows", type=int, default=50_000)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        started = time.monotonic()

        def progress(result: CardImportResult) -> None:
            self.stderr.write(f"  {result.rows_read:,} rows read, {result.rows_applied:,} applied")

        try:
            with path.open(encoding="utf-8", newline="") as stream:
                result = import_bank_cards(
                    stream=stream, chunk_rows=options["chunk_rows"], progress=progress
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{result.rows_read:,} rows read, {result.rows_applied:,} applied, "
            f"{result.rows_rejected:,} rejected, {len(result.moved):,} cards moved, "
            f"{result.cards_changed:,} cards changed, in {elapsed:.1f} s"
        )
        report_rows = result.report_rows()
        if report_rows:
            report = options["errors"] or path.with_suffix(path.suffix + ".errors.csv")
            with report.open("w", encoding="utf-8", newline="") as out:
                write_error_report(errors=report_rows, stream=out)
            for row in report_rows[:20]:
                self.stderr.write(f"line {row.line}: {row.field}: {row.code}: {row.message}")
            self.stderr.write(f"report: {report}")
        if result.errors:
            sys.exit(1)
