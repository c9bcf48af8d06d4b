"""``manage.py import_payout_results FILE.csv [--errors rejected.csv]``: the bank's answers."""

import csv
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.services import payouts


class Command(BaseCommand):
    help = (
        "Apply the bank's payout results (reference,status,bank_reference,reason; status paid "
        "or failed). Exits 1 when any row is rejected; the same file twice changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--errors", type=Path, help="where to write the rejected rows (default FILE.errors.csv)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"file not found: {path}")
        started = time.monotonic()
        try:
            with path.open(encoding="utf-8", newline="") as stream:
                result = payouts.import_payout_results(
                    stream=stream, process="command:import_payout_results"
                )
        except payouts.ResultFileError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"the file is not UTF-8: {exc}") from exc
        self.stdout.write(
            f"{result.rows_read:,} rows read: {result.paid:,} paid, {result.failed:,} failed, "
            f"{result.unchanged:,} unchanged, {result.rows_rejected:,} rejected, "
            f"in {time.monotonic() - started:.1f} s"
        )
        if not result.errors:
            return
        report = options["errors"] or path.with_suffix(path.suffix + ".errors.csv")
        with report.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["line", "reference", "field", "code", "message"])
            for error in result.errors:
                writer.writerow(
                    [error.line, error.reference, error.field, error.code, error.message]
                )
        for error in result.errors[:20]:
            self.stderr.write(
                f"line {error.line}: {error.reference}: {error.field}: {error.code}: {error.message}"
            )
        self.stderr.write(f"error report: {report}")
        sys.exit(1)
