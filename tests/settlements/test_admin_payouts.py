"""The officers' side of store settlements: runs, settlements and payout files in the admin,
with data made by the real services (settle, approve, export, the bank's answers)."""

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from kalabarg.lib.persian import format_jalali_date, to_persian_digits
from settlements.admin import payout_display, payout_files
from settlements.models import (
    PayoutBatch,
    SettlementRun,
    SettlementRunStatus,
    SettlementStatus,
    StoreSettlement,
)
from settlements.services import payouts
from stores import services as store_services
from stores.models import Store
from tests.conftest import OfficerClient
from tests.households.factories import HouseholdFactory
from tests.settlements.factories import (
    admin_action,
    admin_messages,
    buy,
    charge,
    exported_settlements,
    owed_rial,
    settle,
    this_month,
)
from tests.stores.factories import make_store, make_terminal

pytestmark = pytest.mark.django_db

SETTLEMENTS = "admin:settlements_storesettlement_changelist"
FILES = "admin:settlements_payoutbatch_changelist"
RUNS = "admin:settlements_settlementrun_changelist"
HEADER = "reference,sheba,owner_name,amount_rial,description"


# --- Officers and data ---------------------------------------------------------------------------


def officer_in(role: str) -> Any:
    """A staff user in one role's group, logged in (password and second factor)."""
    user = get_user_model().objects.create_user(f"officer-{role}", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client = OfficerClient()
    client.force_login(user)
    client.user = user  # type: ignore[attr-defined]
    return client


@pytest.fixture
def finance() -> Any:
    return officer_in("finance_officer")


@pytest.fixture
def household():  # type: ignore[no-untyped-def]
    household = HouseholdFactory(decile=4)
    charge(this_month())
    return household


def sale_at(household: Any, store: Store, *, current: int = 300_000) -> int:
    """One purchase at ``store`` by the real checkout; what the programme owes the store for it."""
    cycle = charge(this_month())
    terminal = store.terminals.first() or make_terminal(store)
    return owed_rial(buy(household, cycle=cycle, base=100_000, current=current, terminal=terminal))


def listed(response: Any) -> set[int]:
    return {settlement.pk for settlement in response.context["cl"].result_list}


def export_to(tmp_path: Path, officer: Any) -> PayoutBatch:
    payouts.approve_settlements(officer=officer)
    return payouts.export_payouts(out=tmp_path / "payouts.csv", created_by=officer)


# --- The settlements list -----------------------------------------------------------------------


def test_the_status_filter_lists_only_settlements_of_that_status(household, finance):
    tehran, shiraz = make_store(), make_store(province_name="فارس")
    sale_at(household, tehran)
    sale_at(household, shiraz)
    run = settle()
    approved = StoreSettlement.objects.get(run=run, store=tehran)
    payouts.approve_settlements(officer=finance.user, settlement_ids=[approved.pk])

    drafts = finance.get(reverse(SETTLEMENTS), {"status__exact": "draft"})
    approved_only = finance.get(reverse(SETTLEMENTS), {"status__exact": "approved"})

    assert drafts.status_code == approved_only.status_code == 200
    assert listed(drafts) == {StoreSettlement.objects.get(store=shiraz).pk}
    assert listed(approved_only) == {approved.pk}


def test_the_province_filter_lists_only_that_provinces_stores(household, finance):
    tehran, shiraz = make_store(), make_store(province_name="فارس")
    sale_at(household, tehran)
    sale_at(household, shiraz)
    settle()

    response = finance.get(reverse(SETTLEMENTS), {"store__province__id__exact": shiraz.province_id})

    assert response.status_code == 200
    assert listed(response) == {StoreSettlement.objects.get(store=shiraz).pk}
    assert "فارس" in response.content.decode()


def test_a_stores_history_is_the_list_filtered_by_the_store_newest_first(household, finance):
    store, other = make_store(), make_store()
    sale_at(household, store)
    sale_at(household, other)
    first = settle(until=timezone.now())
    sale_at(household, store)
    second = settle()

    response = finance.get(reverse(SETTLEMENTS), {"store__id__exact": store.pk})

    ids = [s.pk for s in response.context["cl"].result_list]
    assert ids == [
        StoreSettlement.objects.get(run=second, store=store).pk,
        StoreSettlement.objects.get(run=first, store=store).pk,
    ]


def test_the_store_page_links_to_its_settlement_history():
    store = make_store()
    admin = OfficerClient()
    admin.force_login(get_user_model().objects.create_superuser("root"))

    content = admin.get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()

    assert f"{reverse(SETTLEMENTS)}?store__id__exact={store.pk}" in content
    assert "تسویه‌های این فروشگاه" in content


@pytest.mark.parametrize("typed", ["KB{:012d}", "kb {}", "KB{}"])
def test_searching_a_reference_finds_its_settlement(household, finance, typed):
    for store in (make_store(), make_store()):
        sale_at(household, store)
    settle()
    wanted = StoreSettlement.objects.order_by("pk").last()

    response = finance.get(reverse(SETTLEMENTS), {"q": to_persian_digits(typed.format(wanted.pk))})

    assert listed(response) == {wanted.pk}


def test_searching_a_licence_number_or_a_sheba_finds_the_stores_settlements(household, finance):
    store = make_store(
        licence_number="7788990011", sheba="IR062960000000100324200001", name="بقالی امید"
    )
    sale_at(household, store)
    sale_at(household, make_store())
    settle()
    mine = {StoreSettlement.objects.get(store=store).pk}

    by_licence = finance.get(reverse(SETTLEMENTS), {"q": "۷۷۸۸۹۹۰۰۱۱"})
    by_sheba = finance.get(reverse(SETTLEMENTS), {"q": "IR06 2960 0000 0010 0324 2000 01"})
    by_name = finance.get(reverse(SETTLEMENTS), {"q": "امید"})

    assert listed(by_licence) == listed(by_sheba) == listed(by_name) == mine


def test_the_date_filter_reads_jalali_days_and_says_when_it_cannot(household, finance):
    sale_at(household, make_store())
    settle()
    made_on = timezone.localdate(StoreSettlement.objects.get().created_at)
    day = format_jalali_date(made_on, with_month_name=False)
    next_day = format_jalali_date(made_on + dt.timedelta(days=1), with_month_name=False)

    on_the_day = finance.get(reverse(SETTLEMENTS), {"from": day, "to": day})
    later = finance.get(reverse(SETTLEMENTS), {"from": next_day})
    unreadable = finance.get(reverse(SETTLEMENTS), {"from": "۱۴۰۳/۱۳/۰۱"})

    assert len(listed(on_the_day)) == 1
    assert listed(later) == set()
    assert listed(unreadable) == set()
    assert "errornote" in unreadable.content.decode()


# --- A settlement's page ------------------------------------------------------------------------


def test_a_failed_payouts_page_shows_the_banks_reason_first(household, finance, tmp_path):
    store = make_store()
    sale_at(household, store)
    settle()
    export_to(tmp_path, finance.user)
    settlement = StoreSettlement.objects.get(store=store)
    payouts.import_payout_results(
        stream=io.StringIO(
            f"reference,status,bank_reference,reason\n{settlement.reference},failed,,حساب مسدود است\n"
        )
    )

    response = finance.get(
        reverse("admin:settlements_storesettlement_change", args=[settlement.pk])
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="failure-banner" role="alert"' in content
    assert content.index("حساب مسدود است") < content.index(settlement.sheba)


def test_a_settlements_page_shows_its_first_lines_and_links_to_the_stores_purchases(
    household, finance, monkeypatch
):
    store = make_store()
    for current in (200_000, 300_000, 400_000):
        sale_at(household, store, current=current)
    settle()
    settlement = StoreSettlement.objects.get(store=store)
    monkeypatch.setattr(payout_display, "LINES_SHOWN", 2)

    content = finance.get(
        reverse("admin:settlements_storesettlement_change", args=[settlement.pk])
    ).content.decode()

    assert "۲ ردیف نخست از ۳ ردیف" in content
    assert len(re.findall(r'href="/admin/stores/purchase/[0-9]+/change/"', content)) == 2
    assert f"{reverse('admin:stores_purchase_changelist')}?store={store.pk}" in content


# --- Approval and release ------------------------------------------------------------------------


def test_a_finance_officer_approves_selected_drafts_and_is_recorded(household, finance):
    chosen, left = make_store(), make_store()
    owed = sale_at(household, chosen)
    sale_at(household, left)
    settle()
    settlement = StoreSettlement.objects.get(store=chosen)

    response = admin_action(finance, SETTLEMENTS, "approve_selected", [settlement.pk])

    settlement.refresh_from_db()
    assert (settlement.status, settlement.approved_by) == (SettlementStatus.APPROVED, finance.user)
    assert StoreSettlement.objects.get(store=left).status == SettlementStatus.DRAFT
    text = " ".join(admin_messages(response))
    assert "۱ تسویه برای پرداخت تأیید شد" in text
    assert f"{to_persian_digits(f'{owed // 10:,}'.replace(',', '٬'))} تومان" in text


@pytest.mark.parametrize("role", ["welfare_officer", "store_officer", "auditor"])
def test_an_officer_without_the_approval_permission_cannot_approve(household, role):
    sale_at(household, make_store())
    settle()
    settlement = StoreSettlement.objects.get()
    officer = officer_in(role)

    response = admin_action(officer, SETTLEMENTS, "approve_selected", [settlement.pk])

    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.DRAFT
    if role != "auditor":  # may not even see the list
        assert response.status_code == 403
    else:  # sees the list, but is offered no such action
        listing = officer.get(reverse(SETTLEMENTS))
        assert listing.status_code == 200
        assert 'value="approve_selected"' not in listing.content.decode()


def test_the_supervisor_approves_every_draft_at_once(household):
    for store in (make_store(), make_store()):
        sale_at(household, store)
    settle()
    supervisor = officer_in("supervisor")

    response = supervisor.post(reverse("admin:settlements_storesettlement_approve_drafts"))

    assert response.status_code == 302
    assert set(StoreSettlement.objects.values_list("status", "approved_by")) == {
        (SettlementStatus.APPROVED, supervisor.user.pk)
    }


def test_approving_every_draft_waits_while_a_run_is_making_them(household, finance):
    sale_at(household, make_store())
    settle()
    SettlementRun.objects.create(cutoff=timezone.now(), status=SettlementRunStatus.RUNNING)

    page = finance.get(reverse("admin:settlements_storesettlement_approve_drafts"))
    finance.post(reverse("admin:settlements_storesettlement_approve_drafts"))

    assert "هنوز در جریان است" in page.content.decode()
    assert StoreSettlement.objects.get().status == SettlementStatus.DRAFT


def test_release_turns_a_held_settlement_into_a_draft_with_the_reason_kept(household, finance):
    store = make_store()
    sale_at(household, store)
    store_services.suspend_store(store=store, reason="بازرسی", by=None)
    settle()
    held = StoreSettlement.objects.get(store=store)
    assert held.status == SettlementStatus.HELD

    admin_action(
        finance, SETTLEMENTS, "release_held", [held.pk], confirm="yes", reason="بازرسی تمام شد"
    )

    held.refresh_from_db()
    assert (held.status, held.released_by) == (SettlementStatus.DRAFT, finance.user)
    history = finance.get(reverse("admin:settlements_storesettlement_history", args=[held.pk]))
    assert "بازرسی تمام شد" in history.content.decode()


def test_release_refuses_a_settlement_that_is_not_held(household, finance):
    sale_at(household, make_store())
    settle()
    draft = StoreSettlement.objects.get()

    response = admin_action(
        finance, SETTLEMENTS, "release_held", [draft.pk], confirm="yes", reason="اشتباه"
    )

    assert "نگه‌داشته نیست" in " ".join(admin_messages(response))
    draft.refresh_from_db()
    assert (draft.status, draft.released_by) == (SettlementStatus.DRAFT, None)


# --- Payout files -------------------------------------------------------------------------------


def test_the_download_is_the_exported_file_byte_for_byte(household, finance, tmp_path):
    for store in (make_store(), make_store(province_name="فارس")):
        sale_at(household, store)
    settle()
    batch = export_to(tmp_path, finance.user)

    response = finance.get(reverse("admin:settlements_payoutbatch_download", args=[batch.pk]))

    body = b"".join(response.streaming_content)
    assert body == (tmp_path / "payouts.csv").read_bytes()
    assert body.decode("utf-8").split("\n", 1)[0] == HEADER
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="payouts.csv"'


def test_a_store_officer_may_not_download_a_payout_file(household, tmp_path):
    sale_at(household, make_store())
    batch = exported_settlements(directory=tmp_path)

    response = officer_in("store_officer").get(
        reverse("admin:settlements_payoutbatch_download", args=[batch.pk])
    )

    assert response.status_code == 403


def test_the_file_list_counts_paid_failed_and_waiting_rows(household, finance, tmp_path):
    stores = [make_store() for _ in range(3)]
    for store in stores:
        sale_at(household, store)
    batch = exported_settlements(directory=tmp_path)
    paid, failed = (StoreSettlement.objects.get(store=store) for store in stores[:2])
    payouts.import_payout_results(
        stream=io.StringIO(
            "reference,status,bank_reference,reason\n"
            f"{paid.reference},paid,B-1,\n{failed.reference},failed,,شبا بسته است\n"
        )
    )

    response = finance.get(reverse(FILES))

    listed_batch = response.context["cl"].result_list[0]
    admin = response.context["cl"].model_admin
    assert listed_batch.pk == batch.pk
    counts = [
        admin._answer(listed_batch, status)[0]
        for status in (SettlementStatus.PAID, SettlementStatus.FAILED, SettlementStatus.EXPORTED)
    ]
    assert counts == [1, 1, 1]


def test_exporting_from_the_admin_makes_a_file_and_opens_its_page(household, finance):
    sale_at(household, make_store())
    settle()
    payouts.approve_settlements(officer=finance.user)

    response = finance.post(reverse("admin:settlements_payoutbatch_export"))

    batch = PayoutBatch.objects.get()
    assert response["Location"] == reverse("admin:settlements_payoutbatch_change", args=[batch.pk])
    assert (batch.rows, batch.created_by) == (1, finance.user)
    assert StoreSettlement.objects.get().status == SettlementStatus.EXPORTED


def test_uploading_the_banks_results_applies_them_and_lists_rejected_rows(
    household, finance, tmp_path
):
    stores = [make_store(), make_store()]
    for store in stores:
        sale_at(household, store)
    exported_settlements(directory=tmp_path)
    paid, failed = (StoreSettlement.objects.get(store=store) for store in stores)
    text = (
        "reference,status,bank_reference,reason\n"
        f"{paid.reference},paid,BANK-77,\n"
        f"{failed.reference},failed,,شماره شبا نامعتبر است\n"
        "KB999999999999,paid,BANK-78,\n"
    )

    response = finance.post(
        reverse("admin:settlements_payoutbatch_results"),
        {"file": SimpleUploadedFile("results.csv", text.encode("utf-8"))},
    )

    paid.refresh_from_db()
    failed.refresh_from_db()
    assert (paid.status, paid.bank_reference) == (SettlementStatus.PAID, "BANK-77")
    assert (failed.status, failed.failure_reason) == (
        SettlementStatus.FAILED,
        "شماره شبا نامعتبر است",
    )
    assert [(e.line, e.reference, e.code) for e in response.context["rejected"]] == [
        (4, "KB999999999999", "reference_unknown")
    ]
    content = response.content.decode()
    assert "پرداختی با این شناسه به بانک فرستاده نشده است" in content
    assert "<td>۴</td>" in content


def test_a_results_file_with_a_bad_header_applies_nothing_and_says_so_by_the_field(
    household, finance, tmp_path
):
    sale_at(household, make_store())
    exported_settlements(directory=tmp_path)
    settlement = StoreSettlement.objects.get()
    text = f"ref,status,bank_reference,reason\n{settlement.reference},paid,B-1,\n"

    response = finance.post(
        reverse("admin:settlements_payoutbatch_results"),
        {"file": SimpleUploadedFile("results.csv", text.encode("utf-8"))},
    )

    assert response.context["form"].errors["file"] == [
        "سرستون فایل باید دقیقاً reference,status,bank_reference,reason باشد"
    ]
    settlement.refresh_from_db()
    assert settlement.status == SettlementStatus.EXPORTED


def test_a_welfare_officer_may_not_upload_the_banks_results():
    response = officer_in("welfare_officer").get(reverse("admin:settlements_payoutbatch_results"))

    assert response.status_code == 403


# --- Settling from the admin --------------------------------------------------------------------


@pytest.mark.usefixtures("celery_eager_setting")
def test_settle_now_settles_up_to_the_jalali_moment_given_in_the_request(finance):
    # Given a purchase at noon on 1 Shahrivar 1402 (Tehran) and another an hour later
    household = HouseholdFactory(decile=4)
    cycle = charge("1402-06")
    store = make_store()
    terminal = make_terminal(store)
    noon = dt.datetime(2023, 8, 23, 12, 0, tzinfo=timezone.get_default_timezone())
    early = buy(household, cycle=cycle, base=100_000, current=300_000, terminal=terminal, at=noon)
    buy(
        household,
        cycle=cycle,
        base=100_000,
        current=500_000,
        terminal=terminal,
        at=noon + dt.timedelta(hours=1),
    )
    # When a finance officer settles up to 12:30 that day from the admin (Celery eager)
    response = finance.post(
        reverse("admin:settlements_settlementrun_start"), {"day": "۱۴۰۲/۰۶/۰۱", "time": "۱۲:۳۰"}
    )
    # Then the run is done in the request, in the officer's name, with only the first purchase
    run = SettlementRun.objects.get()
    assert response["Location"] == reverse("admin:settlements_settlementrun_change", args=[run.pk])
    assert (run.status, run.started_by, run.cutoff) == (
        SettlementRunStatus.COMPLETED,
        finance.user,
        noon + dt.timedelta(minutes=30),
    )
    assert StoreSettlement.objects.get(run=run).amount_rial == owed_rial(early)
    assert "انجام شد" in " ".join(admin_messages(response))


def test_settle_now_refuses_a_cutoff_too_recent_next_to_the_day(finance):
    now = timezone.localtime()

    response = finance.post(
        reverse("admin:settlements_settlementrun_start"),
        {
            "day": format_jalali_date(now.date(), with_month_name=False),
            "time": now.strftime("%H:%M"),
        },
    )

    assert response.status_code == 200
    assert "دقیقه پیش از اکنون باشد" in response.context["form"].errors["day"][0]
    assert not SettlementRun.objects.exists()


# --- Queries stay the same however many rows a page shows ----------------------------------------


def queries_for(client: OfficerClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_settlement_list_and_page_run_as_many_queries_for_one_row_as_for_many(
    household, finance
):
    sale_at(household, make_store())
    settle()
    one = StoreSettlement.objects.get()
    few = {
        "list": queries_for(finance, reverse(SETTLEMENTS)),
        "page": queries_for(
            finance, reverse("admin:settlements_storesettlement_change", args=[one.pk])
        ),
    }
    for store in (make_store(), make_store(province_name="فارس"), make_store()):
        sale_at(household, store)
        sale_at(household, store)
    settle()
    busy = StoreSettlement.objects.order_by("pk").last()

    many = {
        "list": queries_for(finance, reverse(SETTLEMENTS)),
        "page": queries_for(
            finance, reverse("admin:settlements_storesettlement_change", args=[busy.pk])
        ),
    }

    assert many == few


def test_the_file_and_run_lists_run_as_many_queries_for_one_row_as_for_many(
    household, finance, tmp_path
):
    for index in (1, 2, 3):
        (tmp_path / str(index)).mkdir()
    sale_at(household, make_store())
    exported_settlements(directory=tmp_path / "1")
    few = [queries_for(finance, reverse(name)) for name in (FILES, RUNS)]
    for index in (2, 3):
        sale_at(household, make_store())
        sale_at(household, make_store())
        exported_settlements(directory=tmp_path / str(index))

    many = [queries_for(finance, reverse(name)) for name in (FILES, RUNS)]

    assert PayoutBatch.objects.count() == SettlementRun.objects.count() == 3
    assert many == few


def test_the_settlement_list_refuses_a_lookup_no_filter_offers(finance):
    response = finance.get(reverse(SETTLEMENTS), {"amount_rial__gt": "0"})

    # An unindexed lookup would scan every settlement: Django's admin refuses it.
    assert response.status_code == 400


def test_a_results_file_over_the_pages_rows_is_sent_to_the_command_whole(
    household, finance, tmp_path, monkeypatch
):
    stores = [make_store(), make_store()]
    for store in stores:
        sale_at(household, store)
    exported_settlements(directory=tmp_path)
    monkeypatch.setattr(payout_files, "RESULTS_MAX_ROWS", 1)
    text = "reference,status,bank_reference,reason\n" + "".join(
        f"{s.reference},paid,B-{s.pk},\n" for s in StoreSettlement.objects.all()
    )

    response = finance.post(
        reverse("admin:settlements_payoutbatch_results"),
        {"file": SimpleUploadedFile("results.csv", text.encode("utf-8"))},
    )

    assert "import_payout_results" in response.context["form"].errors["file"][0]
    assert set(StoreSettlement.objects.values_list("status", flat=True)) == {"exported"}
