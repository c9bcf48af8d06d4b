"""The demo household that ``seed_demo`` creates, with fixed, printed credentials."""

import datetime as dt

from django.db import transaction

from households import services
from households.models import City, DecileSource, Household, Person, Province, Relation
from households.services import MemberData

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
        existing = services.register_household(
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
    services.register_card(person=head, card_number=DEMO_CARD_NUMBER)
    return existing
