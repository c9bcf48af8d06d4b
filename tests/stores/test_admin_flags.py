"""The officer admin of anomaly flags: the list (open first, filters, search), the evidence in
Persian, closing with a reason from the list or the flag's page, and the store page's section."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse

from stores.models import FlagKind, FlagStatus, StoreFlag
from stores.services import close_flag
from tests.conftest import OfficerClient
from tests.lib.factories import PERSIAN
from tests.stores.factories import StoreFlagFactory, admin_action, make_store

pytestmark = pytest.mark.django_db

FLAGS = "admin:stores_storeflag_changelist"


def flag_page(flag: StoreFlag) -> str:
    return reverse("admin:stores_storeflag_change", args=[flag.pk])


# --- The list ---------------------------------------------------------------------------------------


def test_the_list_shows_open_flags_first_then_the_newest(admin_client, admin_user):
    old_open = StoreFlagFactory()
    closed = StoreFlagFactory()
    new_open = StoreFlagFactory(kind=FlagKind.FEW_CARDS)
    close_flag(flag=closed, by=admin_user, reason="بررسی شد")

    response = admin_client.get(reverse(FLAGS))

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [new_open, old_open, closed]


@pytest.mark.parametrize(
    "query",
    [
        {"kind__exact": FlagKind.NIGHT_SALES},
        {"status__exact": FlagStatus.OPEN},
        {"store__province__id__exact": "1"},
        {"q": "نمونه"},
    ],
)
def test_the_lists_filters_and_search_answer(admin_client, query):
    StoreFlagFactory()

    response = admin_client.get(reverse(FLAGS), query)

    assert response.status_code == 200


def test_the_kind_filter_keeps_only_that_kind(admin_client):
    StoreFlagFactory(kind=FlagKind.NIGHT_SALES)
    wanted = StoreFlagFactory(kind=FlagKind.CARD_REPEATED, evidence={"purchases": 7})

    response = admin_client.get(reverse(FLAGS), {"kind__exact": FlagKind.CARD_REPEATED})

    assert list(response.context["cl"].result_list) == [wanted]


def test_the_province_filter_keeps_that_provinces_stores(admin_client):
    StoreFlagFactory(store=make_store())
    wanted = StoreFlagFactory(store=make_store(province_name="فارس"))

    response = admin_client.get(
        reverse(FLAGS), {"store__province__id__exact": str(wanted.store.province_id)}
    )

    assert list(response.context["cl"].result_list) == [wanted]


def test_an_officer_finds_a_flag_by_the_stores_licence_in_persian_digits(admin_client):
    wanted = StoreFlagFactory(store=make_store(licence_number="7700123"))
    StoreFlagFactory()

    response = admin_client.get(reverse(FLAGS), {"q": "7700123".translate(PERSIAN)})

    assert list(response.context["cl"].result_list) == [wanted]


def test_an_officer_finds_a_flag_by_a_fragment_of_the_stores_name(admin_client):
    wanted = StoreFlagFactory(store=make_store(name="هایپر شهروند"))
    StoreFlagFactory(store=make_store(name="سوپرمارکت پارس"))

    response = admin_client.get(reverse(FLAGS), {"q": "شهروند"})

    assert list(response.context["cl"].result_list) == [wanted]


def test_flags_are_never_added_or_deleted_in_the_admin(admin_client):
    flag = StoreFlagFactory()

    added = admin_client.get(reverse("admin:stores_storeflag_add"))
    deleted = admin_client.get(reverse("admin:stores_storeflag_delete", args=[flag.pk]))

    assert (added.status_code, deleted.status_code) == (403, 403)


# --- A flag's page -----------------------------------------------------------------------------------


def test_a_flags_page_shows_the_evidence_in_persian(admin_client):
    flag = StoreFlagFactory(
        kind=FlagKind.BASKET_ABOVE_PROVINCE,
        evidence={
            "purchases": 25,
            "store_average_rial": 3_000_000,
            "province_average_rial": 500_000,
            "province_purchases": 1_200,
            "ratio_percent": 600,
            "factor": 3,
        },
    )

    page = admin_client.get(flag_page(flag)).content.decode()

    assert "میانگین هر خرید در این فروشگاه" in page
    assert "۳٬۰۰۰٬۰۰۰ ریال" in page
    assert "۵۰۰٬۰۰۰ ریال" in page
    assert "۶۰۰٪" in page
    assert "۱٬۲۰۰" in page


def test_a_card_flags_page_shows_the_card_masked_and_links_to_the_payer(admin_client):
    flag = StoreFlagFactory(
        kind=FlagKind.CARD_REPEATED,
        evidence={
            "day": "2024-05-14",
            "purchases": 7,
            "card_bin": "603799",
            "card_last4": "1234",
            "payer_id": 42,
            "card_days": 1,
            "threshold": 5,
        },
    )

    page = admin_client.get(flag_page(flag)).content.decode()

    assert "۶۰۳۷۹۹…۱۲۳۴" in page
    assert "۲۵ اردیبهشت ۱۴۰۳" in page
    assert reverse("admin:households_person_change", args=[42]) in page


def test_closing_a_flag_on_its_page_needs_a_reason(admin_client):
    flag = StoreFlagFactory()

    response = admin_client.post(flag_page(flag), {"close_reason": "  "})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["close_reason"] == [
        "دلیل بستن هشدار را بنویسید"
    ]
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_closing_a_flag_on_its_page_records_the_officer_and_the_reason(admin_client, admin_user):
    flag = StoreFlagFactory()

    response = admin_client.post(flag_page(flag), {"close_reason": "فروشگاه شبانه‌روزی است"})

    assert response.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.closed_by, flag.close_reason) == (
        FlagStatus.CLOSED,
        admin_user,
        "فروشگاه شبانه‌روزی است",
    )


def test_a_closed_flags_page_is_read_only_and_shows_who_closed_it(admin_client, admin_user):
    flag = StoreFlagFactory()
    close_flag(flag=flag, by=admin_user, reason="بررسی شد")

    response = admin_client.get(flag_page(flag))
    again = admin_client.post(flag_page(flag), {"close_reason": "دوباره"})

    assert response.context["has_change_permission"] is False
    assert "بررسی شد" in response.content.decode()
    assert again.status_code == 403


# --- Closing from the list ---------------------------------------------------------------------------


def test_closing_flags_from_the_list_without_a_reason_asks_for_one(admin_client):
    flag = StoreFlagFactory()

    asked = admin_action(admin_client, "close_flags", flag, url=FLAGS, index="0")
    empty = admin_action(admin_client, "close_flags", flag, url=FLAGS, confirm="yes", reason=" ")

    assert "admin/reason_confirmation.html" in [t.name for t in asked.templates]
    assert empty.context["form"].errors["reason"] == ["دلیل بستن هشدار را بنویسید"]
    flag.refresh_from_db()
    assert flag.status == FlagStatus.OPEN


def test_closing_flags_from_the_list_closes_the_open_ones_with_the_reason(admin_client, admin_user):
    first, second = StoreFlagFactory(), StoreFlagFactory()
    closed_before = StoreFlagFactory()
    close_flag(flag=closed_before, by=admin_user, reason="پیش‌تر")

    admin_action(
        admin_client,
        "close_flags",
        first,
        second,
        closed_before,
        url=FLAGS,
        confirm="yes",
        reason="خرید عمده مجاز",
    )

    reasons = dict(StoreFlag.objects.values_list("pk", "close_reason"))
    assert reasons == {
        first.pk: "خرید عمده مجاز",
        second.pk: "خرید عمده مجاز",
        closed_before.pk: "پیش‌تر",
    }
    assert not StoreFlag.objects.filter(status=FlagStatus.OPEN).exists()


def test_a_store_officer_may_close_a_flag():
    officer = get_user_model().objects.create_user("store-officer", is_staff=True)
    officer.groups.add(Group.objects.get(name="store_officer"))
    client = OfficerClient()
    client.force_login(officer)
    flag = StoreFlagFactory()

    admin_action(client, "close_flags", flag, url=FLAGS, confirm="yes", reason="بررسی شد")

    flag.refresh_from_db()
    assert (flag.status, flag.closed_by) == (FlagStatus.CLOSED, officer)


# --- The store's page -----------------------------------------------------------------------------


def test_the_stores_page_lists_its_flags_open_first_with_links(admin_client, admin_user):
    store = make_store()
    closed = StoreFlagFactory(store=store, kind=FlagKind.FEW_CARDS, evidence={"share_percent": 80})
    close_flag(flag=closed, by=admin_user, reason="مشتریان ثابت")
    open_flag = StoreFlagFactory(store=store)
    other_stores = StoreFlagFactory()

    page = admin_client.get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()

    assert flag_page(open_flag) in page and flag_page(closed) in page
    assert page.index(flag_page(open_flag)) < page.index(flag_page(closed))
    assert "مشتریان ثابت" in page
    assert flag_page(other_stores) not in page
