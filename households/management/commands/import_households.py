"""``manage.py import_households FILE.csv``: apply the welfare registry's household file."""

import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from households.importer import ImportFileError, ImportResult, import_households, write_error_report


class Command(BaseCommand):
    help = "Import households, members and deciles from a UTF-8 CSV (see README for the columns)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--errors",
            type=Path,
            help="where to write the rejected rows (CSV); default: FILE.errors.csv next to the file",
        )
        parser.add_argument("--chunk-rows", type=int, default=20_000)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        started = time.monotonic()

        def progress(result: ImportResult) -> None:
            self.stderr.write(f"  {result.rows_read:,} rows read, {result.rows_applied:,} applied")

        try:
            with path.open(encoding="utf-8", newline="") as stream:
                result = import_households(
                    stream=stream, chunk_rows=options["chunk_rows"], progress=progress
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{result.rows_read:,} rows read, {result.rows_applied:,} applied, {result.rows_rejected:,} rejected, "
            f"{result.households_in_file:,} households, in {elapsed:.1f} s"
        )
        if result.errors:
            report = options["errors"] or path.with_suffix(path.suffix + ".errors.csv")
            with report.open("w", encoding="utf-8", newline="") as out:
                write_error_report(errors=result.errors, stream=out)
            for error in result.errors[:20]:
                self.stderr.write(
                    f"line {error.line}: {error.field}: {error.code}: {error.message}"
                )
            self.stderr.write(f"error report: {report}")
            sys.exit(1)
