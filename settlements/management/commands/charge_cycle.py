"""``manage.py charge_cycle 1402-06``: charge every eligible household's credit for a Jalali month."""

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.models import RunKind, RunStatus
from settlements.services import rules, runs
from settlements.tasks import enqueue_chunks


class Command(BaseCommand):
    help = "Start (or resume) the credit run of a cycle; chunks run on the Celery batch queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("cycle", help="Jalali month, e.g. 1402-06")
        parser.add_argument("--chunk-size", type=int, default=runs.DEFAULT_CHUNK_SIZE)
        parser.add_argument("--wait", action="store_true", help="wait until the workers finish")
        parser.add_argument("--inline", action="store_true", help="run every chunk in this process")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            cycle = rules.ensure_cycle(key=options["cycle"])
            run = runs.launch_run(
                kind=RunKind.CYCLE_CHARGE,
                cycle=cycle,
                chunk_size=options["chunk_size"],
                inline=options["inline"] or None,  # None: inline whenever Celery is eager
                enqueue=enqueue_chunks,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if options["wait"]:
            while run.status == RunStatus.RUNNING:
                time.sleep(1)
                run.refresh_from_db()
                self.stderr.write(
                    f"  {run.chunks_done}/{run.chunks_total} chunks, {run.entries_created:,} charged"
                )
        self.stdout.write(
            f"run {run.pk} ({run.get_status_display()}): cycle {cycle.key}, {run.chunks_done}/{run.chunks_total} chunks, "
            f"{run.entries_created:,} households charged, {run.amount_rial:,} rial, in {time.monotonic() - started:.1f} s"
        )
        if run.failures:
            raise CommandError(f"{run.failures} chunk failures; last: {run.last_error}")
