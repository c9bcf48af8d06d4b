"""The officer admin of the ledger, read-only; and no money-core admin page fails."""

import datetime as dt

import pytest
from django.urls import reverse

from settlements.admin import ledger as ledger_admin
from settlements.models import (
    Account,
    AccountKind,
    CreditRun,
    Cycle,
    EntryKind,
    JournalEntry,
    LedgerDigest,
    RunKind,
)
from settlements.services import rules, runs
from tests.households.factories import make_household
from tests.lib.factories import PERSIAN
from tests.settlements.factories import CREDIT, buy, charge, charge_entry_of
from tests.stores.factories import make_terminal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager_setting")]


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
    entry = charge_entry_of(household)

    response = admin_client.get(reverse("admin:settlements_journalentry_change", args=[entry.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert len(response.context["inline_admin_formsets"][0].formset.queryset) == 2
    assert "۲٬۰۰۰٬۰۰۰ ریال" in content
    assert "−۲٬۰۰۰٬۰۰۰ ریال" in content
    assert "سند برگشتی" in content  # entries are append-only; corrections are reversing entries
    assert 'name="_save"' not in content


def test_a_charge_entry_of_many_households_lists_its_first_postings_and_counts_them(
    admin_client, monkeypatch
):
    """A run's charge entry has a posting a household of its chunk (25,000): the page lists the
    first ``POSTINGS_SHOWN`` and says how many there are, not 25,000 rows."""
    monkeypatch.setattr(ledger_admin, "POSTINGS_SHOWN", 2)
    for decile in (1, 2, 3):
        make_household(decile=decile)
    charge("1402-06")
    entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)

    response = admin_client.get(reverse("admin:settlements_journalentry_change", args=[entry.pk]))

    assert response.status_code == 200
    assert entry.postings.count() == 4  # three wallets and the fund
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 2
    assert "۴ ردیف؛ ۲ ردیف نخست" in response.content.decode()


def test_journal_entries_are_found_by_key_or_national_code(admin_client):
    """A run's charge entry names no household: a national code finds it by the household's
    charge row. A chunk a household here, so each has an entry of its own."""
    household = make_household(decile=1)
    other = make_household(decile=2)
    charge("1402-06", chunk_size=1)
    url = reverse("admin:settlements_journalentry_changelist")
    head = household.members.get()

    by_code = admin_client.get(url, {"q": head.national_code})
    by_key = admin_client.get(url, {"q": f"charge:1402-06:{other.pk}"})

    assert [e.pk for e in by_code.context["cl"].result_list] == [charge_entry_of(household).pk]
    assert [e.pk for e in by_key.context["cl"].result_list] == [charge_entry_of(other).pk]
    assert "خانوارهای یک بخش" in by_code.content.decode()


def test_the_ledger_cannot_be_written_from_the_admin(admin_client):
    household = make_household(decile=1)
    charge("1402-06")
    entry = charge_entry_of(household)
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
