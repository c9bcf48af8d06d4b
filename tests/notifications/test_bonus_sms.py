"""A granted bonus sends its SMS once (key ``bonus:<entry id>``), from the instant path or the sweep."""

import pytest

from households.models import Person
from kalabarg.lib.sms import memory_outbox
from notifications.models import SmsMessage
from settlements.models import EntryKind, JournalEntry, RunKind
from settlements.services import runs
from settlements.services.bonus import grant_bonus_if_earned
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge

pytestmark = pytest.mark.django_db


def test_the_instant_bonus_sends_one_sms_in_toman_after_commit(django_capture_on_commit_callbacks):
    household = make_household(decile=4)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=5_000_000, current=8_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        grant_bonus_if_earned(household_id=household.pk, cycle=cycle)
    with django_capture_on_commit_callbacks(execute=True):
        grant_bonus_if_earned(household_id=household.pk, cycle=cycle)  # no second bonus, no SMS
    entry = JournalEntry.objects.get(household=household, kind=EntryKind.BONUS)
    head = Person.objects.get(household=household, is_head=True)
    sent = memory_outbox()
    assert len(sent) == 1 and sent[0].mobile == head.mobile
    assert sent[0].body.startswith("۱۲۰٬۰۰۰ تومان اعتبار مضاعف کالابرگ شهریور ۱۴۰۲")
    assert SmsMessage.objects.get().dedupe_key == f"bonus:{entry.pk}"


def test_the_nightly_sweep_s_bonuses_get_their_sms_too(django_capture_on_commit_callbacks):
    household = make_household(decile=4)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=5_000_000, current=8_000_000)
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=cycle)
        runs.run_inline(run=run)
    assert len(memory_outbox()) == 1
    assert SmsMessage.objects.filter(dedupe_key__startswith="bonus:").count() == 1
