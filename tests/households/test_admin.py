import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from approvals.models import ChangeRequest, RequestStatus
from households import approvals as four_eyes
from households.models import BankCard, DecileAssignment, DecileSource, Household, ImportReport
from settlements.models import Cycle, CycleStatus
from settlements.services import rules
from tests.households.factories import (
    HEADER,
    BankCardFactory,
    decide_in_admin,
    make_household,
    member,
    next_card_number,
    pending_request,
    row,
    second_officer,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:households_household_changelist"


def test_officer_finds_a_household_by_a_childs_national_code(admin_client):
    wanted = make_household(members=1)
    make_household()
    child = wanted.members.get(is_head=False)

    response = admin_client.get(reverse(CHANGELIST), {"q": child.national_code})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]


def test_officer_finds_a_household_by_the_heads_mobile_in_persian_digits(admin_client):
    wanted = make_household()
    mobile = wanted.members.get().mobile.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))

    response = admin_client.get(reverse(CHANGELIST), {"q": mobile})

    assert list(response.context["cl"].result_list) == [wanted]


def test_officer_filters_households_by_current_decile(admin_client):
    poor = make_household(decile=2)
    make_household(decile=7)

    response = admin_client.get(reverse(CHANGELIST), {"decile": "2"})

    assert list(response.context["cl"].result_list) == [poor]


def test_the_household_page_shows_members_history_and_masked_cards(admin_client):
    household = make_household(members=1)
    head = household.members.get(is_head=True)
    number = next_card_number()
    from households import services

    services.register_card(person=head, card_number=number)

    response = admin_client.get(reverse("admin:households_household_change", args=[household.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert head.national_code in content
    assert f"{number[:4]}-{number[4:6]}**-****-{number[-4:]}" in content
    assert number not in content


def _household_post(household: Household, **decile_row: str) -> dict[str, str]:
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
    data[f"deciles-{new}-household"] = str(household.pk)
    for key, value in decile_row.items():
        data[f"deciles-{new}-{key}"] = value
    return data


def household_requests(household: Household) -> list[ChangeRequest]:
    return list(ChangeRequest.objects.filter(target_id=str(household.pk)))


def test_an_officer_adds_a_decile_with_a_reason_and_is_recorded_as_its_author(
    admin_client, admin_user
):
    household = make_household(decile=6)

    response = admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        _household_post(
            household, decile="4", effective_from="2024-01-01", reason="از کار افتادگی"
        ),
    )
    assert response.status_code == 302
    assert household.deciles.count() == 1  # a request until a second officer approves it
    decide_in_admin(pending_request(four_eyes.DECILE))

    added = DecileAssignment.objects.get(household=household, decile=4)
    assert (added.source, added.created_by, added.effective_from, added.reason) == (
        DecileSource.OFFICER,
        admin_user,
        dt.date(2024, 1, 1),
        "از کار افتادگی",
    )
    assert added.approved_by == second_officer()
    assert household.deciles.count() == 2


def test_a_decile_change_without_a_reason_is_refused_next_to_the_field(admin_client):
    household = make_household(decile=6)

    response = admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        _household_post(household, decile="4", effective_from="2024-01-01", reason=""),
    )

    assert response.status_code == 200
    assert "دلیل تغییر دهک را بنویسید" in response.content.decode()
    assert household.deciles.count() == 1
    assert not household_requests(household)


def test_a_decile_change_dated_in_a_closed_cycle_is_refused_next_to_the_date(admin_client):
    household = make_household(decile=9)
    cycle = rules.ensure_cycle(key="1402-06")
    Cycle.objects.filter(pk=cycle.pk).update(status=CycleStatus.CLOSED)

    response = admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        _household_post(household, decile="2", effective_from="2023-09-01", reason="بازبینی"),
    )

    assert response.status_code == 200
    assert "دوره این تاریخ بسته شده است" in response.content.decode()
    assert household.deciles.count() == 1
    assert not household_requests(household)


def test_officer_uploads_a_registry_file_and_sees_the_rejected_rows(admin_client):
    content = (
        "\n".join([HEADER, row(household_id="U1"), member(household_id="U1", decile="13")]) + "\n"
    )
    upload = SimpleUploadedFile("households.csv", content.encode("utf-8"), content_type="text/csv")

    response = admin_client.post(reverse("admin:households_household_import"), {"file": upload})
    assert response.status_code == 200
    assert "پس از تأیید کارشناس دیگری" in response.content.decode()
    assert not Household.objects.filter(registry_code="U1").exists()  # until approved

    change = response.context["change"]
    decide_in_admin(change)
    change.refresh_from_db()

    assert change.status == RequestStatus.APPROVED
    assert Household.objects.filter(registry_code="U1").exists()
    assert (change.result["rows_applied"], change.result["rows_rejected"]) == (1, 1)
    report = admin_client.get(reverse("admin:households_household_import_report", args=[change.pk]))
    assert "decile_out_of_range" in report.content.decode()
    assert ImportReport.objects.get(change_request=change).rows == 1


def test_an_upload_that_is_not_csv_is_refused_with_a_message(admin_client):
    upload = SimpleUploadedFile(
        "households.xlsx", b"PK\x03\x04", content_type="application/octet-stream"
    )

    response = admin_client.post(reverse("admin:households_household_import"), {"file": upload})

    assert response.status_code == 200
    assert "فایل باید CSV باشد" in response.content.decode()


def test_officer_registers_a_card_for_a_person_and_a_bad_number_is_explained(admin_client):
    head = make_household().members.get(is_head=True)
    url = reverse("admin:households_person_change", args=[head.pk])
    base = {
        "first_name": head.first_name,
        "last_name": head.last_name,
        "birth_date": "1980-01-01",
        "gender": "F",
        "mobile": head.mobile,
        "cards-TOTAL_FORMS": "0",
        "cards-INITIAL_FORMS": "0",
        "cards-MIN_NUM_FORMS": "0",
        "cards-MAX_NUM_FORMS": "1000",
    }

    bad = admin_client.post(url, {**base, "new_card_number": "6037991234567890"})
    good = admin_client.post(url, {**base, "new_card_number": next_card_number()})

    assert bad.status_code == 200
    assert "شماره کارت معتبر نیست" in bad.content.decode()
    assert good.status_code == 302
    assert not BankCard.objects.filter(person=head).exists()  # until approved
    decide_in_admin(pending_request(four_eyes.CARD))
    assert BankCard.objects.filter(person=head).count() == 1


def test_admin_form_errors_are_announced_in_persian(admin_client):
    household = make_household(decile=6)

    response = admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        _household_post(household, decile="4", effective_from="2024-01-01", reason=""),
    )

    assert "لطفاً خطای زیر را برطرف کنید." in response.content.decode()


@pytest.mark.django_db
def test_officer_finds_cards_by_the_holders_code_mobile_or_whole_number_only(admin_client):
    holder = make_household(members=1).members.get(is_head=True)
    other = make_household().members.get(is_head=True)
    card = BankCardFactory(person=holder)
    BankCardFactory(person=other)
    url = reverse("admin:households_bankcard_changelist")

    def found(term: str) -> set[int]:
        return {row.pk for row in admin_client.get(url, {"q": term}).context["cl"].result_list}

    assert found(holder.national_code) == {card.pk}
    assert found(holder.mobile) == {card.pk}
    assert found(card.number) == {card.pk}
    assert found(holder.national_code[:5]) == set()  # a fragment scans nothing, finds nothing
