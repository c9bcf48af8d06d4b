"""``manage.py approve_settlements --officer USERNAME``: approve every draft settlement."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from settlements.services import payouts


class Command(BaseCommand):
    help = "Approve every draft store settlement for payment, in the name of a finance officer or supervisor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--officer", required=True, help="the approving officer's username")
        parser.add_argument(
            "--id", dest="ids", type=int, action="append", help="only this settlement (repeatable)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        officer = get_user_model().objects.filter(username=options["officer"]).first()
        if officer is None:
            raise CommandError(f"no officer named {options['officer']!r}")
        try:
            result = payouts.approve_settlements(officer=officer, settlement_ids=options["ids"])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(
            f"{result.approved:,} settlements approved by {officer.get_username()}, "
            f"{result.amount_rial:,} rial"
        )
