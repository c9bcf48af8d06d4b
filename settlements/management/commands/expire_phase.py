"""``manage.py expire_phase PHASE_ID``: return the credit still unspent of an expiring phase to the fund after it ends.

Only credit granted under that phase (its cycles' charges and bonuses) is taken, credit being spent
oldest first; the next phase's credit already in the wallets stays (``run_work.UNSPENT_OF_PHASE_SQL``).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.models import Phase, RunKind
from settlements.services import runs
from settlements.tasks import enqueue_chunks


class Command(BaseCommand):
    help = (
        "Expire the credit still unspent of an ended phase whose policy is expiry "
        "(credit is spent oldest first; later phases' credit is kept)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phase_id", type=int)
        parser.add_argument("--inline", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        phase = Phase.objects.filter(pk=options["phase_id"]).first()
        if phase is None:
            raise CommandError(f"no phase {options['phase_id']}")
        try:
            run = runs.launch_run(
                kind=RunKind.EXPIRY,
                phase=phase,
                inline=options["inline"] or None,  # None: inline whenever Celery is eager
                enqueue=enqueue_chunks,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"run {run.pk}: {run.entries_created:,} wallets expired, {run.amount_rial:,} rial"
        )
