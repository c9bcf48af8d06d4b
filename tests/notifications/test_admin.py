"""Officers' SMS screens: pages load, a campaign starts with a reason, search, retry, cancel."""

import pytest
from django.urls import reverse

from kalabarg.lib.sms import memory_outbox
from notifications.models import CampaignStatus, MessageStatus, SmsCampaign, SmsMessage, SmsTemplate
from notifications.services import campaigns
from tests.notifications.factories import heads_in_deciles, phase_for_notices

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True


def test_the_sms_pages_load(admin_client):
    phase = phase_for_notices()
    heads_in_deciles({4: 2})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, i: None)
    template = SmsTemplate.objects.first()
    for url in [
        reverse("admin:notifications_smscampaign_changelist"),
        reverse("admin:notifications_smscampaign_change", args=[campaign.pk]),
        reverse("admin:notifications_smscampaign_add"),
        reverse("admin:notifications_smsmessage_changelist"),
        reverse("admin:notifications_smstemplate_changelist"),
        reverse("admin:notifications_smstemplate_change", args=[template.pk]),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200, url
    page = admin_client.get(reverse("admin:notifications_smscampaign_changelist")).content.decode()
    assert "<progress" in page and "ساخت صف" in page


def test_an_officer_starts_a_decile_campaign_with_a_reason(
    admin_client, django_capture_on_commit_callbacks
):
    phase = phase_for_notices()
    heads = heads_in_deciles({4: 2, 6: 1})
    url = reverse("admin:notifications_smscampaign_add")
    refused = admin_client.post(url, {"phase": phase.pk, "deciles": ["4"]})
    assert "دلیل این ارسال را بنویسید" in refused.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            url, {"phase": phase.pk, "deciles": ["4"], "reason": "آغاز مرحله"}
        )
    assert response.status_code == 302
    campaign = SmsCampaign.objects.get()
    assert campaign.reason == "آغاز مرحله" and campaign.started_by.username == "admin"
    assert campaign.status == CampaignStatus.COMPLETED
    assert {s.mobile for s in memory_outbox()} == {h.mobile for h in heads[:2]}
    page = admin_client.get(reverse("admin:notifications_smscampaign_changelist")).content.decode()
    assert "۱۰۰٪" in page


def test_a_decile_outside_the_phase_shows_the_error_on_the_form(admin_client):
    phase = phase_for_notices()
    response = admin_client.post(
        reverse("admin:notifications_smscampaign_add"),
        {"phase": phase.pk, "deciles": ["9"], "reason": "x"},
    )
    assert response.status_code == 200
    assert "در مرحله" in response.content.decode()


def test_a_template_with_a_link_cannot_be_saved_in_the_admin(admin_client):
    template = SmsTemplate.objects.get(kind="login_code")
    response = admin_client.post(
        reverse("admin:notifications_smstemplate_change", args=[template.pk]),
        {"body": "کد {code} — www.kalabarg-login.ir"},
    )
    assert response.status_code == 200
    assert "پیوند" in response.content.decode()
    template.refresh_from_db()
    assert "www" not in template.body


def test_messages_are_found_by_national_code_or_mobile(admin_client):
    phase = phase_for_notices()
    heads = heads_in_deciles({4: 3})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, i: None)
    campaigns.build_chunk(chunk_id=campaign.chunks.get().pk)
    url = reverse("admin:notifications_smsmessage_changelist")
    by_code = admin_client.get(
        url, {"q": heads[1].national_code, "campaign__id__exact": campaign.pk}
    )
    assert by_code.context["cl"].result_count == 1
    persian_mobile = heads[2].mobile.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    by_mobile = admin_client.get(url, {"q": persian_mobile})
    assert [m.person_id for m in by_mobile.context["cl"].result_list] == [heads[2].pk]


def test_an_officer_retries_a_failed_message_as_a_new_generation(
    admin_client, django_capture_on_commit_callbacks
):
    phase = phase_for_notices()
    heads_in_deciles({4: 3})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, i: None)
    campaigns.build_chunk(chunk_id=campaign.chunks.get().pk)
    first = SmsMessage.objects.order_by("pk").first()
    SmsMessage.objects.filter(pk=first.pk).update(status=MessageStatus.FAILED, error_code="411")
    url = reverse("admin:notifications_smsmessage_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            url,
            {"action": "retry_failed", "_selected_action": [first.pk], "confirm": "1", "reason": "شماره اصلاح شد"},
        )  # fmt: skip
    first.refresh_from_db()
    assert first.status == MessageStatus.SENT and first.generation == 1
    assert f"{first.pk}-1" in [s.local_id for s in memory_outbox()]


def test_an_officer_cancels_a_running_campaign_with_a_reason(admin_client):
    phase = phase_for_notices()
    heads_in_deciles({4: 2})
    campaign = campaigns.start_decile_notices(deciles=[4], phase=phase, enqueue=lambda c, i: None)
    campaigns.build_chunk(chunk_id=campaign.chunks.get().pk)
    campaign_url = reverse("admin:notifications_smscampaign_changelist")
    admin_client.post(
        campaign_url,
        {"action": "cancel_campaigns", "_selected_action": [campaign.pk], "confirm": "1", "reason": "اشتباه"},
    )  # fmt: skip
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert SmsMessage.objects.filter(status=MessageStatus.CANCELLED).count() == 2
    assert "اشتباه" in campaign.reason and memory_outbox() == []
