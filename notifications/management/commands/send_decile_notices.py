"""``manage.py send_decile_notices --deciles 4 5 [--phase ID]``: SMS every head of household in
those deciles (today's decile) with the phase's offer. Starting it again resumes the campaign."""

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.management.commands._campaign_cli import report
from notifications.services import campaigns
from settlements.models import Phase


class Command(BaseCommand):
    help = "Start (or resume) the decile-notice SMS campaign; it runs on the Celery sms queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deciles", type=int, nargs="+", required=True)
        parser.add_argument(
            "--phase", type=int, help="phase id (default: the phase in force today)"
        )
        parser.add_argument("--chunk-size", type=int, default=campaigns.DEFAULT_CHUNK_SIZE)
        parser.add_argument("--reason", default="")
        parser.add_argument("--wait", action="store_true", help="wait until it is sent")

    def handle(self, *args: Any, **options: Any) -> None:
        phase = None
        if options["phase"] is not None:
            phase = Phase.objects.filter(pk=options["phase"]).first()
            if phase is None:
                raise CommandError(f"no phase with id {options['phase']}")
        started = time.monotonic()
        try:
            campaign = campaigns.start_decile_notices(
                deciles=options["deciles"],
                phase=phase,
                reason=options["reason"],
                chunk_size=options["chunk_size"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        report(self, campaign, wait=options["wait"], started=started)
