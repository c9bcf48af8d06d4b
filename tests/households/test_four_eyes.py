"""Four-eyes on the registry (issue 15): a decile set by hand, a person's mobile, a card attached
to a person and the two bulk uploads are requests made on the admin's pages; nothing of them is
in force until a second officer approves; the maker cannot approve their own; maker and checker
are recorded; a rejection (with its reason) applies nothing."""

import csv
import datetime as dt
import io
import json

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from approvals.models import ChangeRequest, RequestStatus
from households import approvals as four_eyes
from households.models import (
    BankCard,
    CardStatus,
    DecileAssignment,
    DecileSource,
    Household,
    Person,
)
from households.services import register_card
from kalabarg.lib.identifiers import card_hash
from settlements.models import Charge, Cycle, CycleStatus
from settlements.selectors import wallet_balance
from settlements.services import coverage
from tests.households.factories import (
    HEADER,
    decide_in_admin,
    make_household,
    member,
    next_card_number,
    next_mobile,
    next_national_code,
    officer_client,
    pending_request,
    row,
    second_officer,
)
from tests.settlements.factories import CREDIT, charge, this_month

pytestmark = pytest.mark.django_db

CARD_HEADER = "card_number,national_code,status"


def _household_page(household: Household) -> str:
    return reverse("admin:households_household_change", args=[household.pk])


def _person_page(person: Person) -> str:
    return reverse("admin:households_person_change", args=[person.pk])


def _ask_decile(client, household: Household, decile: int, effective_from: dt.date):  # type: ignore[no-untyped-def]
    """The officer adds a decile row on the household's page (the inline's POST)."""
    existing = list(household.deciles.all())
    members = list(household.members.all())
    data = {
        "province": str(household.province_id),
        "city": str(household.city_id),
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": str(len(members)),
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
        "deciles-TOTAL_FORMS": str(len(existing) + 1),
        "deciles-INITIAL_FORMS": str(len(existing)),
        "deciles-MIN_NUM_FORMS": "0",
        "deciles-MAX_NUM_FORMS": "1000",
    }
    for index, person in enumerate(members):
        data[f"members-{index}-id"] = str(person.pk)
        data[f"members-{index}-household"] = str(household.pk)
    for index, assignment in enumerate(existing):
        data[f"deciles-{index}-id"] = str(assignment.pk)
        data[f"deciles-{index}-household"] = str(household.pk)
    new = len(existing)
    data.update(
        {
            f"deciles-{new}-household": str(household.pk),
            f"deciles-{new}-decile": str(decile),
            f"deciles-{new}-effective_from": effective_from.isoformat(),
            f"deciles-{new}-reason": "بازبینی میدانی",
        }
    )
    return client.post(_household_page(household), data)


def _save_person(client, person: Person, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "birth_date": "1980-01-01",
        "gender": "F",
        "mobile": person.mobile,
        "cards-TOTAL_FORMS": "0",
        "cards-INITIAL_FORMS": "0",
        "cards-MIN_NUM_FORMS": "0",
        "cards-MAX_NUM_FORMS": "1000",
        **fields,
    }
    return client.post(_person_page(person), data)


def _upload(client, url_name: str, content: str, name: str = "file.csv"):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")
    return client.post(reverse(url_name), {"file": upload})


def _refresh(change: ChangeRequest) -> ChangeRequest:
    change.refresh_from_db()
    return change


# --- A decile set by hand ------------------------------------------------------------------------


def test_a_decile_set_by_hand_waits_for_approval_and_the_household_page_shows_it(admin_client):
    household = make_household(decile=6)

    response = _ask_decile(admin_client, household, 4, dt.date(2024, 1, 1))

    assert response.status_code == 302
    assert not DecileAssignment.objects.filter(household=household, decile=4).exists()
    change = pending_request(four_eyes.DECILE)
    assert (change.target_id, change.payload) == (
        str(household.pk),
        {"decile": 4, "effective_from": "2024-01-01", "reason": "بازبینی میدانی"},
    )
    assert change.maker_reason == "بازبینی میدانی"
    page = admin_client.get(_household_page(household)).content.decode()
    assert "در انتظار تأیید است" in page and change.summary in page


def test_a_second_decile_request_for_the_household_is_refused_while_one_waits(admin_client):
    household = make_household(decile=6)
    _ask_decile(admin_client, household, 4, dt.date(2024, 1, 1))

    again = _ask_decile(admin_client, household, 5, dt.date(2024, 2, 1))

    assert again.status_code == 200
    assert "درخواست دیگری برای دهک این خانوار در انتظار تأیید است" in again.content.decode()
    assert ChangeRequest.objects.count() == 1


def test_the_maker_of_a_decile_request_cannot_approve_it(admin_client):
    household = make_household(decile=6)
    _ask_decile(admin_client, household, 4, dt.date(2024, 1, 1))
    change = pending_request(four_eyes.DECILE)

    admin_client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))

    assert _refresh(change).status == RequestStatus.PENDING
    assert household.deciles.count() == 1


def test_an_approved_decile_records_its_maker_and_its_approver(admin_client, admin_user):
    household = make_household(decile=6)
    _ask_decile(admin_client, household, 4, dt.date(2024, 1, 1))
    change = pending_request(four_eyes.DECILE)

    decide_in_admin(change)

    change = _refresh(change)
    added = DecileAssignment.objects.get(household=household, decile=4)
    assert (added.source, added.created_by, added.approved_by) == (
        DecileSource.OFFICER,
        admin_user,
        second_officer(),
    )
    assert (change.status, change.maker, change.checker) == (
        RequestStatus.APPROVED,
        admin_user,
        second_officer(),
    )
    assert change.result == {"decile_assignment": added.pk}
    assert (
        "در انتظار تأیید است" not in admin_client.get(_household_page(household)).content.decode()
    )


def test_a_rejected_decile_request_keeps_its_reason_and_writes_nothing(admin_client):
    household = make_household(decile=6)
    _ask_decile(admin_client, household, 4, dt.date(2024, 1, 1))
    change = pending_request(four_eyes.DECILE)

    decide_in_admin(change, reject="مدرکی پیوست نشده است")

    change = _refresh(change)
    assert (change.status, change.decision_reason) == (
        RequestStatus.REJECTED,
        "مدرکی پیوست نشده است",
    )
    assert household.deciles.count() == 1


def test_an_approved_decile_that_newly_covers_a_household_charges_this_cycle_once(
    admin_client, django_capture_on_commit_callbacks
):
    # Given a decile-9 household, not charged by this month's run
    household = make_household(decile=9)
    cycle = charge(this_month())
    _ask_decile(admin_client, household, 2, timezone.localdate())
    assert wallet_balance(household_id=household.pk) == 0  # the request charges nothing

    # When a second officer approves decile 2 from today (the on-commit work run)
    with django_capture_on_commit_callbacks(execute=True):
        decide_in_admin(pending_request(four_eyes.DECILE))

    # Then the household holds this cycle's credit, charged once
    charges = Charge.objects.filter(household=household, cycle=cycle)
    assert charges.count() == 1
    assert wallet_balance(household_id=household.pk) == CREDIT
    assert coverage.charge_late_entrants() == (0, 0)


def test_a_decile_request_whose_cycle_closed_before_approval_stays_pending(admin_client):
    household = make_household(decile=9)
    cycle = charge(this_month())
    _ask_decile(admin_client, household, 2, timezone.localdate())
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)
    change = pending_request(four_eyes.DECILE)

    answer = decide_in_admin(change)

    assert answer.status_code == 302
    assert _refresh(change).status == RequestStatus.PENDING
    assert not DecileAssignment.objects.filter(household=household, decile=2).exists()


# --- A person's mobile ----------------------------------------------------------------------------


def test_a_new_mobile_waits_for_approval_while_the_other_fields_save_at_once(admin_client):
    head = make_household().members.get(is_head=True)
    old, new = head.mobile, next_mobile()

    response = _save_person(admin_client, head, mobile=new, first_name="زهرا")

    assert response.status_code == 302
    head.refresh_from_db()
    assert (head.first_name, head.mobile) == ("زهرا", old)
    change = pending_request(four_eyes.MOBILE)
    assert (change.target_id, change.payload) == (str(head.pk), {"mobile": new})
    page = admin_client.get(_person_page(head)).content.decode()
    assert "در انتظار تأیید است" in page and change.summary in page


def test_the_admin_log_of_the_person_leaves_out_the_requested_mobile(admin_client):
    head = make_household().members.get(is_head=True)

    _save_person(admin_client, head, mobile=next_mobile(), first_name="زهرا")

    logged = [json.loads(entry.change_message) for entry in LogEntry.objects.all()]
    assert logged == [[{"changed": {"fields": ["نام"]}}]]  # the mobile is the request's record


def test_the_maker_cannot_approve_their_own_mobile_request(admin_client):
    head = make_household().members.get(is_head=True)
    old = head.mobile
    _save_person(admin_client, head, mobile=next_mobile())
    change = pending_request(four_eyes.MOBILE)

    admin_client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))

    head.refresh_from_db()
    assert head.mobile == old and _refresh(change).status == RequestStatus.PENDING


def test_an_approved_mobile_is_in_force_with_maker_and_checker_recorded(admin_client, admin_user):
    head = make_household().members.get(is_head=True)
    new = next_mobile()
    _save_person(admin_client, head, mobile=new)

    decide_in_admin(pending_request(four_eyes.MOBILE))

    head.refresh_from_db()
    change = ChangeRequest.objects.get(kind=four_eyes.MOBILE)
    assert head.mobile == new
    assert (change.status, change.maker, change.checker) == (
        RequestStatus.APPROVED,
        admin_user,
        second_officer(),
    )


def test_a_rejected_mobile_request_leaves_the_mobile(admin_client):
    head = make_household().members.get(is_head=True)
    old = head.mobile
    _save_person(admin_client, head, mobile=next_mobile())

    decide_in_admin(pending_request(four_eyes.MOBILE), reject="شماره به نام سرپرست نیست")

    head.refresh_from_db()
    assert head.mobile == old


# --- A card attached to a person ------------------------------------------------------------------


def _row_text(change: ChangeRequest) -> str:
    """Every column of the request's row, as the database holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM approvals_changerequest WHERE id = %s", [change.pk])
        return " ".join(str(value) for value in cursor.fetchone())


def test_a_card_request_holds_the_hash_bin_and_last_four_never_the_number(admin_client):
    head = make_household().members.get(is_head=True)
    number = next_card_number()

    response = _save_person(admin_client, head, new_card_number=number)

    assert response.status_code == 302
    assert not BankCard.objects.exists()
    change = pending_request(four_eyes.CARD)
    assert change.payload == {
        "card_hash": card_hash(number, key=settings.CARD_HASH_KEY),
        "bin": number[:6],
        "last4": number[-4:],
    }
    assert number not in _row_text(change)
    checker_page = officer_client(second_officer()).get(
        reverse("admin:approvals_changerequest_change", args=[change.pk])
    )
    assert f"{number[:4]}-{number[4:6]}**-****-{number[-4:]}" in checker_page.content.decode()
    assert number not in checker_page.content.decode()


def test_an_approved_card_is_registered_to_the_person(admin_client, admin_user):
    head = make_household().members.get(is_head=True)
    number = next_card_number()
    _save_person(admin_client, head, new_card_number=number)
    change = pending_request(four_eyes.CARD)

    admin_client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    assert not BankCard.objects.exists()  # the maker's own approval is refused
    decide_in_admin(change)

    card = BankCard.objects.get()
    change = _refresh(change)
    assert (card.person, card.bin, card.last4) == (head, number[:6], number[-4:])
    assert card.card_hash == card_hash(number, key=settings.CARD_HASH_KEY)
    assert (change.result, change.maker, change.checker) == (
        {"card": card.pk},
        admin_user,
        second_officer(),
    )


def test_a_card_registered_to_someone_else_before_approval_is_refused_then(admin_client):
    head = make_household().members.get(is_head=True)
    other = make_household().members.get(is_head=True)
    number = next_card_number()
    _save_person(admin_client, head, new_card_number=number)
    register_card(person=other, card_number=number)  # the bank's file got there first
    change = pending_request(four_eyes.CARD)

    decide_in_admin(change)

    assert _refresh(change).status == RequestStatus.PENDING
    assert BankCard.objects.get().person == other


def test_a_card_already_the_persons_own_is_refused_on_the_page(admin_client):
    head = make_household().members.get(is_head=True)
    number = next_card_number()
    register_card(person=head, card_number=number)

    response = _save_person(admin_client, head, new_card_number=number)

    assert response.status_code == 200
    assert "این کارت پیش‌تر برای همین فرد ثبت شده است" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_a_rejected_card_request_registers_nothing(admin_client):
    head = make_household().members.get(is_head=True)
    _save_person(admin_client, head, new_card_number=next_card_number())

    decide_in_admin(pending_request(four_eyes.CARD), reject="کارت به نام دیگری است")

    assert not BankCard.objects.exists()


# --- The registry's household file ----------------------------------------------------------------


def _registry_file(code: str = "F1") -> str:
    lines = [HEADER, row(household_id=code), member(household_id=code, decile="13")]
    return "\n".join(lines) + "\n"


def test_an_uploaded_registry_file_waits_for_approval_with_its_text(admin_client):
    content = _registry_file()

    response = _upload(admin_client, "admin:households_household_import", content, "reg.csv")

    assert response.status_code == 200
    assert "پس از تأیید کارشناس دیگری اعمال می‌شود" in response.content.decode()
    assert not Household.objects.filter(registry_code="F1").exists()
    change = pending_request(four_eyes.REGISTRY_UPLOAD)
    assert (change.attachment_name, change.attachment) == ("reg.csv", content)


def test_a_registry_file_with_a_wrong_header_is_refused_and_makes_no_request(admin_client):
    response = _upload(
        admin_client, "admin:households_household_import", "national_code,name\n1,2\n"
    )

    assert "ستون‌های لازم در سرسطر فایل نیست" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_an_approved_registry_file_is_imported_with_its_counts_and_a_safe_report(admin_client):
    content = (
        "\n".join([HEADER, row(household_id="F2"), row(household_id="F3", national_code="=1+1")])
        + "\n"
    )
    _upload(admin_client, "admin:households_household_import", content)
    change = pending_request(four_eyes.REGISTRY_UPLOAD)

    admin_client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    assert not Household.objects.filter(registry_code="F2").exists()  # not by its maker
    decide_in_admin(change)

    change = _refresh(change)
    assert Household.objects.filter(registry_code="F2").exists()
    assert change.checker == second_officer()
    assert change.result == {
        "rows_read": 2,
        "rows_applied": 1,
        "rows_rejected": 1,
        "households_in_file": 1,
    }
    report = officer_client(second_officer()).get(
        reverse("admin:households_household_import_report", args=[change.pk])
    )
    cells = list(csv.reader(io.StringIO(report.content.decode())))
    assert cells[1][1] == "'=1+1"  # a formula from the file stays text in the spreadsheet
    page = officer_client(second_officer()).get(
        reverse("admin:approvals_changerequest_change", args=[change.pk])
    )
    assert reverse("admin:households_household_import_report", args=[change.pk]) in (
        page.content.decode()
    )


def test_a_rejected_registry_file_imports_nothing(admin_client):
    _upload(admin_client, "admin:households_household_import", _registry_file("F4"))

    decide_in_admin(pending_request(four_eyes.REGISTRY_UPLOAD), reject="فایل ماه پیش است")

    assert not Household.objects.filter(registry_code="F4").exists()


# --- The banks' card file -------------------------------------------------------------------------


def test_a_card_file_waits_for_approval_in_its_hashed_form_with_no_card_number(admin_client):
    head = make_household().members.get(is_head=True)
    good, bad_status = next_card_number(), next_card_number()
    content = f"{CARD_HEADER}\n{good},{head.national_code},active\n{bad_status},{head.national_code},lost\n"

    response = _upload(admin_client, "admin:households_bankcard_import", content, "bank.csv")

    page = response.content.decode()
    assert "status_invalid" in page  # a row that cannot be read is reported now
    assert "پس از تأیید کارشناس دیگری اعمال می‌شود" in page
    assert not BankCard.objects.exists()
    change = pending_request(four_eyes.CARD_UPLOAD)
    text = _row_text(change)
    assert good not in text and bad_status not in text
    assert card_hash(good, key=settings.CARD_HASH_KEY) in change.attachment
    assert change.payload["rows_read"] == 2 and change.payload["rows_kept"] == 1
    hashed_file = officer_client(second_officer()).get(
        reverse("admin:households_household_import_file", args=[change.pk])
    )
    assert good not in hashed_file.content.decode()


def test_a_card_file_with_no_readable_row_makes_no_request(admin_client):
    content = f"{CARD_HEADER}\n{next_card_number()},{next_national_code()},lost\n"

    response = _upload(admin_client, "admin:households_bankcard_import", content)

    assert "هیچ سطر درستی در این فایل نیست" in response.content.decode()
    assert not ChangeRequest.objects.exists()


def test_an_approved_card_file_is_imported_from_its_hashed_form_with_a_full_report(
    admin_client,
):
    old_owner = make_household().members.get(is_head=True)
    head = make_household().members.get(is_head=True)
    moved, closed = next_card_number(), next_card_number()
    register_card(person=old_owner, card_number=moved)
    content = (
        f"{CARD_HEADER}\n{moved},{head.national_code},active\n"
        f"{closed},{head.national_code},closed\n"
        f"{next_card_number()},{head.national_code},lost\n"
        f"{next_card_number()},{next_national_code()},active\n"
    )
    _upload(admin_client, "admin:households_bankcard_import", content)
    change = pending_request(four_eyes.CARD_UPLOAD)

    admin_client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))
    assert BankCard.objects.get(card_hash=card_hash(moved, key=settings.CARD_HASH_KEY)).person == (
        old_owner
    )  # not by its maker
    decide_in_admin(change)

    change = _refresh(change)
    by_hash = {card.card_hash: card for card in BankCard.objects.all()}
    assert by_hash[card_hash(moved, key=settings.CARD_HASH_KEY)].person == head
    assert by_hash[card_hash(closed, key=settings.CARD_HASH_KEY)].status == CardStatus.CLOSED
    assert change.result == {
        "rows_read": 4,
        "rows_rejected_at_request": 1,
        "rows_applied": 2,
        "rows_rejected": 1,
        "cards_moved": 1,
        "cards_changed": 2,
    }
    report = officer_client(second_officer()).get(
        reverse("admin:households_household_import_report", args=[change.pk])
    )
    codes = [cells[3] for cells in csv.reader(io.StringIO(report.content.decode()))][1:]
    # by line: the move (line 2), the row refused when the file was read (4), the unknown person (5)
    assert codes == ["card_moved", "status_invalid", "person_unknown"]


def test_a_rejected_card_file_imports_nothing(admin_client):
    head = make_household().members.get(is_head=True)
    content = f"{CARD_HEADER}\n{next_card_number()},{head.national_code},active\n"
    _upload(admin_client, "admin:households_bankcard_import", content)

    decide_in_admin(pending_request(four_eyes.CARD_UPLOAD), reject="فایل بانک نادرست است")

    assert not BankCard.objects.exists()
