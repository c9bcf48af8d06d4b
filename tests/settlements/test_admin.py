"""The officer admin of the money core: phases pinned by money, runs started and watched, the ledger read-only."""

import datetime as dt

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.urls import reverse

from settlements.models import (
    Account,
    AccountKind,
    CreditRun,
    Cycle,
    CycleStatus,
    EntryKind,
    JournalEntry,
    LedgerDigest,
    Phase,
    PhaseBand,
    RunChunk,
    RunKind,
    RunStatus,
)
from settlements.selectors import wallet_balance
from settlements.services import rules, runs
from tests.households.factories import make_household
from tests.settlements.factories import BONUS, CREDIT, buy, charge, make_phase, seeded_phases
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


@pytest.fixture(autouse=True)
def _eager(settings):
    """The embedded set-up: no broker, so the admin runs a run's chunks in the request."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _band_rows(bands: list[dict[str, str]], existing: list[PhaseBand] | None = None) -> dict:
    existing = existing or []
    data = {
        "bands-TOTAL_FORMS": str(len(bands)),
        "bands-INITIAL_FORMS": str(len(existing)),
        "bands-MIN_NUM_FORMS": "0",
        "bands-MAX_NUM_FORMS": "1000",
    }
    for index, band in enumerate(bands):
        if index < len(existing):
            data[f"bands-{index}-id"] = str(existing[index].pk)
            data[f"bands-{index}-phase"] = str(existing[index].phase_id)
        for key, value in band.items():
            data[f"bands-{index}-{key}"] = value
    return data


def _band(low: str, high: str, credit: str = "2000000", threshold: str = "2000000") -> dict:
    return {
        "min_decile": low,
        "max_decile": high,
        "credit_per_cycle_rial": credit,
        "bonus_threshold_rial": threshold,
        "bonus_amount_rial": "1200000",
        "cash_subsidy_rial": "0",
    }


def _phase_post(phase_fields: dict[str, str], bands: list[dict], existing=None) -> dict:
    data = {
        "name": "مرحله آزمایشی",
        "starts_on": "1409/01/01",
        "ends_on": "",
        "basis": "per_member",
        "unspent_policy": "carry_over",
        "min_distinct_items": "0",
        **phase_fields,
    }
    data.update(_band_rows(bands, existing))
    return data


def _band_errors(response) -> list[dict]:
    formset = response.context["inline_admin_formsets"][0].formset
    return [form.errors for form in formset.forms]


# --- Phases ---------------------------------------------------------------------------------------


def test_a_phase_without_money_is_editable(admin_client):
    _, two = seeded_phases()
    bands = list(two.bands.order_by("min_decile"))

    response = admin_client.post(
        reverse("admin:settlements_phase_change", args=[two.pk]),
        _phase_post(
            {"name": two.name, "starts_on": "۱۴۰۲/۰۶/۰۱"},
            [_band("1", "3", credit="۲٬۵۰۰٬۰۰۰"), _band("4", "5")],
            bands,
        ),
    )

    assert response.status_code == 302, response.context and response.context["errors"]
    two.refresh_from_db()
    assert two.starts_on == dt.date(2023, 8, 23)
    assert two.bands.get(min_decile=1).credit_per_cycle_rial == 2_500_000


def test_a_new_phase_is_made_from_a_jalali_date_with_its_bands(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "۱۴۰۹/۰۱/۰۱"}, [_band("1", "3"), _band("۴", "۵")]),
    )

    assert response.status_code == 302
    phase = Phase.objects.get(name="مرحله آزمایشی")
    assert phase.starts_on == dt.date(2030, 3, 21)
    assert sorted(phase.bands.values_list("min_decile", "max_decile")) == [(1, 3), (4, 5)]


def test_overlapping_bands_are_refused_next_to_the_field(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({}, [_band("1", "3"), _band("3", "5")]),
    )

    assert response.status_code == 200
    errors = _band_errors(response)
    assert errors[0] == {}
    assert "هم‌پوشانی" in errors[1]["min_decile"][0]
    assert not Phase.objects.filter(name="مرحله آزمایشی").exists()


@pytest.mark.parametrize(
    ("band", "field", "message"),
    [
        (_band("5", "3"), "max_decile", "«تا دهک» نباید از «از دهک» کوچک‌تر باشد"),
        (_band("0", "3"), "min_decile", "دهک باید عددی از ۱ تا ۱۰ باشد"),
        (_band("1", "11"), "max_decile", "دهک باید عددی از ۱ تا ۱۰ باشد"),
        (_band("1", "3", credit="-5"), "credit_per_cycle_rial", "مبلغ نمی‌تواند منفی باشد"),
        (
            _band("1", "3", credit="12.5"),
            "credit_per_cycle_rial",
            "مبلغ باید عدد صحیح ریال باشد (بدون اعشار و حروف)",
        ),
        (
            _band("1", "3", threshold="0"),
            "bonus_threshold_rial",
            "آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
        ),
    ],
)
def test_a_bad_band_is_refused_next_to_its_field(admin_client, band, field, message):
    response = admin_client.post(reverse("admin:settlements_phase_add"), _phase_post({}, [band]))

    assert response.status_code == 200
    assert _band_errors(response)[0][field] == [message]
    assert not Phase.objects.filter(name="مرحله آزمایشی").exists()


def test_a_phase_cannot_end_before_it_starts_nor_share_a_start(admin_client):
    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "1409/01/10", "ends_on": "1409/01/01"}, [_band("1", "3")]),
    )
    assert response.context["adminform"].form.errors["ends_on"] == [
        "پایان مرحله نباید پیش از آغاز آن باشد"
    ]

    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "۱۴۰۲/۰۶/۰۱"}, [_band("1", "3")]),
    )
    assert "از همین تاریخ آغاز می‌شود" in response.context["adminform"].form.errors["starts_on"][0]

    response = admin_client.post(
        reverse("admin:settlements_phase_add"),
        _phase_post({"starts_on": "1409/13/01"}, [_band("1", "3")]),
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["starts_on"]


def test_after_money_moved_the_phase_is_read_only_and_a_post_changes_nothing(admin_client):
    make_household(decile=2)
    cycle = charge("1402-06")
    phase = cycle.phase
    url = reverse("admin:settlements_phase_change", args=[phase.pk])

    page = admin_client.get(url)

    content = page.content.decode()
    assert page.status_code == 200
    assert (
        "پس از جابه‌جایی پول با قواعد این مرحله، تغییر آن ممکن نیست؛ مرحله تازه‌ای از تاریخ دیگری بسازید"
        in content
    )
    assert 'name="bands-0-credit_per_cycle_rial"' not in content
    assert 'name="name"' not in content
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content

    bands = list(phase.bands.order_by("min_decile"))
    response = admin_client.post(
        url,
        _phase_post(
            {"name": "تغییر", "starts_on": "1402/06/01"},
            [_band("1", "3", credit="9000000"), _band("4", "5")],
            bands,
        ),
    )

    assert response.status_code == 302
    assert "چیزی ذخیره نشد" in " ".join(_messages(response))
    phase.refresh_from_db()
    assert phase.name != "تغییر"
    assert phase.bands.get(min_decile=1).credit_per_cycle_rial == CREDIT


def test_a_phase_with_money_cannot_be_deleted(admin_client):
    make_household(decile=2)
    phase = charge("1402-06").phase
    url = reverse("admin:settlements_phase_delete", args=[phase.pk])

    assert admin_client.get(url).status_code == 302
    response = admin_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert Phase.objects.filter(pk=phase.pk).exists()
    changelist = admin_client.get(reverse("admin:settlements_phase_changelist"))
    assert "delete_selected" not in changelist.content.decode()


def test_a_phase_without_money_or_cycles_can_be_deleted(admin_client):
    phase = make_phase(starts_on=dt.date(2031, 1, 1))

    response = admin_client.post(
        reverse("admin:settlements_phase_delete", args=[phase.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Phase.objects.filter(pk=phase.pk).exists()


def test_the_phase_list_shows_jalali_dates_and_the_deciles_covered(admin_client):
    seeded_phases()

    content = admin_client.get(reverse("admin:settlements_phase_changelist")).content.decode()

    assert "۱ شهریور ۱۴۰۲" in content
    assert "2023-08-23" in content
    assert "۱ تا ۳، ۴ تا ۵" in content


# --- Cycles and runs ------------------------------------------------------------------------------


def _action(admin_client, url_name: str, action: str, ids: list[int], **extra: str):
    return admin_client.post(
        reverse(url_name), {"action": action, "_selected_action": [str(i) for i in ids], **extra}
    )


def test_the_cycle_charge_action_asks_a_reason_charges_and_shows_the_run(admin_client, admin_user):
    seeded_phases()
    family = make_household(decile=3, members=1)
    single = make_household(decile=5)
    rich = make_household(decile=8)
    cycle = rules.ensure_cycle(key="1402-06")
    changelist = "admin:settlements_cycle_changelist"

    asked = _action(admin_client, changelist, "charge_cycle", [cycle.pk], index="0")
    assert asked.status_code == 200
    assert "دلیل" in asked.content.decode()
    assert not CreditRun.objects.exists()

    blank = _action(admin_client, changelist, "charge_cycle", [cycle.pk], confirm="yes", reason=" ")
    assert blank.context["form"].errors["reason"] == ["دلیل این اجرا را بنویسید"]
    assert not CreditRun.objects.exists()

    response = _action(
        admin_client, changelist, "charge_cycle", [cycle.pk], confirm="yes", reason="آغاز ماه"
    )

    run = CreditRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    assert (run.kind, run.status, run.started_by) == (
        RunKind.CYCLE_CHARGE,
        RunStatus.COMPLETED,
        admin_user,
    )
    assert wallet_balance(household_id=family.pk) == 2 * CREDIT
    assert wallet_balance(household_id=single.pk) == CREDIT
    assert wallet_balance(household_id=rich.pk) == 0
    cycle.refresh_from_db()
    assert cycle.status == CycleStatus.OPEN
    assert "انجام شد" in " ".join(_messages(response))

    page = admin_client.get(response["Location"]).content.decode()
    assert "آغاز ماه" in page  # who, when and why
    assert admin_user.username in page
    assert "۶٬۰۰۰٬۰۰۰ ریال" in page
    assert 'http-equiv="refresh"' not in page


def test_with_a_broker_the_charge_queues_its_chunks_on_commit(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    seeded_phases()
    household = make_household(decile=1)
    cycle = rules.ensure_cycle(key="1402-06")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _action(
            admin_client,
            "admin:settlements_cycle_changelist",
            "charge_cycle",
            [cycle.pk],
            confirm="yes",
            reason="آغاز ماه",
        )

    assert response.status_code == 302
    assert callbacks  # the chunks went to the queue (run eagerly by the test's Celery set-up)
    assert wallet_balance(household_id=household.pk) == CREDIT


def test_the_charge_action_needs_exactly_one_cycle(admin_client):
    seeded_phases()
    first, second = rules.ensure_cycle(key="1402-06"), rules.ensure_cycle(key="1402-07")

    response = _action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [first.pk, second.pk],
        index="0",
    )

    assert response.status_code == 302
    assert "دقیقاً یک دوره" in " ".join(_messages(response))
    assert not CreditRun.objects.exists()


def test_a_closed_cycle_is_not_charged_again(admin_client):
    make_household(decile=1)
    old = charge("1402-06")
    charge("1402-07")
    old.refresh_from_db()
    assert old.status == CycleStatus.CLOSED
    runs_before = CreditRun.objects.count()

    response = _action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [old.pk],
        confirm="yes",
        reason="دوباره",
    )

    assert "بسته شده" in " ".join(_messages(response))
    assert CreditRun.objects.count() == runs_before


def test_the_bonus_sweep_action_grants_an_earned_bonus(admin_client):
    household = make_household(decile=2)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=1_000_000 + CREDIT)
    assert wallet_balance(household_id=household.pk) == 0

    response = _action(
        admin_client,
        "admin:settlements_cycle_changelist",
        "sweep_bonus",
        [cycle.pk],
        confirm="yes",
        reason="بررسی شبانه جاافتاده",
    )

    run = CreditRun.objects.get(kind=RunKind.BONUS_SWEEP)
    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    assert wallet_balance(household_id=household.pk) == BONUS


def test_an_officer_who_may_only_view_cannot_start_a_run(client, django_user_model):
    from django.contrib.auth.models import Permission

    seeded_phases()
    cycle = rules.ensure_cycle(key="1402-06")
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="settlements", codename__startswith="view_"
        )
    )
    client.force_login(viewer)

    changelist = client.get(reverse("admin:settlements_cycle_changelist")).content.decode()
    form = client.get(reverse("admin:settlements_cycle_charge"))
    action = _action(
        client,
        "admin:settlements_cycle_changelist",
        "charge_cycle",
        [cycle.pk],
        confirm="yes",
        reason="x",
    )

    assert "charge_cycle" not in changelist
    assert reverse("admin:settlements_cycle_charge") not in changelist
    assert form.status_code == 403
    assert action.status_code in (200, 302)
    assert not CreditRun.objects.exists()


def test_a_charge_is_started_by_the_cycle_key_in_persian_digits(admin_client):
    seeded_phases()
    household = make_household(decile=4)
    url = reverse("admin:settlements_cycle_charge")

    changelist = admin_client.get(reverse("admin:settlements_cycle_changelist"))
    assert url in changelist.content.decode()
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {"key": "۱۴۰۲-۰۶", "reason": "شارژ دستی"})

    run = CreditRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    assert run.cycle.key == "1402-06"
    assert wallet_balance(household_id=household.pk) == CREDIT
    assert LogEntry.objects.filter(object_id=str(run.pk), change_message__contains="شارژ دستی")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("۱۴۰۲-۱۳", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("شهریور", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1402-06-01", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1500-01", "دوره باید به شکل ۱۴۰۲-۰۶ باشد"),
        ("1399-01", "در این ماه هیچ مرحله‌ای از طرح فعال نیست"),
        (
            "1490-01",
            "این ماه هنوز آغاز نشده است؛ اعتبار هر دوره از نخستین روز همان ماه شارژ می‌شود.",
        ),
    ],
)
def test_a_bad_cycle_key_is_refused_next_to_the_field(admin_client, key, message):
    seeded_phases()

    response = admin_client.post(
        reverse("admin:settlements_cycle_charge"), {"key": key, "reason": "شارژ دستی"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["key"] == [message]
    assert key in response.content.decode()  # the form keeps what was typed
    assert not CreditRun.objects.exists()


def _half_done_run() -> CreditRun:
    """A charge run of three chunks of which only the first was done (a worker died)."""
    seeded_phases()
    for _ in range(3):
        make_household(decile=1)
    cycle = rules.ensure_cycle(key="1402-06")
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=1)
    runs.execute_chunk(chunk_id=run.chunks.order_by("index").first().pk)
    run.refresh_from_db()
    return run


def test_the_run_list_shows_progress_as_a_bar_and_words(admin_client):
    run = _half_done_run()

    content = admin_client.get(reverse("admin:settlements_creditrun_changelist")).content.decode()

    assert '<progress value="1" max="3"' in content
    assert "۱ از ۳ بخش — ۳۳٪" in content
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content
    assert run.get_status_display() in content


def test_a_running_run_page_refreshes_itself_and_lists_unfinished_chunks(admin_client):
    run = _half_done_run()
    RunChunk.objects.filter(run=run, index=2).update(attempts=3, last_error="deadlock detected")

    response = admin_client.get(reverse("admin:settlements_creditrun_change", args=[run.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert '<meta http-equiv="refresh" content="5">' in content
    assert "deadlock detected" in content
    chunks = response.context["inline_admin_formsets"][0].formset.queryset
    assert sorted(chunk.index for chunk in chunks) == [1, 2]


def test_the_resume_action_finishes_an_unfinished_run(admin_client):
    run = _half_done_run()

    response = _action(
        admin_client,
        "admin:settlements_creditrun_changelist",
        "resume_run",
        [run.pk],
        confirm="yes",
        reason="کارگر از کار افتاده بود",
    )

    assert response["Location"] == reverse("admin:settlements_creditrun_change", args=[run.pk])
    run.refresh_from_db()
    assert (run.status, run.chunks_done, run.entries_created) == (RunStatus.COMPLETED, 3, 3)
    assert CreditRun.objects.count() == 1


def test_a_completed_run_is_not_resumed(admin_client):
    make_household(decile=1)
    charge("1402-06")
    run = CreditRun.objects.get()

    response = _action(
        admin_client,
        "admin:settlements_creditrun_changelist",
        "resume_run",
        [run.pk],
        confirm="yes",
        reason="دوباره",
    )

    assert "پایان یافته" in " ".join(_messages(response))
    assert CreditRun.objects.count() == 1


# --- The ledger -----------------------------------------------------------------------------------


def test_the_account_search_by_national_code_finds_the_wallet(admin_client):
    household = make_household(decile=1, members=1)
    other = make_household(decile=1)
    charge("1402-06")
    child = household.members.get(is_head=False)
    wallet = Account.objects.get(household=household)

    response = admin_client.get(
        reverse("admin:settlements_account_changelist"),
        {"q": child.national_code.translate(PERSIAN)},
    )

    assert list(response.context["cl"].result_list) == [wallet]
    content = response.content.decode()
    assert "۴٬۰۰۰٬۰۰۰ ریال" in content
    assert household.registry_code in content
    assert other.registry_code not in content
    assert "_facets" not in content  # facet counts would count every row


def test_the_account_search_by_terminal_id_finds_the_store_payable(admin_client):
    household = make_household(decile=1)
    cycle = charge("1402-06")
    terminal = make_terminal()
    buy(household, cycle=cycle, base=1_000_000, current=1_500_000, terminal=terminal)

    response = admin_client.get(
        reverse("admin:settlements_account_changelist"), {"q": terminal.terminal_id}
    )

    (payable,) = response.context["cl"].result_list
    assert payable.kind == AccountKind.STORE_PAYABLE
    assert "—" in response.content.decode()  # a derived balance is not summed in the list

    page = admin_client.get(reverse("admin:settlements_account_change", args=[payable.pk]))
    assert "۵۰۰٬۰۰۰ ریال" in page.content.decode()


def test_a_fund_page_shows_its_derived_balance(admin_client):
    make_household(decile=1)
    charge("1402-06")
    fund = Account.objects.get(kind=AccountKind.PROGRAMME_FUND)

    response = admin_client.get(reverse("admin:settlements_account_change", args=[fund.pk]))

    assert response.status_code == 200
    assert "−۲٬۰۰۰٬۰۰۰ ریال" in response.content.decode()


def test_the_journal_entry_page_shows_its_postings_signed_in_rials(admin_client):
    household = make_household(decile=1)
    charge("1402-06")
    entry = JournalEntry.objects.get(household=household, kind=EntryKind.CYCLE_CHARGE)

    response = admin_client.get(reverse("admin:settlements_journalentry_change", args=[entry.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["inline_admin_formsets"][0].formset.queryset) == 2
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content
    assert "−۲٬۰۰۰٬۰۰۰ ریال" in content
    assert "سند برگشتی" in content  # entries are append-only; corrections are reversing entries
    assert 'name="_save"' not in content


def test_journal_entries_are_found_by_key_or_national_code(admin_client):
    household = make_household(decile=1)
    other = make_household(decile=2)
    charge("1402-06")
    url = reverse("admin:settlements_journalentry_changelist")
    head = household.members.get()

    by_code = admin_client.get(url, {"q": head.national_code})
    by_key = admin_client.get(url, {"q": f"charge:1402-06:{other.pk}"})

    assert [e.household_id for e in by_code.context["cl"].result_list] == [household.pk]
    assert [e.household_id for e in by_key.context["cl"].result_list] == [other.pk]


def test_the_ledger_cannot_be_written_from_the_admin(admin_client):
    household = make_household(decile=1)
    charge("1402-06")
    entry = JournalEntry.objects.get(household=household)
    wallet = Account.objects.get(household=household)

    assert admin_client.get(reverse("admin:settlements_journalentry_add")).status_code == 403
    assert admin_client.get(reverse("admin:settlements_account_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:settlements_journalentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert (
        admin_client.post(
            reverse("admin:settlements_account_change", args=[wallet.pk]), {"balance_rial": "9"}
        ).status_code
        == 403
    )
    wallet.refresh_from_db()
    assert wallet.balance_rial == CREDIT


def test_no_money_core_admin_page_fails(admin_client):
    household = make_household(decile=1)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=1_500_000)
    _half_done_run_cycle = rules.ensure_cycle(key="1402-07")
    runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=_half_done_run_cycle, chunk_size=1)
    LedgerDigest.objects.create(day=dt.date(2023, 9, 1), entries=3, digest="ab" * 32)
    pages = [
        reverse(f"admin:settlements_{model}_changelist")
        for model in ("phase", "cycle", "creditrun", "account", "journalentry", "ledgerdigest")
    ]
    pages += [
        reverse("admin:settlements_phase_add"),
        reverse("admin:settlements_cycle_charge"),
        reverse("admin:settlements_phase_change", args=[cycle.phase_id]),
        reverse("admin:settlements_cycle_change", args=[cycle.pk]),
        reverse("admin:app_list", args=["settlements"]),
    ]
    pages += [
        reverse(f"admin:settlements_{model._meta.model_name}_change", args=[obj.pk])
        for model in (CreditRun, Account, JournalEntry, LedgerDigest)
        for obj in model.objects.all()
    ]
    pages += [
        reverse("admin:settlements_creditrun_changelist") + "?status=running&kind=bonus_sweep",
        reverse("admin:settlements_account_changelist") + "?owner=system",
        reverse("admin:settlements_account_changelist") + "?owner=store&q=nothing",
        reverse("admin:settlements_journalentry_changelist") + "?kind=purchase",
        reverse("admin:settlements_cycle_changelist") + "?q=۱۴۰۲",
    ]

    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert Cycle.objects.filter(key="1402-06").exists()
