"""``manage.py bonus_sweep 1402-06``: grant every bonus earned in a cycle and not yet granted."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.models import Cycle, RunKind
from settlements.services import runs
from settlements.tasks import enqueue_chunks


class Command(BaseCommand):
    help = "Run the (normally nightly) bonus sweep for a cycle."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cycle")
        parser.add_argument("--inline", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        cycle = Cycle.objects.select_related("phase").filter(key=options["cycle"]).first()
        if cycle is None:
            raise CommandError(f"no cycle {options['cycle']}")
        inline = options["inline"] or settings.CELERY_TASK_ALWAYS_EAGER
        run = runs.start_run(
            kind=RunKind.BONUS_SWEEP, cycle=cycle, enqueue=None if inline else enqueue_chunks
        )
        if inline:
            run = runs.run_inline(run=run)
        self.stdout.write(
            f"run {run.pk}: {run.entries_created:,} bonuses, {run.amount_rial:,} rial"
        )
