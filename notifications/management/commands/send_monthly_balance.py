"""``manage.py send_monthly_balance [--month 1402-06]``: one balance SMS per head of a household
with a wallet. Starting it again for the same month resumes the campaign."""

import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from notifications.management.commands._campaign_cli import report
from notifications.services import campaigns


class Command(BaseCommand):
    help = "Start (or resume) the monthly balance SMS campaign on the Celery sms queue."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--month", help="Jalali month, e.g. 1402-06 (default: this month)")
        parser.add_argument("--chunk-size", type=int, default=campaigns.DEFAULT_CHUNK_SIZE)
        parser.add_argument("--wait", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        try:
            campaign = campaigns.start_monthly_balance(
                month_key=options["month"], chunk_size=options["chunk_size"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        report(self, campaign, wait=options["wait"], started=started)
