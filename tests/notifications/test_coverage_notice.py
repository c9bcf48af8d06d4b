"""A household covered during a cycle hears of it (issue 13 §3): its head gets the phase's decile
notice once, and the phase's campaigns leave out a head who already has it (and the reverse)."""

import pytest
from django.utils import timezone

from households.models import DecileSource
from households.services import assign_decile
from kalabarg.lib.sms import memory_outbox
from notifications.models import SmsKind, SmsMessage
from notifications.services import campaigns
from notifications.services.coverage import queue_coverage_notices
from settlements.services import coverage, rules
from tests.households.factories import make_household
from tests.settlements.factories import charge, this_month

pytestmark = pytest.mark.django_db


def cover(household, decile: int, capture) -> None:
    with capture(execute=True):
        assign_decile(
            household=household,
            decile=decile,
            effective_from=timezone.localdate(),
            source=DecileSource.OFFICER,
            reason="بازبینی میدانی",
            created_by=None,
        )


def test_the_head_of_a_household_covered_during_the_cycle_gets_the_decile_notice_once(
    django_capture_on_commit_callbacks,
):
    household = make_household(decile=9)
    cycle = charge(this_month())
    head = household.members.get(is_head=True)

    cover(household, 2, django_capture_on_commit_callbacks)

    [message] = SmsMessage.objects.filter(person=head, kind=SmsKind.DECILE_NOTICE)
    assert message.dedupe_key == f"decile_notice:{cycle.phase_id}:{head.pk}"
    assert "دهک ۲" in message.body and "۲۰۰٬۰۰۰ تومان" in message.body
    assert [sms.mobile for sms in memory_outbox()] == [head.mobile]
    # A second decision, the sweep and a repeated queueing add nothing
    cover(household, 3, django_capture_on_commit_callbacks)
    coverage.charge_late_entrants()
    assert queue_coverage_notices(cycle_id=cycle.pk, low=household.pk, high=household.pk + 1) == []
    assert SmsMessage.objects.filter(person=head, kind=SmsKind.DECILE_NOTICE).count() == 1


def test_the_phase_campaign_leaves_out_a_head_who_has_the_notice_and_the_reverse(
    django_capture_on_commit_callbacks,
):
    # Given a household covered by a decision after this month's run (it has the notice)
    covered_late = make_household(decile=9)
    cycle = charge(this_month())
    cover(covered_late, 2, django_capture_on_commit_callbacks)
    # And a household imported after the run, not yet charged
    imported_late = make_household(decile=2)
    phase = rules.phase_on(day=timezone.localdate(), prefetch_bands=True)
    assert phase is not None and phase.pk == cycle.phase_id

    # When the phase's campaign runs, and then the nightly sweep charges the imported household
    with django_capture_on_commit_callbacks(execute=True):
        campaigns.start_decile_notices(deciles=[1, 2, 3], phase=phase)
    with django_capture_on_commit_callbacks(execute=True):
        assert coverage.charge_late_entrants()[0] == 1

    # Then each head has exactly one notice: the decision's, and the campaign's
    notices = SmsMessage.objects.filter(kind=SmsKind.DECILE_NOTICE)
    [personal] = notices.filter(person__household=covered_late)
    [from_campaign] = notices.filter(person__household=imported_late)
    assert (personal.campaign_id, from_campaign.campaign_id is not None) == (None, True)
