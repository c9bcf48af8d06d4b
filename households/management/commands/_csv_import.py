"""What the two file-import commands share: the file argument, the error report beside it, the
progress and summary lines, and exit status 1 when any row was rejected. Each command names its
import function and what its summary adds."""

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from django.core.management.base import BaseCommand, CommandError, CommandParser

from households.importer import ImportFileError, RowError, write_error_report


class _Result(Protocol):
    rows_read: int
    rows_applied: int
    rows_rejected: int
    errors: list[RowError]


class CsvImportCommand(BaseCommand):
    default_chunk_rows = 20_000
    report_help = (
        "where to write the rejected rows (CSV); default: FILE.errors.csv next to the file"
    )

    def run_import(
        self, *, stream: TextIO, chunk_rows: int, progress: Callable[[Any], None]
    ) -> Any:
        raise NotImplementedError

    def summary(self, result: Any) -> str:
        """What the summary line says after the common counts."""
        return ""

    def report_rows(self, result: Any) -> Sequence[RowError]:
        """The rows the CSV report lists (the rejected ones unless the import reports more)."""
        return list(result.errors)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--errors", type=Path, help=self.report_help)
        parser.add_argument("--chunk-rows", type=int, default=self.default_chunk_rows)

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        started = time.monotonic()

        def progress(result: _Result) -> None:
            self.stderr.write(f"  {result.rows_read:,} rows read, {result.rows_applied:,} applied")

        try:
            with path.open(encoding="utf-8", newline="") as stream:
                result = self.run_import(
                    stream=stream, chunk_rows=options["chunk_rows"], progress=progress
                )
        except ImportFileError as exc:
            raise CommandError(str(exc)) from exc
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{result.rows_read:,} rows read, {result.rows_applied:,} applied, "
            f"{result.rows_rejected:,} rejected{self.summary(result)}, in {elapsed:.1f} s"
        )
        rows = self.report_rows(result)
        if rows:
            report = options["errors"] or path.with_suffix(path.suffix + ".errors.csv")
            with report.open("w", encoding="utf-8", newline="") as out:
                write_error_report(errors=rows, stream=out)
            for row in rows[:20]:
                self.stderr.write(f"line {row.line}: {row.field}: {row.code}: {row.message}")
            self.stderr.write(f"error report: {report}")
        if result.errors:
            sys.exit(1)
