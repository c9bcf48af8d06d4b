"""``manage.py ledger_partitions``: the money tables' month partitions (PostgreSQL).

    ledger_partitions list               every attached month and the rows of each table
    ledger_partitions ensure [--ahead N] create this month's and the next N months' partitions
    ledger_partitions convert            partition tables still plain (what migration 0021 does),
                                         with progress: run it in a maintenance window before
                                         deploying onto a database with data
    ledger_partitions archive 1403-05    detach a settled month older than LEDGER_ATTACHED_MONTHS

docs/operations.md, "Month partitions of the money tables"."""

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kalabarg.lib.partitions import period_from_label
from settlements.services import partitions


class Command(BaseCommand):
    help = "List, create ahead, convert to, or archive the money tables' month partitions."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list")
        ensure = actions.add_parser("ensure")
        ensure.add_argument("--ahead", type=int, default=None)
        actions.add_parser("convert")
        archive = actions.add_parser("archive")
        archive.add_argument("month", help="a Jalali month, like 1403-05")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ValidationError as error:
            raise CommandError(
                "; ".join(
                    f"{field}: {', '.join(messages)}"
                    for field, messages in error.message_dict.items()
                )
            ) from error

    def _list(self, options: dict[str, Any]) -> None:
        if not partitions.is_partitioned():
            raise CommandError(
                "the money tables are not partitioned (run: ledger_partitions convert)"
            )
        self.stdout.write(
            f"{'month':<10}" + "".join(f"{table:>28}" for table in partitions.MONTHLY_TABLES)
        )
        for row in partitions.overview():
            self.stdout.write(
                f"{row.label:<10}"
                + "".join(f"{row.rows.get(table, 0):>28,}" for table in partitions.MONTHLY_TABLES)
            )
        self.stdout.write("(row counts are the planner's estimates)")

    def _ensure(self, options: dict[str, Any]) -> None:
        created = partitions.ensure_months(ahead=options["ahead"])
        self.stdout.write(
            "created: " + (", ".join(created) if created else "nothing, every month is there")
        )

    def _convert(self, options: dict[str, Any]) -> None:
        started = time.monotonic()

        def log(message: str) -> None:
            self.stdout.write(f"[{time.monotonic() - started:7.1f} s] {message}")

        copied = partitions.convert_money_tables(log=log)
        if not copied:
            self.stdout.write("the money tables are already partitioned by month")
        for table, rows in copied.items():
            self.stdout.write(f"{table}: {rows:,} rows in month partitions")

    def _archive(self, options: dict[str, Any]) -> None:
        try:
            period = period_from_label(options["month"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        month = partitions.archive_month(period=period)
        self.stdout.write(
            f"{month.label} detached: {month.purchases:,} purchases, {month.entries:,} entries, "
            f"{month.postings:,} postings; archive tables: {', '.join(month.tables.values())} "
            "(pg_dump them, then DROP)"
        )
