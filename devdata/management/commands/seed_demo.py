"""``manage.py seed_demo [--json]``: a small believable data set for the demo (idempotent)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from devdata.demo import seed_demo


class Command(BaseCommand):
    help = "Load the demo data set and print how to log in (--json: as one JSON object)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print the credentials as JSON only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        creds = seed_demo()
        if options["json"]:
            self.stdout.write(json.dumps(creds.as_dict(), ensure_ascii=False))
            return
        self.stdout.write(
            "\nDemo data is ready.\n"
            f"  Officer admin:      {creds.admin_url}  user {creds.admin_username}  password {creds.admin_password}\n"
            "  The officer admin asks for the password only under DEBUG=1 (make demo); elsewhere it\n"
            f"  also asks for a TOTP code: enrol one with manage.py officer_totp {creds.admin_username}.\n"
            f"  Household portal:   {creds.portal_url}\n"
            f"  Head of household:  national code {creds.head_national_code}, mobile {creds.head_mobile}\n"
            f"  Head's bank card:   {creds.card_number}\n"
            f"  POS terminal:       {creds.terminal_id}, header 'Authorization: Api-Key {creds.terminal_key}'\n"
            f"  Credit cycle:       {creds.cycle} charged\n"
            "  Log in to the portal: open /login/, type the head's national code and mobile; the\n"
            "  6-digit login code is printed on the runserver console (SMS_BACKEND=console).\n"
            "  The demo household has two purchases this month and one decided objection.\n"
        )
