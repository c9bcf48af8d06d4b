"""``manage.py reconcile_ledger``: check every ledger invariant; exit 1 on any breach."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from settlements.services.reconcile import reconcile


class Command(BaseCommand):
    help = "Prove the ledger's invariants and verify the daily digests of past days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--skip-digests", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        report = reconcile(verify_digests=not options["skip_digests"])
        for name, breaches in report.checks.items():
            self.stdout.write(
                f"{'OK    ' if not breaches else 'BREACH'} {name}: {breaches} breach(es)"
            )
        self.stdout.write(
            f"digests: {report.digests_written} written, {report.days_verified} days verified"
        )
        for breach in report.breaches:
            self.stderr.write(f"BREACH {breach}")
        if not report.ok:
            sys.exit(1)
        self.stdout.write("ledger reconciled: no breach")
