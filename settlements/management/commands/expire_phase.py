"""``manage.py expire_phase PHASE_ID``: return unspent credit to the fund after an expiring phase ends."""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.models import Phase, RunKind
from settlements.services import runs
from settlements.tasks import enqueue_chunks


class Command(BaseCommand):
    help = "Expire every wallet's unspent credit at the end of a phase whose policy is expiry."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phase_id", type=int)
        parser.add_argument("--inline", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        phase = Phase.objects.filter(pk=options["phase_id"]).first()
        if phase is None:
            raise CommandError(f"no phase {options['phase_id']}")
        inline = options["inline"] or settings.CELERY_TASK_ALWAYS_EAGER
        try:
            run = runs.start_run(
                kind=RunKind.EXPIRY, phase=phase, enqueue=None if inline else enqueue_chunks
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        if inline:
            run = runs.run_inline(run=run)
        self.stdout.write(
            f"run {run.pk}: {run.entries_created:,} wallets expired, {run.amount_rial:,} rial"
        )
