"""The officer admin of terminals: added on the store page, found, suspended and activated."""

import pytest
from django.urls import reverse

from stores.models import Store, StoreStatus, Terminal
from tests.lib.factories import PERSIAN
from tests.stores.factories import (
    admin_action,
    make_store,
    make_terminal,
    next_terminal_id,
    store_post,
)

pytestmark = pytest.mark.django_db


def _with_new_terminal(store: Store, **terminal: str) -> dict[str, str]:
    data = store_post(store)
    new = int(data["terminals-TOTAL_FORMS"])
    data["terminals-TOTAL_FORMS"] = str(new + 1)
    data[f"terminals-{new}-store"] = str(store.pk)
    for key, value in terminal.items():
        data[f"terminals-{new}-{key}"] = value
    return data


def test_a_terminal_with_a_seven_digit_id_is_refused(admin_client):
    store = make_store()

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        _with_new_terminal(store, terminal_id="1234567", psp_name="سداد"),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[-1].errors["terminal_id"] == ["شناسه پایانه باید ۸ رقم باشد"]
    assert not store.terminals.exists()


def test_a_terminal_id_already_in_use_is_refused(admin_client):
    taken = make_terminal()
    store = make_store()

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        _with_new_terminal(store, terminal_id=taken.terminal_id, psp_name="سداد"),
    )

    assert response.status_code == 200
    formset = response.context["inline_admin_formsets"][0].formset
    assert formset.forms[-1].errors["terminal_id"] == ["پایانه‌ای با این شناسه ثبت شده است"]


def test_an_officer_adds_a_terminal_with_persian_digits(admin_client):
    store = make_store()
    terminal_id = next_terminal_id()

    response = admin_client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        _with_new_terminal(store, terminal_id=terminal_id.translate(PERSIAN), psp_name=" سداد "),
    )

    assert response.status_code == 302
    terminal = Terminal.objects.get(store=store)
    assert (terminal.terminal_id, terminal.psp_name, terminal.api_key_hash) == (
        terminal_id,
        "سداد",
        "",
    )


TERMINALS = "admin:stores_terminal_changelist"


def test_officer_finds_a_terminal_by_id_or_store_name(admin_client):
    wanted = make_terminal(make_store(name="هایپر شهروند"))
    other = make_terminal(make_store(name="سوپرمارکت پارس"))

    by_id = admin_client.get(reverse(TERMINALS), {"q": other.terminal_id.translate(PERSIAN)})
    by_name = admin_client.get(reverse(TERMINALS), {"q": "شهروند"})

    assert list(by_id.context["cl"].result_list) == [other]
    assert list(by_name.context["cl"].result_list) == [wanted]


def test_suspending_a_terminal_asks_for_a_reason_and_activating_clears_it(admin_client):
    terminal = make_terminal()

    asked = admin_action(admin_client, "suspend_terminals", terminal, url=TERMINALS, index="0")
    admin_action(
        admin_client, "suspend_terminals", terminal, url=TERMINALS, confirm="yes", reason="سرقت"
    )
    terminal.refresh_from_db()
    suspended = (terminal.status, terminal.status_reason)
    admin_action(admin_client, "activate_terminals", terminal, url=TERMINALS, index="0")
    terminal.refresh_from_db()

    assert asked.status_code == 200
    assert suspended == ("suspended", "سرقت")
    assert (terminal.status, terminal.status_reason) == ("active", "")


def test_the_store_and_terminal_pages_open(admin_client):
    terminal = make_terminal(make_store(status=StoreStatus.SUSPENDED))

    store_page = admin_client.get(reverse("admin:stores_store_change", args=[terminal.store_id]))
    terminal_page = admin_client.get(reverse("admin:stores_terminal_change", args=[terminal.pk]))

    assert store_page.status_code == terminal_page.status_code == 200
    assert terminal.terminal_id in store_page.content.decode()
