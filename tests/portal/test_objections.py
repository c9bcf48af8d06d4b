"""Decile objections: filing on the page and the API, one open at a time, officers decide in the admin."""

import datetime as dt

import jdatetime
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from households.models import DecileAssignment, DecileSource, Objection, ObjectionStatus
from households.objections import file_objection
from households.selectors import decile_on
from kalabarg.backoffice import objections as decisions
from kalabarg.lib.persian import to_persian_digits
from settlements.models import Cycle, CycleStatus
from settlements.services import rules
from tests.households.factories import make_household
from tests.portal.conftest import api_client, signed_in_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def head():
    return make_household(decile=6).members.get(is_head=True)


@pytest.fixture
def officer(django_user_model):
    return django_user_model.objects.create_superuser("officer", "o@example.com", "pw")


def test_a_head_files_an_objection_and_sees_it_under_review(head):
    client = signed_in_client(head)

    response = client.post(
        "/me/objections/new/", {"category": "job_loss", "description": "از کار بیکار شدم"}
    )

    objection = Objection.objects.get()
    assert response["Location"] == f"/me/objections/{objection.pk}/"
    assert (objection.category, objection.decile_at_filing, objection.filed_by) == (
        "job_loss", 6, head,
    )  # fmt: skip
    page = client.get(response["Location"]).content.decode()
    assert "در حال بررسی" in page and "از کار بیکار شدم" in page


def test_a_missing_reason_is_an_error_next_to_the_field_and_the_text_is_kept(head):
    response = signed_in_client(head).post("/me/objections/new/", {"description": "درآمدم کم شده"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "یکی از دلیل‌ها را انتخاب کنید" in page and "درآمدم کم شده" in page


def test_only_one_open_objection_per_household(head):
    file_objection(person=head, category="other", description="یک")
    client = signed_in_client(head)

    page = client.get("/me/objections/")
    second = client.get("/me/objections/new/")
    api = api_client(head).post(
        "/api/v1/me/objections/", {"category": "other", "description": "دو"}, format="json"
    )

    assert "/me/objections/new/" not in page.content.decode()
    assert second.status_code == 302
    assert (api.status_code, api.json()["code"]) == (409, "objection_already_open")
    assert Objection.objects.count() == 1


def test_the_database_refuses_a_second_open_objection(head):
    first = file_objection(person=head, category="other", description="یک")

    with pytest.raises(IntegrityError), transaction.atomic():
        Objection.objects.create(
            household_id=first.household_id, filed_by=head, category="other", description="دو"
        )


def test_after_a_decision_a_new_objection_may_be_filed(head, officer):
    first = file_objection(person=head, category="other", description="یک")
    decisions.reject_objection(objection=first, reason="مدارک کافی نبود", decided_by=officer)

    second = file_objection(person=head, category="income_fell", description="دو")

    assert second.status == ObjectionStatus.OPEN


def test_accepting_writes_the_new_decile_to_the_history_and_sends_an_sms(head, officer, sms_outbox):
    objection = file_objection(person=head, category="income_fell", description="درآمد کم شد")
    start = timezone.localdate()

    decided = decisions.accept_objection(
        objection=objection, new_decile=3, effective_from=start, reason="بررسی شد",
        decided_by=officer,
    )  # fmt: skip

    row = DecileAssignment.objects.get(pk=decided.decile_assignment_id)
    assert (row.decile, row.source, row.created_by) == (3, DecileSource.OBJECTION, officer)
    assert decile_on(household_id=head.household_id, on_date=start) == 3
    assert [(s.mobile, s.kind) for s in sms_outbox] == [(head.mobile, "objection_decided")]
    assert "۳" in sms_outbox[0].body and "http" not in sms_outbox[0].body
    page = signed_in_client(head).get(f"/me/objections/{objection.pk}/").content.decode()
    assert "پذیرفته شد" in page and "بررسی شد" in page


def test_rejecting_keeps_the_decile_and_the_page_shows_the_reason(head, officer, sms_outbox):
    objection = file_objection(person=head, category="wrong_assets", description="خودرو ندارم")

    decisions.reject_objection(objection=objection, reason="خودرو به نام شماست", decided_by=officer)

    assert decile_on(household_id=head.household_id, on_date=timezone.localdate()) == 6
    assert [s.kind for s in sms_outbox] == ["objection_decided"]
    page = signed_in_client(head).get(f"/me/objections/{objection.pk}/").content.decode()
    assert "رد شد" in page and "خودرو به نام شماست" in page


def test_a_decision_is_made_once(head, officer):
    from django.core.exceptions import ValidationError

    objection = file_objection(person=head, category="other", description="یک")
    decisions.reject_objection(objection=objection, reason="نه", decided_by=officer)

    with pytest.raises(ValidationError) as error:
        decisions.accept_objection(
            objection=objection, new_decile=2, effective_from=timezone.localdate(),
            reason="بله", decided_by=officer,
        )  # fmt: skip

    assert error.value.error_dict["status"][0].code == "objection_already_decided"


def test_the_sms_goes_out_only_when_the_decision_commits(
    head, officer, django_capture_on_commit_callbacks, caplog
):
    objection = file_objection(person=head, category="other", description="یک")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        decisions.reject_objection(objection=objection, reason="نه", decided_by=officer)

    assert len(callbacks) == 1


def test_an_officer_accepts_in_the_admin_with_a_jalali_date(head, officer, client, sms_outbox):
    objection = file_objection(person=head, category="illness", description="بیمار شدم")
    client.force_login(officer)
    url = f"/admin/households/objection/{objection.pk}/change/"

    from_day = timezone.localdate() + dt.timedelta(days=30)
    typed = to_persian_digits(jdatetime.date.fromgregorian(date=from_day).strftime("%Y/%m/%d"))

    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"decision": "accept", "decided_decile": "2", "decided_from": typed,
         "reason": "گواهی پزشکی دیده شد"},
    )  # fmt: skip

    objection.refresh_from_db()
    assert response.status_code == 302, response.content.decode()[:2000]
    assert (objection.status, objection.new_decile, objection.decided_by) == (
        "accepted", 2, officer,
    )  # fmt: skip
    assert objection.new_decile_from == from_day
    assert [s.kind for s in sms_outbox] == ["objection_decided"]


def test_accepting_in_the_admin_without_a_decile_is_an_error_and_changes_nothing(
    head, officer, client
):
    objection = file_objection(person=head, category="other", description="یک")
    client.force_login(officer)

    response = client.post(
        f"/admin/households/objection/{objection.pk}/change/",
        {"decision": "accept", "decided_from": "", "reason": "x"},
    )

    assert response.status_code == 200
    assert "برای پذیرش، دهک تازه را بنویسید" in response.content.decode()
    objection.refresh_from_db()
    assert objection.status == "open"


def test_an_officer_rejects_in_the_admin_and_finds_it_by_national_code(head, officer, client):
    objection = file_objection(person=head, category="other", description="یک")
    client.force_login(officer)

    listing = client.get("/admin/households/objection/", {"q": head.national_code})
    client.post(
        f"/admin/households/objection/{objection.pk}/change/",
        {"decision": "reject", "reason": "اطلاعات درست است"},
    )

    assert f"/admin/households/objection/{objection.pk}/change/" in listing.content.decode()
    objection.refresh_from_db()
    assert (objection.status, objection.decision_reason) == ("rejected", "اطلاعات درست است")
    assert client.get(f"/admin/households/objection/{objection.pk}/change/").status_code == 200


def test_a_decision_dated_before_the_objection_was_filed_is_refused_and_changes_nothing(
    head, officer
):
    objection = file_objection(person=head, category="illness", description="بیمار شدم")
    before_filing = timezone.localdate(objection.created_at) - dt.timedelta(days=1)

    with pytest.raises(ValidationError) as refused:
        decisions.accept_objection(
            objection=objection,
            new_decile=2,
            effective_from=before_filing,
            reason="گواهی پزشکی دیده شد",
            decided_by=officer,
        )

    assert refused.value.error_dict["new_decile_from"][0].code == "decision_before_objection"
    objection.refresh_from_db()
    assert objection.status == "open"
    assert not DecileAssignment.objects.filter(household=head.household, decile=2).exists()


def test_a_decision_dated_in_a_closed_cycle_is_refused(head, officer):
    # Given an objection filed in 1402-06 (Shahrivar 1402), whose cycle has since been closed
    objection = file_objection(person=head, category="illness", description="بیمار شدم")
    filed = dt.datetime(2023, 8, 25, 6, 30, tzinfo=dt.UTC)
    Objection.objects.filter(pk=objection.pk).update(created_at=filed)
    cycle = rules.ensure_cycle(key="1402-06")
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    objection.refresh_from_db()

    # When an officer accepts it from a day of that closed cycle
    with pytest.raises(ValidationError) as refused:
        decisions.accept_objection(
            objection=objection,
            new_decile=2,
            effective_from=dt.date(2023, 9, 1),
            reason="گواهی پزشکی دیده شد",
            decided_by=officer,
        )

    # Then it is refused and nothing changes
    assert refused.value.error_dict["new_decile_from"][0].code == "decision_in_closed_cycle"
    objection.refresh_from_db()
    assert objection.status == "open"
