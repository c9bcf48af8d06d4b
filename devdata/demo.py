"""The demo data set that ``manage.py seed_demo`` loads, with fixed, printed credentials.

An officer (superuser), a second officer who approves others' requests (four-eyes), the demo household (head, spouse, two children, decile 3, a card), a few
hundred generated households, basket prices, the demo store and its POS terminal among sixty
generated stores, this month's charged cycle, two purchases through the real checkout and one
decided objection. Every step is idempotent, so seeding twice changes nothing.
"""

import datetime as dt
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from devdata.households import generate_households
from devdata.stores import generate_stores
from households import services as household_services
from households.models import (
    City,
    DecileSource,
    Household,
    Objection,
    ObjectionCategory,
    Person,
    Province,
    Relation,
)
from households.objections import file_objection
from households.services import MemberData
from kalabarg.backoffice.objections import reject_objection
from kalabarg.lib.persian import jalali_month_key
from settlements.models import RunKind
from settlements.services import rules, runs
from settlements.services.checkout import LineRequest, checkout
from stores import services as store_services
from stores.models import BasketItem, ItemPrice, PriceKind, Store, StoreStatus, Terminal

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "kalabarg-demo"  # noqa: S105 - printed for the local demo only
# The second officer: approves the first one's requests (a decile by hand, a mobile, a card, an
# upload, a price, ...), as no officer may approve their own. Staff, not a superuser.
CHECKER_USERNAME = "supervisor"
CHECKER_PASSWORD = "kalabarg-demo-2"  # noqa: S105 - printed for the local demo only
CHECKER_GROUP = "supervisor"  # the back office's role, where its migration has made it
APPROVE_PERMISSION = ("approvals", "approve_changerequest")
# What the second officer reads: the queue and every page a request links to.
CHECKER_VIEW_APPS = ("approvals", "households", "stores", "settlements", "notifications")
DEMO_POPULATION = 300
DEMO_SEED = 1402
DEMO_PURCHASES = [
    ("demo-purchase-1", [("rice", "5"), ("cheese", "0.750")]),
    ("demo-purchase-2", [("chicken", "2"), ("eggs", "1"), ("raw_milk", "2")]),
]

# --- The demo household ---------------------------------------------------------------------

DEMO_HOUSEHOLD_CODE = "DEMO-0001"
DEMO_HEAD_NATIONAL_CODE = "0084575948"
DEMO_HEAD_MOBILE = "09121234567"
DEMO_CARD_NUMBER = "6037991234567893"  # Luhn-valid, Bank Melli BIN; only its hash is stored
DEMO_DECILE = 3
PROGRAMME_START = dt.date(2022, 3, 21)  # 1401/01/01


@transaction.atomic
def ensure_demo_household() -> Household:
    """Create the demo household (head, spouse, two children, decile 3, a card) once."""
    existing = Household.objects.filter(registry_code=DEMO_HOUSEHOLD_CODE).first()
    if existing is None:
        province = Province.objects.get(name="تهران")
        city = City.objects.get(province=province, name="تهران")
        existing = household_services.register_household(
            registry_code=DEMO_HOUSEHOLD_CODE,
            province=province,
            city=city,
            head=MemberData(
                national_code=DEMO_HEAD_NATIONAL_CODE,
                first_name="مریم",
                last_name="احمدی",
                relation=Relation.HEAD,
                birth_date=dt.date(1982, 6, 11),
                gender="F",
                mobile=DEMO_HEAD_MOBILE,
            ),
            members=[
                MemberData(
                    "0013542419",
                    "رضا",
                    "احمدی",
                    Relation.SPOUSE,
                    dt.date(1979, 2, 3),
                    "M",
                    "09351234567",
                ),
                MemberData("0067749828", "سارا", "احمدی", Relation.CHILD, dt.date(2010, 9, 1), "F"),
                MemberData("1122334451", "علی", "احمدی", Relation.CHILD, dt.date(2014, 4, 15), "M"),
            ],
            decile=DEMO_DECILE,
            decile_effective_from=PROGRAMME_START,
            decile_source=DecileSource.IMPORT,
        )
    head = Person.objects.get(national_code=DEMO_HEAD_NATIONAL_CODE)
    household_services.register_card(person=head, card_number=DEMO_CARD_NUMBER)
    return existing


# --- Prices, stores and the POS terminal -----------------------------------------------------

TEHRAN_TZ = dt.timezone(dt.timedelta(hours=3, minutes=30))
BASE_PRICES_FROM = dt.datetime(2022, 3, 21, tzinfo=TEHRAN_TZ)  # 1401/01/01
CURRENT_PRICES_FROM = dt.datetime(2023, 8, 23, tzinfo=TEHRAN_TZ)  # 1402/06/01

# Plausible 1401 base and 1402 current prices per unit, in rials (1 toman = 10 rials).
DEMO_PRICES_RIAL: dict[str, tuple[int, int]] = {
    "raw_milk": (150_000, 220_000),
    "cheese": (1_500_000, 2_300_000),
    "yogurt": (400_000, 600_000),
    "chicken": (600_000, 850_000),
    "eggs": (550_000, 750_000),
    "frozen_meat": (2_200_000, 3_200_000),
    "rice": (450_000, 720_000),
    "legumes": (600_000, 950_000),
    "pasta": (300_000, 450_000),
    "sugar_cubes": (400_000, 620_000),
    "sugar": (300_000, 480_000),
}

DEMO_STORE_LICENCE = "DEMO-STORE-1"
DEMO_TERMINAL_ID = "10000001"
DEMO_TERMINAL_KEY = "10000001.demo-terminal-key-for-local-use-only"
DEMO_STORE_COUNT = 60


@transaction.atomic
def ensure_demo_prices() -> None:
    for code, (base, current) in DEMO_PRICES_RIAL.items():
        item = BasketItem.objects.get(code=code)
        for kind, amount, when in (
            (PriceKind.BASE, base, BASE_PRICES_FROM),
            (PriceKind.CURRENT, current, CURRENT_PRICES_FROM),
        ):
            if not ItemPrice.objects.filter(item=item, kind=kind, effective_from=when).exists():
                store_services.set_price(
                    item=item,
                    kind=kind,
                    price_rial=amount,
                    effective_from=when,
                    reason="نرخ نمایشی",
                    created_by=None,
                )


@transaction.atomic
def ensure_demo_store_and_terminal() -> Terminal:
    store = Store.objects.filter(licence_number=DEMO_STORE_LICENCE).first()
    if store is None:
        province = Province.objects.get(name="تهران")
        store = store_services.register_store(
            name="فروشگاه تعاونی رفاه",
            owner_national_code="0013542419",
            owner_name="حسین کریمی",
            licence_number=DEMO_STORE_LICENCE,
            tax_code="411111111111",
            sheba="IR820540102680020817909002",
            mobile="09121112233",
            province=province,
            city=City.objects.get(province=province, name="تهران"),
            address="تهران، خیابان انقلاب، پلاک ۱۲",
        )
    if store.status != StoreStatus.CONNECTED:
        store_services.connect_store(store=store, by=None)
    terminal = Terminal.objects.filter(terminal_id=DEMO_TERMINAL_ID).first()
    if terminal is None:
        terminal = store_services.create_terminal(
            store=store, terminal_id=DEMO_TERMINAL_ID, psp_name="به‌پرداخت ملت"
        )
    demo_hash = store_services.hash_api_key(key=DEMO_TERMINAL_KEY)
    if terminal.api_key_hash != demo_hash:
        terminal.api_key_hash = demo_hash
        terminal.save(update_fields=["api_key_hash"])
    return terminal


def ensure_demo_stores() -> None:
    ensure_demo_prices()
    ensure_demo_store_and_terminal()
    if Store.objects.count() < DEMO_STORE_COUNT:
        generate_stores(count=DEMO_STORE_COUNT, seed=1402)


# --- The second officer (four-eyes) ---------------------------------------------------------


@transaction.atomic
def ensure_second_officer() -> None:
    """A staff officer (not a superuser) who may approve requests: in the back office's
    ``supervisor`` group where it exists, and holding the approve and view permissions in any
    case (so the demo works before the roles exist, and whatever the group grants)."""
    user_model = get_user_model()
    officer = user_model.objects.filter(username=CHECKER_USERNAME).first()
    if officer is None:
        officer = user_model.objects.create_user(
            CHECKER_USERNAME, "supervisor@kalabarg.local", CHECKER_PASSWORD, is_staff=True
        )
    group = Group.objects.filter(name=CHECKER_GROUP).first()
    if group is not None:
        officer.groups.add(group)
    app_label, codename = APPROVE_PERMISSION
    officer.user_permissions.add(
        Permission.objects.get(content_type__app_label=app_label, codename=codename),
        *Permission.objects.filter(
            content_type__app_label__in=CHECKER_VIEW_APPS, codename__startswith="view_"
        ),
    )


# --- The whole data set ----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoCredentials:
    """What ``seed_demo`` prints: where to log in and with what."""

    admin_url: str
    admin_username: str
    admin_password: str
    checker_username: str
    checker_password: str
    portal_url: str
    head_national_code: str
    head_mobile: str
    card_number: str
    terminal_id: str
    terminal_key: str
    cycle: str

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def seed_demo() -> DemoCredentials:
    """Load the demo data set (idempotent) and return the credentials to print."""
    user_model = get_user_model()
    if not user_model.objects.filter(username=ADMIN_USERNAME).exists():
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@kalabarg.local", ADMIN_PASSWORD)
    ensure_second_officer()
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
    return DemoCredentials(
        admin_url="http://127.0.0.1:8000/admin/",
        admin_username=ADMIN_USERNAME,
        admin_password=ADMIN_PASSWORD,
        checker_username=CHECKER_USERNAME,
        checker_password=CHECKER_PASSWORD,
        portal_url="http://127.0.0.1:8000/",
        head_national_code=DEMO_HEAD_NATIONAL_CODE,
        head_mobile=DEMO_HEAD_MOBILE,
        card_number=DEMO_CARD_NUMBER,
        terminal_id=DEMO_TERMINAL_ID,
        terminal_key=DEMO_TERMINAL_KEY,
        cycle=cycle.key,
    )
