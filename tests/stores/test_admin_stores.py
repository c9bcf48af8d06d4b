"""The officer admin of stores: search, status actions with a reason, and the store form."""

import pytest
from django.urls import reverse

from stores.models import Store, StoreStatus
from tests.households.factories import place
from tests.lib.factories import PERSIAN
from tests.stores.factories import (
    STORES,
    VALID_SHEBA,
    admin_action,
    make_store,
    make_terminal,
    sheba_for,
    store_post,
)

pytestmark = pytest.mark.django_db


# --- Store search ---------------------------------------------------------------------------------


def test_officer_finds_a_store_by_a_terminal_id(admin_client):
    wanted = make_store()
    terminal = make_terminal(wanted)
    make_terminal(make_store())

    response = admin_client.get(reverse(STORES), {"q": terminal.terminal_id})

    assert list(response.context["cl"].result_list) == [wanted]


def test_officer_finds_a_store_by_the_owners_national_code_in_persian_digits(admin_client):
    wanted = make_store()
    make_store()

    response = admin_client.get(
        reverse(STORES), {"q": wanted.owner_national_code.translate(PERSIAN)}
    )

    assert list(response.context["cl"].result_list) == [wanted]


def test_officer_finds_a_store_by_a_sheba_typed_with_spaces(admin_client):
    wanted = make_store()
    make_store(sheba=sheba_for("0170000000123456789001"))

    response = admin_client.get(reverse(STORES), {"q": "IR82 0540 1026 8002 0817 9090 02"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_officer_finds_stores_by_a_fragment_of_the_name(admin_client):
    wanted = make_store(name="هایپر شهروند")
    make_store(name="سوپرمارکت پارس")

    response = admin_client.get(reverse(STORES), {"q": "شهروند"})

    assert list(response.context["cl"].result_list) == [wanted]


# --- Store actions --------------------------------------------------------------------------------


def test_suspending_a_store_without_a_reason_asks_for_one(admin_client):
    store = make_store()

    asked = admin_action(admin_client, "suspend_stores", store, index="0")
    empty = admin_action(admin_client, "suspend_stores", store, confirm="yes", reason="  ")

    assert asked.status_code == 200
    assert "admin/reason_confirmation.html" in [t.name for t in asked.templates]
    assert empty.status_code == 200
    assert empty.context["form"].errors["reason"] == ["دلیل تعلیق را بنویسید"]
    store.refresh_from_db()
    assert store.status == StoreStatus.CONNECTED


def test_suspending_a_store_with_a_reason_records_who_and_why(admin_client, admin_user):
    store = make_store()

    response = admin_action(
        admin_client, "suspend_stores", store, confirm="yes", reason="فروش خارج از سبد"
    )
    page = admin_client.get(reverse("admin:stores_store_change", args=[store.pk]))

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.status, store.status_reason, store.status_changed_by) == (
        StoreStatus.SUSPENDED,
        "فروش خارج از سبد",
        admin_user,
    )
    content = page.content.decode()
    assert "فروش خارج از سبد" in content
    assert admin_user.username in content


def test_connecting_a_pending_store(admin_client, admin_user):
    store = make_store(status=StoreStatus.PENDING)

    response = admin_action(admin_client, "connect_stores", store, index="0")

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.status, store.status_changed_by) == (StoreStatus.CONNECTED, admin_user)
    assert store.connected_at is not None


# --- Store form -----------------------------------------------------------------------------------


def test_an_officer_registers_a_store_and_its_identifiers_are_normalised(admin_client):
    response = admin_client.post(reverse("admin:stores_store_add"), store_post())

    assert response.status_code == 302
    store = Store.objects.get(licence_number="999001")
    assert (store.owner_national_code, store.sheba, store.mobile, store.status) == (
        "0012345679",
        VALID_SHEBA,
        "09120000001",
        StoreStatus.PENDING,
    )


def test_an_invalid_sheba_is_explained_next_to_the_field(admin_client):
    store = make_store()

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, sheba="IR820540102680020817909003"),
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sheba"] == ["شماره شبا معتبر نیست"]
    store.refresh_from_db()
    assert store.sheba == VALID_SHEBA


def test_a_city_outside_the_chosen_province_is_refused(admin_client):
    _, isfahan = place("اصفهان")

    response = admin_client.post(
        reverse("admin:stores_store_add"), store_post(city=str(isfahan.pk))
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["city"] == ["این شهر در استان انتخاب‌شده نیست"]
    assert not Store.objects.filter(licence_number="999001").exists()


def test_the_store_form_cannot_change_the_status(admin_client):
    store = make_store(status=StoreStatus.PENDING)

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, status="connected", status_reason="x"),
    )

    assert response.status_code == 302
    store.refresh_from_db()
    assert store.status == StoreStatus.PENDING


def test_status_actions_refuse_too_many_rows_at_once(admin_client, monkeypatch):
    monkeypatch.setattr("stores.admin.actions.MAX_ACTION_ROWS", 1)
    first, second = make_store(status=StoreStatus.PENDING), make_store(status=StoreStatus.PENDING)

    admin_action(admin_client, "connect_stores", first, second, index="0")

    assert not Store.objects.filter(status=StoreStatus.CONNECTED).exists()
