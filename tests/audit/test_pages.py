"""The trail on the admin: each object's history page shows its changes with old and new values;
the auditor's page searches the whole trail by officer, model and Jalali days."""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from households.services import change_mobile
from kalabarg.audit import admin as audit_admin
from kalabarg.lib.persian import format_jalali_date
from notifications.models import SmsTemplate
from stores import services as store_services
from tests.audit.factories import events_of
from tests.conftest import OfficerClient
from tests.households.factories import make_household
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db

TRAIL = reverse("admin:audit_trail_changelist")


def _history(client, obj) -> str:
    opts = obj._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_history", args=[obj.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _edit_template(client, body: str) -> SmsTemplate:
    template = SmsTemplate.objects.get(kind="login_code")
    response = client.post(
        reverse("admin:notifications_smstemplate_change", args=[template.pk]), {"body": body}
    )
    assert response.status_code == 302
    return template


@pytest.mark.postgres
def test_a_persons_history_page_shows_the_old_and_new_mobile_and_who_changed_it(admin_client):
    head = make_household().members.get(is_head=True)
    old_mobile = head.mobile
    with connection.cursor() as cursor:  # raw SQL: recorded with no author
        cursor.execute(
            "UPDATE households_person SET mobile = '09359998877' WHERE id = %s", [head.pk]
        )

    content = _history(admin_client, head)

    assert "سابقه تغییرات با مقدارها" in content
    assert "تلفن همراه" in content  # the field's Persian name
    assert old_mobile in content and "09359998877" in content
    assert "نامعلوم: تغییر مستقیم در پایگاه داده" in content


@pytest.mark.postgres
def test_a_households_history_page_shows_its_deciles_changes_in_jalali(admin_client):
    household = make_household(decile=6)
    assignment = household.deciles.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE households_decileassignment SET effective_from = '2024-03-20' WHERE id = %s",
            [assignment.pk],
        )

    content = _history(admin_client, household)

    assert format_jalali_date(assignment.effective_from) in content
    assert format_jalali_date(dt.date(2024, 3, 20)) in content


@pytest.mark.postgres
def test_a_terminals_key_hash_never_reaches_the_trail_or_its_page(admin_client):
    terminal = make_terminal()

    key = store_services.issue_terminal_key(terminal=terminal)

    terminal.refresh_from_db()
    assert terminal.api_key_hash
    event = events_of(terminal, "update")[-1]
    assert "api_key_issued_at" in event.pgh_previous
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM audit_terminalevent e")
        stored = " ".join(row[0] for row in cursor.fetchall())
    content = _history(admin_client, terminal)
    assert terminal.api_key_hash not in stored and key not in stored
    assert terminal.api_key_hash not in content
    assert "صدور کلید" in content


def test_the_history_page_works_where_nothing_is_recorded(admin_client):
    """On SQLite (the embedded default) there are no triggers: the page says so, no error."""
    head = make_household().members.get(is_head=True)

    content = _history(admin_client, head)

    assert "سابقه تغییرات با مقدارها" in content
    if connection.vendor != "postgresql":
        assert "فقط روی PostgreSQL ثبت می‌شود" in content


@pytest.mark.postgres
def test_the_auditor_finds_an_officers_changes_by_username_model_and_day(
    admin_client, django_user_model
):
    # First, outside a request (the test's one transaction keeps a request's context after it).
    head = make_household().members.get(is_head=True)
    change_mobile(person=head, mobile="09121110000")
    template = _edit_template(admin_client, "کد ورود: {code}")
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)

    by_officer = admin_client.get(TRAIL, {"username": "admin"})
    by_model = admin_client.get(TRAIL, {"model": "households.person"})
    by_day = admin_client.get(TRAIL, {"since": format_jalali_date(today, with_month_name=False)})
    before = admin_client.get(
        TRAIL, {"until": format_jalali_date(yesterday, with_month_name=False)}
    )

    officer_rows = by_officer.context["page"].entries
    assert {entry.model for entry in officer_rows} == {"متن پیامک"}
    assert officer_rows[0].object_url == reverse(
        "admin:notifications_smstemplate_change", args=[template.pk]
    )
    assert {entry.model for entry in by_model.context["page"].entries} == {"فرد"}
    assert "09121110000" in by_model.content.decode()
    assert len(by_day.context["page"].entries) >= 2
    assert before.context["page"].entries == []


@pytest.mark.postgres
def test_the_trail_pages_without_counting(admin_client, monkeypatch):
    for number in range(3):
        _edit_template(admin_client, f"کد ورود {number}: {{code}}")
    monkeypatch.setattr(audit_admin, "PAGE_SIZE", 2)

    page_one = admin_client.get(TRAIL, {"model": "notifications.smstemplate"})
    page_two = admin_client.get(TRAIL, {"model": "notifications.smstemplate", "p": "2"})

    assert page_one.context["page"].has_next is True
    assert len(page_one.context["page"].entries) == 2
    assert len(page_two.context["page"].entries) == 1
    assert page_two.context["page"].has_next is False


def test_the_trail_page_needs_the_audit_permission(django_user_model):
    staff = django_user_model.objects.create_user("clerk", password="x" * 16, is_staff=True)
    client = OfficerClient()
    client.force_login(staff)

    refused = client.get(TRAIL)
    staff.user_permissions.add(Permission.objects.get(codename="view_trail"))
    allowed = client.get(TRAIL)

    assert refused.status_code == 403
    assert allowed.status_code == 200


def test_an_officers_change_saves_on_every_database(admin_client):
    """The trail's context is PostgreSQL's (a statement prefix); elsewhere requests go on as before."""
    template = _edit_template(admin_client, "کد ورود شما: {code}")

    template.refresh_from_db()
    assert template.body == "کد ورود شما: {code}"
