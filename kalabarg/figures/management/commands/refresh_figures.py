"""``manage.py refresh_figures [--cycle 1405-09 ...]``: refresh the programme's summary tables."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kalabarg.figures.refresh import refresh_figures
from settlements.models import Cycle


class Command(BaseCommand):
    help = "Refresh the programme figures (open and recent cycles, or the cycles named)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", action="append", help="a Jalali month, e.g. 1405-09")

    def handle(self, *args: Any, **options: Any) -> None:
        cycles = None
        if options["cycle"]:
            cycles = list(Cycle.objects.filter(key__in=options["cycle"]).select_related("phase"))
            missing = set(options["cycle"]) - {c.key for c in cycles}
            if missing:
                raise CommandError(f"no such cycle: {', '.join(sorted(missing))}")
        record = refresh_figures(trigger="command", cycles=cycles)
        self.stdout.write(
            f"figures refreshed for {', '.join(record.cycles) or 'no cycle'} in {record.seconds:.1f} s"
        )
