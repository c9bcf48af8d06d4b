"""Test data for the back office: a household with a whole story (members, a card, deciles, a
charged wallet, purchases, a bonus, an objection, SMS) made by the real services, and officers
holding only the permissions a test names."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from households.models import DecileSource, Household, Objection, Person
from households.objections import file_objection
from households.services import assign_decile
from kalabarg.backoffice import objections as decisions
from notifications.models import SmsCampaign, SmsKind, SmsMessage
from settlements.models import Cycle
from settlements.services.bonus import grant_bonus_if_earned
from stores.models import Purchase
from tests.households.factories import make_household
from tests.notifications.factories import SmsMessageFactory
from tests.settlements.factories import buy, charge, this_month

# A decile-1 household of two: 4,000,000 rials of credit, a 4,000,000 threshold, 2,400,000 bonus.
CREDIT, BONUS = 4_000_000, 2_400_000


@dataclass
class Story:
    household: Household
    head: Person
    child: Person
    cycle: Cycle
    small: Purchase  # 500,000 of credit
    big: Purchase  # 3,500,000 of credit: the threshold is reached
    objection: Objection
    personal_sms: SmsMessage
    campaign_sms: SmsMessage


def household_with_story(*, officer: Any = None) -> Story:
    """A decile-1 household of two, charged this month, with two purchases that earn the bonus,
    an officer's decile row, a rejected objection and two SMS (one personal, one of a campaign)."""
    household = make_household(decile=1, members=1)
    head = household.members.get(is_head=True)
    child = household.members.get(is_head=False)
    cycle = charge(this_month())
    small = buy(household, cycle=cycle, base=1_000_000, current=1_500_000)
    big = buy(household, cycle=cycle, base=2_000_000, current=5_500_000)
    grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    assign_decile(
        household=household,
        decile=2,
        effective_from=future_decile_from(),
        source=DecileSource.OFFICER,
        reason="بازدید میدانی",
        created_by=officer,
    )
    objection = file_objection(person=head, category="job_loss", description="بیکار شدم")
    decisions.reject_objection(
        objection=objection, reason="درآمد ثبت شده درست است", decided_by=officer
    )
    objection.refresh_from_db()
    personal = SmsMessageFactory(
        person=head, mobile=head.mobile, kind=SmsKind.LOGIN_CODE, body="کد ورود: ******"
    )
    campaign = SmsCampaign.objects.create(kind=SmsKind.DECILE_NOTICE, label="اطلاع‌رسانی آزمایشی")
    in_campaign = SmsMessageFactory(
        person=head, mobile=head.mobile, campaign=campaign, dedupe_key=None,
        kind=SmsKind.DECILE_NOTICE, body="دهک شما ۱ است",
    )  # fmt: skip
    return Story(household, head, child, cycle, small, big, objection, personal, in_campaign)


def future_decile_from() -> dt.date:
    """The day the officer's decile row applies from: in the future, so the decile today stays 1."""
    return timezone.localdate() + dt.timedelta(days=400)


def officer_with(*codenames: str, username: str = "clerk") -> Any:
    """A staff officer holding exactly these permissions (``app_label.codename``)."""
    user = get_user_model().objects.create_user(username, password="x-secret-1403", is_staff=True)
    for name in codenames:
        app_label, codename = name.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # a fresh object: no cached permissions
