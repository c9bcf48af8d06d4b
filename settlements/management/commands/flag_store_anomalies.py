"""``manage.py flag_store_anomalies [--from YYYY-MM-DD] [--to YYYY-MM-DD]``: flag the stores whose
purchases of those Tehran days show an anomaly (default: yesterday, as the nightly job does)."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.services import anomalies
from stores.models import FlagKind


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from exc


class Command(BaseCommand):
    help = "Flag stores whose purchases of the given Tehran days show an anomaly."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from", dest="day_from", help="first day, YYYY-MM-DD (default: yesterday)"
        )
        parser.add_argument(
            "--to", dest="day_to", help="last day, YYYY-MM-DD (default: the first day)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        given_from, given_to = options["day_from"], options["day_to"]
        day_to = _day(given_to) if given_to else None
        day_from = _day(given_from) if given_from else day_to or anomalies.tehran_yesterday()
        day_to = day_to or day_from
        try:
            report = anomalies.flag_store_anomalies(day_from=day_from, day_to=day_to)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"{day_from} … {day_to}: {report.total} new flags")
        for kind, count in report.by_kind().items():
            self.stdout.write(f"  {kind} ({FlagKind(kind).label}): {count}")
