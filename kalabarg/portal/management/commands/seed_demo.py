"""``manage.py seed_demo [--json]``: a small believable data set for the demo (idempotent)."""

import json
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from households.demo import (
    DEMO_CARD_NUMBER,
    DEMO_HEAD_MOBILE,
    DEMO_HEAD_NATIONAL_CODE,
    ensure_demo_household,
)
from households.generator import generate_households
from households.models import Household, Objection, ObjectionCategory, Person
from households.objections import file_objection
from kalabarg.lib.persian import jalali_month_key
from kalabarg.portal.objections import reject_objection
from settlements.models import RunKind
from settlements.services import rules, runs
from settlements.services.checkout import LineRequest, checkout
from stores.demo import DEMO_TERMINAL_ID, DEMO_TERMINAL_KEY, ensure_demo_stores
from stores.models import Terminal

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "kalabarg-demo"  # noqa: S105 - printed for the local demo only
DEMO_POPULATION = 300
DEMO_SEED = 1402
DEMO_PURCHASES = [
    ("demo-purchase-1", [("rice", "5"), ("cheese", "0.750")]),
    ("demo-purchase-2", [("chicken", "2"), ("eggs", "1"), ("raw_milk", "2")]),
]


class Command(BaseCommand):
    help = "Load the demo data set and print how to log in (--json: as one JSON object)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json", action="store_true", help="print the credentials as JSON only"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        admin_user = user_model.objects.filter(username=ADMIN_USERNAME).first()
        if admin_user is None:
            user_model.objects.create_superuser(
                ADMIN_USERNAME, "admin@kalabarg.local", ADMIN_PASSWORD
            )
        ensure_demo_household()
        if Household.objects.count() < DEMO_POPULATION:
            generate_households(households=DEMO_POPULATION, seed=DEMO_SEED)
        ensure_demo_stores()
        # Open and charge this month's cycle, so the demo head has credit to spend.
        cycle = rules.ensure_cycle(key=jalali_month_key(timezone.localdate()))
        runs.run_inline(run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle))
        # A few purchases through the real checkout and a decided objection, so the portal has
        # something to show. Both are idempotent: the checkout replays a known key, and the
        # objection is made only once.
        terminal = Terminal.objects.get(terminal_id=DEMO_TERMINAL_ID)
        for key, lines in DEMO_PURCHASES:
            body = {"card_number": DEMO_CARD_NUMBER, "lines": lines}
            checkout(
                terminal=terminal,
                idempotency_key=key,
                card_number=DEMO_CARD_NUMBER,
                payment_code=None,
                lines=[LineRequest(item, Decimal(quantity)) for item, quantity in lines],
                request_body=body,
            )
        head = Person.objects.get(national_code=DEMO_HEAD_NATIONAL_CODE)
        if not Objection.objects.filter(household_id=head.household_id).exists():
            objection = file_objection(
                person=head,
                category=ObjectionCategory.WRONG_ASSETS,
                description="خودرویی که در سامانه به نام همسرم ثبت شده، سال گذشته فروخته شده است.",
            )
            reject_objection(
                objection=objection,
                reason="سند فروش خودرو هنوز در سامانه ثبت نشده است؛ پس از ثبت، دوباره درخواست دهید.",
                decided_by=user_model.objects.get(username=ADMIN_USERNAME),
            )
        credentials = {
            "admin_url": "http://127.0.0.1:8000/admin/",
            "admin_username": ADMIN_USERNAME,
            "admin_password": ADMIN_PASSWORD,
            "portal_url": "http://127.0.0.1:8000/",
            "head_national_code": DEMO_HEAD_NATIONAL_CODE,
            "head_mobile": DEMO_HEAD_MOBILE,
            "card_number": DEMO_CARD_NUMBER,
            "terminal_id": DEMO_TERMINAL_ID,
            "terminal_key": DEMO_TERMINAL_KEY,
            "cycle": cycle.key,
        }
        if options["json"]:
            self.stdout.write(json.dumps(credentials, ensure_ascii=False))
            return
        self.stdout.write(
            "\nDemo data is ready.\n"
            f"  Officer admin:      {credentials['admin_url']}  user {ADMIN_USERNAME}  password {ADMIN_PASSWORD}\n"
            f"  Household portal:   {credentials['portal_url']}\n"
            f"  Head of household:  national code {DEMO_HEAD_NATIONAL_CODE}, mobile {DEMO_HEAD_MOBILE}\n"
            f"  Head's bank card:   {DEMO_CARD_NUMBER}\n"
            f"  POS terminal:       {DEMO_TERMINAL_ID}, header 'Authorization: Api-Key {DEMO_TERMINAL_KEY}'\n"
            f"  Credit cycle:       {cycle.key} charged\n"
            "  Log in to the portal: open /login/, type the head's national code and mobile; the\n"
            "  6-digit login code is printed on the runserver console (SMS_BACKEND=console).\n"
            "  The demo household has two purchases this month and one decided objection.\n"
        )
