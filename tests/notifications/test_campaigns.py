"""Decile notices and monthly balances: set-based outbox, the phase's numbers, exactly once."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from kalabarg.lib.sms import memory_outbox
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage, SmsTemplate
from notifications.services import campaigns
from settlements.models import Account, AccountKind, Phase
from settlements.services import rules
from tests.notifications.factories import heads_in_deciles, phase_for_notices
from tests.settlements.factories import PhaseFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def phase() -> Phase:
    return phase_for_notices()


def test_heads_in_the_target_deciles_get_the_phase_numbers_in_persian_digits(
    phase, django_capture_on_commit_callbacks
):
    heads = heads_in_deciles({3: 2, 4: 2, 5: 1})
    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaigns.start_decile_notices(deciles=[4, 5], phase=phase, chunk_size=2)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.COMPLETED
    sent = {sms.mobile: sms.body for sms in memory_outbox()}
    assert set(sent) == {h.mobile for h in heads[2:]}
    body = sent[heads[2].mobile]
    assert "دهک ۴" in body
    assert "۲۵۰٬۰۰۰ تومان" in body and "۱۵۰٬۰۰۰ تومان" in body
    assert campaign.counts == {"sent": 3}
    assert campaign.recipients_total == 3


def test_running_the_command_again_repeats_nothing(phase, django_capture_on_commit_callbacks):
    heads_in_deciles({4: 3})
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_decile_notices", "--deciles", "4", "5", "--phase", str(phase.pk))
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_decile_notices", "--deciles", "4", "5", "--phase", str(phase.pk))
    assert len(memory_outbox()) == 3
    assert SmsMessage.objects.count() == 3
    assert SmsCampaign.objects.count() == 1


def test_a_rebuilt_chunk_and_a_resumed_campaign_add_no_message(phase):
    heads_in_deciles({4: 3})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, ids: None)
    chunk = campaign.chunks.get()
    assert campaigns.build_chunk(chunk_id=chunk.pk) is True
    chunk.done = False
    chunk.save()
    assert (
        campaigns.build_chunk(chunk_id=chunk.pk) is True
    )  # a redelivered chunk: ON CONFLICT DO NOTHING
    again = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, ids: None)
    assert again.pk == campaign.pk
    assert SmsMessage.objects.filter(campaign=campaign).count() == 3


def test_a_decile_outside_the_phase_is_refused_with_a_code(phase):
    with pytest.raises(ValidationError) as caught:
        campaigns.start_decile_notices(deciles=[9], phase=phase)
    assert caught.value.error_dict["deciles"][0].code == "sms_decile_not_in_phase"


def test_monthly_balance_shows_each_wallet_in_toman(django_capture_on_commit_callbacks):
    heads = heads_in_deciles({2: 2})
    Account.objects.create(
        kind=AccountKind.WALLET, household=heads[0].household, balance_rial=12_345_675
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_monthly_balance", "--month", "1402-06")
    sent = memory_outbox()
    assert len(sent) == 1 and sent[0].mobile == heads[0].mobile
    assert "شهریور ۱۴۰۲" in sent[0].body
    assert "۱٬۲۳۴٬۵۶۷٫۵ تومان" in sent[0].body


def test_cancelling_stops_dispatch_and_cancels_queued_messages(phase):
    heads_in_deciles({4: 4})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, i: None)
    campaigns.build_chunk(chunk_id=campaign.chunks.get().pk)
    cancelled = campaigns.cancel_campaign(campaign=campaign)
    assert cancelled == 4
    from notifications.services import dispatch

    dispatch.dispatch_campaign(campaign_id=campaign.pk)
    assert memory_outbox() == []
    assert set(SmsMessage.objects.values_list("status", flat=True)) == {MessageStatus.CANCELLED}


@pytest.mark.parametrize(
    ("basis", "says_per_member"), [("per_member", True), ("per_household", False)]
)
def test_the_notice_says_when_the_amounts_are_per_member(basis, says_per_member):
    phase = phase_for_notices()
    Phase.objects.filter(pk=phase.pk).update(basis=basis)
    phase.refresh_from_db()
    template = SmsTemplate.objects.get(kind="decile_notice").body
    body = campaigns.decile_bodies(phase=phase, deciles=[4], body_template=template)[4]
    assert ("به ازای هر نفر" in body) is says_per_member
    assert "۲۵۰٬۰۰۰ تومان" in body


def test_notices_without_a_named_phase_use_the_phase_the_checkout_applies_when_phases_overlap():
    # Given the seeded open-ended phase and a later one that started and has already ended
    today = timezone.localdate()
    PhaseFactory(
        starts_on=today - dt.timedelta(days=10),
        ends_on=today - dt.timedelta(days=1),
        band__min_decile=4,
        band__max_decile=5,
    )
    # When notices are started without naming a phase
    with pytest.raises(ValidationError) as refused:
        campaigns.start_decile_notices(deciles=[4], enqueue=lambda c, i: None)
    # Then, like the checkout (no phase in force today), they are refused, not sent for the
    # earlier phase that the later one replaced
    assert rules.phase_on(day=today) is None
    assert refused.value.error_dict["phase"][0].code == "sms_no_phase"
    assert SmsCampaign.objects.count() == 0
