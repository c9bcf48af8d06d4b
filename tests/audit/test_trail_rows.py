"""Every audited model: a change leaves a trail row with the old value, the new value and who
made it (an officer through the admin, an import, raw SQL). The triggers are PostgreSQL's."""

import datetime as dt

import pytest
from django.db import connection
from django.urls import reverse

from households.models import BankCard, DecileAssignment, Objection
from households.objections import file_objection
from households.services import register_card
from notifications.models import SmsTemplate
from stores.models import BasketItem, ItemPrice
from tests.audit.factories import (
    approve_in_admin,
    events_of,
    household_post,
    item_post,
    last_update,
    phase_post,
)
from tests.households.factories import CityFactory, make_household, next_card_number
from tests.settlements.factories import seeded_phases
from tests.stores.factories import (
    admin_action,
    make_store,
    make_terminal,
    sheba_for,
    store_post,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

OFFICER = "admin"  # the admin_user fixture's username


def _by_officer(event, username: str = OFFICER) -> bool:
    return (event.pgh_context or {}).get("username") == username


def test_an_officer_moving_a_household_to_another_city_leaves_the_old_and_new_city(
    admin_client,
):
    household = make_household()
    old_city = household.city_id
    new_city = CityFactory(province=household.province, name="شهر آزمایشی")

    response = admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        {**household_post(household), "city": str(new_city.pk)},
    )

    assert response.status_code == 302
    event = last_update(household)
    assert event.pgh_previous == {"city_id": old_city}
    assert event.city_id == new_city.pk
    assert _by_officer(event)
    assert event.pgh_context["url"] == f"/admin/households/household/{household.pk}/change/"


def test_an_officer_changing_a_mobile_leaves_the_old_and_new_mobile(admin_client):
    head = make_household().members.get(is_head=True)
    old_mobile = head.mobile

    response = admin_client.post(
        reverse("admin:households_person_change", args=[head.pk]),
        {
            "first_name": head.first_name,
            "last_name": head.last_name,
            "birth_date": "",
            "gender": head.gender,
            "mobile": "09351234567",
            "cards-TOTAL_FORMS": "0",
            "cards-INITIAL_FORMS": "0",
            "cards-MIN_NUM_FORMS": "0",
            "cards-MAX_NUM_FORMS": "1000",
        },
    )

    assert response.status_code == 302
    approver = approve_in_admin("person_mobile")  # four-eyes: written by the approval
    event = last_update(head, "mobile")
    assert event.pgh_previous["mobile"] == old_mobile
    assert event.mobile == "09351234567"
    assert _by_officer(event, approver)


def test_an_officer_adding_a_decile_is_recorded_with_its_values_and_author(admin_client):
    household = make_household(decile=6)

    admin_client.post(
        reverse("admin:households_household_change", args=[household.pk]),
        household_post(household, decile="4", effective_from="2024-01-01", reason="بیماری"),
    )
    approver = approve_in_admin("decile_by_hand")  # four-eyes: written by the approval

    added = DecileAssignment.objects.get(household=household, decile=4)
    [event] = events_of(added, "insert")
    assert (event.decile, event.effective_from, event.reason) == (4, dt.date(2024, 1, 1), "بیماری")
    assert _by_officer(event, approver)
    assert event.created_by_id == added.created_by_id and added.created_by.username == OFFICER


def test_a_raw_sql_update_of_a_decile_is_recorded_with_no_author():
    household = make_household(decile=6)
    assignment = household.deciles.get()

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE households_decileassignment SET decile = 2 WHERE id = %s", [assignment.pk]
        )

    event = last_update(assignment)
    assert event.pgh_previous == {"decile": 6}
    assert event.decile == 2
    assert event.pgh_context is None


def test_closing_a_card_records_the_old_and_new_status_but_never_its_hash(admin_client):
    head = make_household().members.get(is_head=True)
    card = register_card(person=head, card_number=next_card_number())

    with connection.cursor() as cursor:
        cursor.execute("UPDATE households_bankcard SET status = 'closed' WHERE id = %s", [card.pk])

    event = last_update(card)
    assert (event.pgh_previous, event.status) == ({"status": "active"}, "closed")
    assert not hasattr(event, "card_hash")
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(e)::text FROM audit_bankcardevent e")
        rows = " ".join(row[0] for row in cursor.fetchall())
    assert card.card_hash not in rows


def test_an_officer_rejecting_an_objection_leaves_the_old_and_new_status(admin_client):
    head = make_household(decile=6).members.get(is_head=True)
    objection = file_objection(person=head, category="other", description="درآمد کم شد")

    admin_client.post(
        reverse("admin:households_objection_change", args=[objection.pk]),
        {"decision": "reject", "reason": "اطلاعات درست است"},
    )

    objection.refresh_from_db()
    assert objection.status == "rejected"
    event = last_update(objection)
    assert event.pgh_previous["status"] == "open"
    assert (event.status, event.decision_reason) == ("rejected", "اطلاعات درست است")
    assert _by_officer(event)
    assert events_of(objection, "insert")  # the household's filing is on the trail too
    assert isinstance(objection, Objection)


def test_an_officer_renaming_a_basket_item_leaves_the_old_and_new_name(admin_client):
    item = BasketItem.objects.get(code="rice")

    response = admin_client.post(
        reverse("admin:stores_basketitem_change", args=[item.pk]),
        item_post(item, name="برنج ایرانی"),
    )

    assert response.status_code == 302
    event = last_update(item)
    assert (event.pgh_previous["name"], event.name) == (item.name, "برنج ایرانی")
    assert _by_officer(event)


def test_an_officer_adding_a_price_is_recorded_with_the_price_and_author(admin_client):
    item = BasketItem.objects.get(code="rice")

    admin_client.post(
        reverse("admin:stores_itemprice_add"),
        {
            "item": str(item.pk),
            "kind": "base",
            "effective_from_0": "2025-02-01",
            "effective_from_1": "00:00",
            "reason": "قیمت مصوب",
            "price_rial": "250,000",
        },
    )
    approver = approve_in_admin("item_price")  # four-eyes: written by the approval

    price = ItemPrice.objects.get(item=item)
    [event] = events_of(price, "insert")
    assert (event.price_rial, event.reason) == (250_000, "قیمت مصوب")
    assert _by_officer(event, approver)


def test_an_officer_changing_a_stores_sheba_leaves_the_old_and_new_sheba(admin_client):
    store = make_store()
    old_sheba, new_sheba = store.sheba, sheba_for("0170000000123456789001")

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        {**store_post(store, sheba=new_sheba), "sheba_reason": "حساب تازه مالک"},
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    approver = approve_in_admin("store_sheba")  # four-eyes: written by the approval
    event = last_update(store, "sheba")
    assert (event.pgh_previous["sheba"], event.sheba) == (old_sheba, new_sheba)
    assert _by_officer(event, approver)


def test_an_officer_suspending_a_terminal_leaves_the_old_and_new_status(admin_client):
    terminal = make_terminal()

    admin_action(
        admin_client,
        "suspend_terminals",
        terminal,
        url="admin:stores_terminal_changelist",
        confirm="yes",
        reason="سرقت",
    )

    event = last_update(terminal)
    assert event.pgh_previous == {"status": "active", "status_reason": ""}
    assert (event.status, event.status_reason) == ("suspended", "سرقت")
    assert _by_officer(event)


def test_an_officer_editing_a_phase_and_a_band_leaves_old_and_new_values(admin_client):
    _, phase = seeded_phases()
    band = phase.bands.order_by("min_decile").first()
    assert band is not None

    response = admin_client.post(
        reverse("admin:settlements_phase_change", args=[phase.pk]),
        phase_post(
            phase,
            name="مرحله دوم (بازبینی)",
            band_changes={0: {"credit_per_cycle_rial": "2500000"}},
        )
        | {"reason": "مصوبه هیئت وزیران"},
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    approver = approve_in_admin("phase")  # four-eyes: written by the approval
    phase_event = last_update(phase)
    assert (phase_event.pgh_previous["name"], phase_event.name) == (
        phase.name,
        "مرحله دوم (بازبینی)",
    )
    # An approved phase replaces its bands: the old band's delete keeps its values, the new
    # band's insert holds the new ones.
    [removed] = events_of(band, "delete", pk=band.pk)
    assert removed.credit_per_cycle_rial == band.credit_per_cycle_rial
    new_band = phase.bands.get(min_decile=band.min_decile)
    [added] = events_of(new_band, "insert")
    assert added.credit_per_cycle_rial == 2_500_000
    assert _by_officer(phase_event, approver)
    assert _by_officer(removed, approver) and _by_officer(added, approver)


def test_an_officer_editing_an_sms_template_leaves_the_old_and_new_text(admin_client):
    template = SmsTemplate.objects.get(kind="login_code")
    old_body = template.body

    response = admin_client.post(
        reverse("admin:notifications_smstemplate_change", args=[template.pk]),
        {"body": "کد ورود شما: {code}"},
    )

    assert response.status_code == 302
    event = last_update(template)
    assert (event.pgh_previous["body"], event.body) == (old_body, "کد ورود شما: {code}")
    assert _by_officer(event)


def test_a_save_that_changes_nothing_leaves_no_update_row():
    card_holder = make_household().members.get(is_head=True)
    card = register_card(person=card_holder, card_number=next_card_number())

    BankCard.objects.get(pk=card.pk).save()

    assert events_of(card, "update") == []


def test_a_deleted_household_leaves_its_last_values_and_its_members_and_deciles():
    household = make_household()
    head = household.members.get()
    assignment = household.deciles.get()
    ids = (household.pk, head.pk, assignment.pk)

    household.delete()

    [gone] = events_of(household, "delete", pk=ids[0])
    assert gone.registry_code == household.registry_code
    assert [e.mobile for e in events_of(head, "delete", pk=ids[1])] == [head.mobile]
    assert [e.decile for e in events_of(assignment, "delete", pk=ids[2])] == [assignment.decile]
