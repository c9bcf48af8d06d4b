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
            f"  Second officer:     user {creds.checker_username}  password {creds.checker_password}"
            " (approves others' requests)\n"
            "  The officer admin asks for the password only under DEBUG=1 (make demo); elsewhere it\n"
            f"  also asks for a TOTP code: enrol one with manage.py officer_totp {creds.admin_username}"
            f" (and {creds.checker_username}).\n"
            f"  Household portal:   {creds.portal_url}\n"
            f"  Head of household:  national code {creds.head_national_code}, mobile {creds.head_mobile}\n"
            f"  Head's bank card:   {creds.card_number}\n"
            f"  POS terminal:       {creds.terminal_id}, header 'Authorization: Api-Key {creds.terminal_key}'\n"
            f"  Credit cycle:       {creds.cycle} charged\n"
            "  Log in to the portal: open /login/, type the head's national code and mobile; the\n"
            "  6-digit login code is printed on the runserver console (SMS_BACKEND=console).\n"
            "  The demo household has two purchases this month and one decided objection.\n"
            "  Four-eyes: a change that moves money or identity waits for a second officer. As\n"
            f"  {creds.admin_username}, open a household and add a decile row (or change a person's\n"
            "  mobile, add a card, upload a file): it becomes a request. In another browser (or a\n"
            f"  private window) sign in as {creds.checker_username}, open «درخواست‌های تغییر (تأیید\n"
            "  دونفره)», and approve it (it takes effect then) or reject it with a reason. The\n"
            "  maker can never approve their own request.\n"
        )
