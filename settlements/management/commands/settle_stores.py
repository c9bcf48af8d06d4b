"""``manage.py settle_stores [--until YYYY-MM-DDTHH:MM]``: settle every store up to a cut-off."""

import datetime as dt
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from settlements.models import SettlementRunStatus
from settlements.services import store_settlement
from settlements.tasks import enqueue_settlement


def _tehran_moment(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"--until: not a moment (YYYY-MM-DDTHH:MM): {text!r}") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class Command(BaseCommand):
    help = (
        "Settle every purchase and reversal not yet settled up to --until (Tehran time; default "
        "the last midnight): one settlement per store, store payable → settlement clearing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until", type=_tehran_moment, help="cut-off, Tehran time")
        parser.add_argument("--chunk-size", type=int, default=store_settlement.DEFAULT_STORE_CHUNK)
        parser.add_argument("--inline", action="store_true", help="run every chunk in this process")
        parser.add_argument("--wait", action="store_true", help="wait until the workers finish")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            run = store_settlement.launch_settlement(
                cutoff=options["until"],
                process="command:settle_stores",
                chunk_size=options["chunk_size"],
                inline=options["inline"] or None,  # None: inline whenever Celery is eager
                enqueue=enqueue_settlement,
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        while options["wait"] and run.status == SettlementRunStatus.RUNNING:
            time.sleep(1)
            run.refresh_from_db()
            self.stderr.write(f"  {run.chunks_done}/{run.chunks_total} chunks")
        self.stdout.write(
            f"settlement run {run.pk} ({run.get_status_display()}) up to "
            f"{timezone.localtime(run.cutoff):%Y-%m-%d %H:%M}: {run.lines_total:,} purchases and "
            f"reversals, {run.settlements_total:,} settlements, {run.amount_rial:,} rial owed, "
            f"{run.chunks_done}/{run.chunks_total} chunks, in {time.monotonic() - started:.1f} s"
        )
        if run.status == SettlementRunStatus.FAILED:
            raise CommandError(f"the run failed: {run.last_error}")
