"""Four-eyes in the stores admin (issue 15): a new item price, a store's Sheba and a terminal's key
are requests until a second officer approves them; the maker cannot; a rejection applies nothing."""

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from approvals import services as approvals
from approvals.models import ChangeRequest, RequestStatus
from stores import services
from stores.models import BasketItem, ItemPrice, PriceKind, Store, StoreStatus
from tests.approvals.factories import checker, officer_with
from tests.conftest import OfficerClient
from tests.stores.factories import (
    LONG_AGO,
    admin_action,
    make_store,
    make_terminal_with_key,
    sheba_for,
    store_post,
)

pytestmark = pytest.mark.django_db

BASKET_URL = "/api/v1/pos/basket/"
TERMINALS = "admin:stores_terminal_changelist"
NEW_SHEBA = sheba_for("0170000000123456789001")
ASKERS = ("approvals.add_changerequest", "approvals.view_changerequest")


def _logged_in(user: Any) -> OfficerClient:
    client = OfficerClient()
    client.force_login(user)
    return client


def _request_page(change: ChangeRequest) -> str:
    return reverse("admin:approvals_changerequest_change", args=[change.pk])


def _approve(client: OfficerClient, change: ChangeRequest) -> Any:
    return client.post(reverse("admin:approvals_changerequest_approve", args=[change.pk]))


def _reject(client: OfficerClient, change: ChangeRequest, reason: str) -> Any:
    return client.post(
        reverse("admin:approvals_changerequest_reject", args=[change.pk]), {"reason": reason}
    )


# --- Item prices ----------------------------------------------------------------------------------


def _price_maker(username: str = "maker", *extra: str) -> Any:
    return officer_with(
        username,
        "stores.view_basketitem",
        "stores.change_basketitem",
        "stores.view_itemprice",
        "stores.add_itemprice",
        *ASKERS,
        *extra,
    )


def _rice_at(base: int, current: int) -> BasketItem:
    rice = BasketItem.objects.get(code="rice")
    for kind, price in ((PriceKind.BASE, base), (PriceKind.CURRENT, current)):
        services.set_price(
            item=rice,
            kind=kind,
            price_rial=price,
            effective_from=LONG_AGO,
            reason="نرخ آغاز",
            created_by=None,
        )
    return rice


def _basket_price(pos: APIClient, code: str = "rice") -> int:
    [row] = [row for row in pos.get(BASKET_URL).json() if row["code"] == code]
    return row["current_price_rial"]


def _pos() -> APIClient:
    _, key = make_terminal_with_key()
    pos = APIClient()
    pos.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return pos


def _ask_for_price(
    client: OfficerClient, item: BasketItem, price: str, at: dt.datetime, kind: str = "current"
) -> Any:
    """The item page as a browser posts it, with one new price row from ``at``."""
    existing = list(item.prices.order_by("kind", "-effective_from"))
    local = timezone.localtime(at)
    new = len(existing)
    data = {
        "name": item.name,
        "unit": item.unit,
        "group": item.group,
        "is_active": "on",
        "display_order": str(item.display_order),
        "prices-TOTAL_FORMS": str(new + 1),
        "prices-INITIAL_FORMS": str(new),
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
        f"prices-{new}-item": str(item.pk),
        f"prices-{new}-kind": kind,
        f"prices-{new}-price_rial": price,
        f"prices-{new}-effective_from_0": local.strftime("%Y-%m-%d"),
        f"prices-{new}-effective_from_1": local.strftime("%H:%M:%S"),
        f"prices-{new}-reason": "مصوبه ستاد تنظیم بازار",
    }
    for index, row in enumerate(existing):
        data[f"prices-{index}-id"] = str(row.pk)
        data[f"prices-{index}-item"] = str(item.pk)
    return client.post(reverse("admin:stores_basketitem_change", args=[item.pk]), data)


def test_the_pos_basket_keeps_the_old_price_until_a_second_officer_approves_the_new_one():
    rice = _rice_at(400_000, 500_000)
    pos = _pos()
    maker = _price_maker()
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)

    asked = _ask_for_price(_logged_in(maker), rice, "۶۵۰٬۰۰۰", an_hour_ago)

    assert asked.status_code == 302
    change = ChangeRequest.objects.get(kind="item_price", status=RequestStatus.PENDING)
    assert _basket_price(pos) == 500_000
    assert rice.prices.count() == 2

    approval = _approve(_logged_in(checker()), change)

    assert approval.status_code == 302
    assert _basket_price(pos) == 650_000
    new = rice.prices.get(price_rial=650_000)
    change.refresh_from_db()
    assert (change.status, change.maker) == (RequestStatus.APPROVED, maker)
    assert change.checker is not None and change.checker.username == "checker"
    assert new.created_by == maker
    # Nothing in force before approval: a moment that had passed becomes the approval's.
    assert new.effective_from >= change.made_at > an_hour_ago


def test_a_future_price_keeps_its_moment_after_approval():
    rice = _rice_at(400_000, 500_000)
    tomorrow = (timezone.now() + dt.timedelta(days=1)).replace(microsecond=0)
    _ask_for_price(_logged_in(_price_maker()), rice, "700000", tomorrow)

    approvals.approve_change(
        change_request_id=ChangeRequest.objects.get(kind="item_price").pk, checker=checker()
    )

    assert rice.prices.get(price_rial=700_000).effective_from == tomorrow


def test_the_item_page_and_the_request_page_show_the_price_waiting_from_what_to_what():
    rice = _rice_at(400_000, 500_000)
    maker = _price_maker()
    client = _logged_in(maker)
    _ask_for_price(client, rice, "650000", timezone.now() + dt.timedelta(minutes=5))
    change = ChangeRequest.objects.get(kind="item_price")

    item_page = client.get(reverse("admin:stores_basketitem_change", args=[rice.pk]))
    request_page = client.get(_request_page(change)).content.decode()

    assert _request_page(change) in item_page.content.decode()
    assert "۵۰۰٬۰۰۰ ریال" in request_page and "۶۵۰٬۰۰۰ ریال" in request_page
    assert "کارشناس دیگری باید آن را تأیید یا رد کند" in request_page


def test_the_maker_cannot_approve_their_own_price_even_as_a_checker():
    rice = _rice_at(400_000, 500_000)
    boss = _price_maker("boss", "approvals.approve_changerequest")
    client = _logged_in(boss)
    _ask_for_price(client, rice, "650000", timezone.now())
    change = ChangeRequest.objects.get(kind="item_price")

    _approve(client, change)
    with pytest.raises(ValidationError):
        approvals.approve_change(change_request_id=change.pk, checker=boss)

    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING
    assert not rice.prices.filter(price_rial=650_000).exists()


def test_a_rejected_price_is_never_in_force_and_keeps_the_reason():
    rice = _rice_at(400_000, 500_000)
    pos = _pos()
    _ask_for_price(_logged_in(_price_maker()), rice, "650000", timezone.now())
    change = ChangeRequest.objects.get(kind="item_price")

    _reject(_logged_in(checker()), change, "مصوبه هنوز ابلاغ نشده")

    change.refresh_from_db()
    assert (change.status, change.decision_reason) == (
        RequestStatus.REJECTED,
        "مصوبه هنوز ابلاغ نشده",
    )
    assert _basket_price(pos) == 500_000
    assert not ItemPrice.objects.filter(price_rial=650_000).exists()


def test_a_second_price_request_for_an_item_waits_for_the_first_to_be_decided():
    rice = _rice_at(400_000, 500_000)
    client = _logged_in(_price_maker())
    _ask_for_price(client, rice, "650000", timezone.now())

    again = _ask_for_price(client, rice, "660000", timezone.now(), kind="base")

    assert again.status_code == 200
    formset = again.context["inline_admin_formsets"][0].formset
    assert "در انتظار تأیید است" in str(formset.forms[-1].non_field_errors())
    assert ChangeRequest.objects.filter(kind="item_price").count() == 1


def test_the_base_and_current_price_asked_together_are_one_request_approved_together():
    rice = _rice_at(400_000, 500_000)
    existing = list(rice.prices.order_by("kind", "-effective_from"))
    soon = timezone.localtime(timezone.now() + dt.timedelta(minutes=5))
    data = {
        "name": rice.name,
        "unit": rice.unit,
        "group": rice.group,
        "is_active": "on",
        "display_order": str(rice.display_order),
        "prices-TOTAL_FORMS": "4",
        "prices-INITIAL_FORMS": "2",
        "prices-MIN_NUM_FORMS": "0",
        "prices-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(existing):
        data |= {f"prices-{index}-id": str(row.pk), f"prices-{index}-item": str(rice.pk)}
    for index, (kind, price) in ((2, ("base", "450000")), (3, ("current", "600000"))):
        data |= {
            f"prices-{index}-item": str(rice.pk),
            f"prices-{index}-kind": kind,
            f"prices-{index}-price_rial": price,
            f"prices-{index}-effective_from_0": soon.strftime("%Y-%m-%d"),
            f"prices-{index}-effective_from_1": soon.strftime("%H:%M:%S"),
            f"prices-{index}-reason": "نرخ تازه",
        }

    _logged_in(_price_maker()).post(reverse("admin:stores_basketitem_change", args=[rice.pk]), data)
    [change] = ChangeRequest.objects.filter(kind="item_price")
    approvals.approve_change(change_request_id=change.pk, checker=checker())

    assert sorted(rice.prices.values_list("price_rial", flat=True)) == [
        400_000,
        450_000,
        500_000,
        600_000,
    ]


# --- A store's Sheba ------------------------------------------------------------------------------


def _store_maker() -> Any:
    return officer_with("maker", "stores.view_store", "stores.change_store", *ASKERS)


def test_a_new_sheba_waits_for_approval_while_the_other_fields_save_at_once():
    store = make_store()
    old_sheba = store.sheba
    client = _logged_in(_store_maker())

    response = client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, sheba=NEW_SHEBA, address="خیابان ولیعصر", sheba_reason="حساب بانکی تازه"),
    )

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.address, store.sheba) == ("خیابان ولیعصر", old_sheba)
    change = ChangeRequest.objects.get(kind="store_sheba", status=RequestStatus.PENDING)
    assert change.maker_reason == "حساب بانکی تازه"
    page = client.get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()
    assert _request_page(change) in page

    _approve(_logged_in(checker()), change)

    store.refresh_from_db()
    change.refresh_from_db()
    assert store.sheba == NEW_SHEBA
    assert change.status == RequestStatus.APPROVED and change.checker is not None


def test_a_sheba_change_without_a_reason_is_refused_next_to_the_field():
    store = make_store()

    response = _logged_in(_store_maker()).post(
        reverse("admin:stores_store_change", args=[store.pk]), store_post(store, sheba=NEW_SHEBA)
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sheba_reason"] == [
        "دلیل تغییر شبا را بنویسید"
    ]
    assert not ChangeRequest.objects.exists()


def test_a_rejected_sheba_leaves_the_store_paid_to_its_own():
    store = make_store()
    old_sheba = store.sheba
    _logged_in(_store_maker()).post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, sheba=NEW_SHEBA, sheba_reason="درخواست مالک"),
    )
    change = ChangeRequest.objects.get(kind="store_sheba")

    _reject(_logged_in(checker()), change, "نامه بانک پیوست نیست")

    store.refresh_from_db()
    assert store.sheba == old_sheba
    change.refresh_from_db()
    assert change.status == RequestStatus.REJECTED


def test_the_maker_of_a_sheba_change_cannot_approve_it():
    store = make_store()
    maker = _store_maker()
    _logged_in(maker).post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, sheba=NEW_SHEBA, sheba_reason="درخواست مالک"),
    )
    change = ChangeRequest.objects.get(kind="store_sheba")

    with pytest.raises(ValidationError) as refused:
        approvals.approve_change(change_request_id=change.pk, checker=maker)

    assert refused.value.error_dict["checker"][0].code == "maker_cannot_check"
    store.refresh_from_db()
    assert store.sheba != NEW_SHEBA


def test_a_new_store_is_registered_with_its_sheba_but_pending_until_connected():
    maker = officer_with("maker", "stores.view_store", "stores.add_store", *ASKERS)

    response = _logged_in(maker).post(
        reverse("admin:stores_store_add"), store_post(sheba=NEW_SHEBA)
    )

    assert response.status_code == 302
    store = Store.objects.get(licence_number="999001")
    assert (store.sheba, store.status) == (NEW_SHEBA, StoreStatus.PENDING)
    assert not ChangeRequest.objects.exists()


# --- A terminal's API key -------------------------------------------------------------------------


def _ask_for_key(client: OfficerClient, terminal: Any) -> Any:
    return admin_action(
        client, "issue_api_key", terminal, url=TERMINALS, confirm="yes", reason="کلید لو رفته"
    )


def _key_maker() -> Any:
    return officer_with("maker", "stores.view_terminal", "stores.change_terminal", *ASKERS)


def test_a_new_key_exists_only_after_approval_and_is_shown_once_to_the_checker():
    terminal, old_key = make_terminal_with_key()
    old_hash = terminal.api_key_hash
    maker_client = _logged_in(_key_maker())

    _ask_for_key(maker_client, terminal)

    change = ChangeRequest.objects.get(kind="terminal_key", status=RequestStatus.PENDING)
    terminal.refresh_from_db()
    assert terminal.api_key_hash == old_hash
    assert services.terminal_for_key(key=old_key) == terminal
    page = maker_client.get(reverse("admin:stores_terminal_change", args=[terminal.pk]))
    assert _request_page(change) in page.content.decode()

    checker_client = _logged_in(checker())
    shown = _approve(checker_client, change)

    key = shown.content.decode().split('id="shown-once">')[1].split("<")[0]
    assert services.terminal_for_key(key=key) == terminal
    assert services.terminal_for_key(key=old_key) is None
    change.refresh_from_db()
    kept = " ".join(
        str(value) for value in (change.payload, change.result, change.summary, change.attachment)
    )
    assert key.partition(".")[2] not in kept
    assert key not in checker_client.get(_request_page(change)).content.decode()


def test_a_rejected_key_request_keeps_the_old_key_working():
    terminal, old_key = make_terminal_with_key()
    _ask_for_key(_logged_in(_key_maker()), terminal)
    change = ChangeRequest.objects.get(kind="terminal_key")

    _reject(_logged_in(checker()), change, "پذیرنده درخواستی نداده است")

    assert services.terminal_for_key(key=old_key) == terminal
    change.refresh_from_db()
    assert change.status == RequestStatus.REJECTED


def test_the_maker_of_a_key_request_cannot_approve_it():
    terminal, old_key = make_terminal_with_key()
    maker = officer_with(
        "boss",
        "stores.view_terminal",
        "stores.change_terminal",
        "approvals.approve_changerequest",
        *ASKERS,
    )
    client = _logged_in(maker)
    _ask_for_key(client, terminal)
    change = ChangeRequest.objects.get(kind="terminal_key")

    answer = _approve(client, change)

    assert "shown-once" not in answer.content.decode()
    change.refresh_from_db()
    assert change.status == RequestStatus.PENDING
    assert services.terminal_for_key(key=old_key) == terminal


def test_an_officer_who_may_only_view_sees_the_store_page_with_its_request_waiting():
    store = make_store()
    _logged_in(_store_maker()).post(
        reverse("admin:stores_store_change", args=[store.pk]),
        store_post(store, sheba=NEW_SHEBA, sheba_reason="درخواست مالک"),
    )
    viewer = officer_with("viewer", "stores.view_store")

    page = _logged_in(viewer).get(reverse("admin:stores_store_change", args=[store.pk]))

    assert page.status_code == 200
    assert "در انتظار تأیید" in page.content.decode()
