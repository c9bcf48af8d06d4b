import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from settlements.models import (
    Account,
    AccountKind,
    Charge,
    EntryKind,
    JournalEntry,
    LedgerDigest,
    Posting,
)
from settlements.services.reconcile import reconcile
from tests.households.factories import make_household
from tests.settlements.factories import buy, charge

pytestmark = pytest.mark.django_db


def tamper(sql: str, params: list | None = None) -> None:
    """Change history behind the services' back, as a database superuser could (triggers bypassed)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params or [])
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


def a_ledger_from_yesterday():
    household = make_household(decile=1)
    cycle = charge("1402-06")
    buy(household, cycle=cycle, base=1_000_000, current=3_500_000)  # credit 2M, compensation 0.5M
    yesterday = timezone.now() - dt.timedelta(days=1)
    tamper("UPDATE settlements_journalentry SET created_at = %s", [yesterday])
    return household


def test_a_clean_ledger_reconciles_and_the_command_exits_zero(capsys):
    a_ledger_from_yesterday()

    call_command("reconcile_ledger")

    out = capsys.readouterr().out
    assert "ledger reconciled: no breach" in out
    assert "1 written" in out
    assert LedgerDigest.objects.count() == 1


def test_a_hand_broken_wallet_balance_is_caught_and_the_command_exits_non_zero(capsys):
    household = a_ledger_from_yesterday()
    Account.objects.filter(kind=AccountKind.WALLET, household=household).update(balance_rial=999)

    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile_ledger")

    assert exit_info.value.code == 1
    assert "balance 999 but its postings sum to" in capsys.readouterr().err


def test_an_edited_past_entry_no_longer_matches_its_days_digest():
    a_ledger_from_yesterday()
    assert reconcile().ok  # stores yesterday's digest
    charge_entry = JournalEntry.objects.get(kind=EntryKind.CYCLE_CHARGE)

    tamper(
        "UPDATE settlements_journalentry SET idempotency_key = %s WHERE id = %s",
        ["forged", charge_entry.pk],
    )

    report = reconcile()
    assert not report.ok
    assert any("history was edited" in breach for breach in report.breaches)


def test_an_edited_past_posting_is_caught_even_when_it_still_balances():
    a_ledger_from_yesterday()
    reconcile()
    purchase = JournalEntry.objects.get(kind=EntryKind.PURCHASE)
    legs = list(
        Posting.objects.filter(entry=purchase)
        .exclude(account__kind=AccountKind.WALLET)
        .order_by("amount_rial")
    )

    # Move 1 rial between the fund leg and the payable leg: the entry still sums to zero.
    tamper(
        "UPDATE settlements_posting SET amount_rial = amount_rial + 1 WHERE id = %s", [legs[0].pk]
    )
    tamper(
        "UPDATE settlements_posting SET amount_rial = amount_rial - 1 WHERE id = %s", [legs[1].pk]
    )

    report = reconcile()
    assert any("history was edited" in breach for breach in report.breaches)


def test_an_unbalanced_entry_is_reported():
    a_ledger_from_yesterday()
    purchase_leg = (
        Posting.objects.filter(entry__kind=EntryKind.PURCHASE)
        .exclude(account__kind=AccountKind.WALLET)
        .first()
    )

    tamper(
        "UPDATE settlements_posting SET amount_rial = amount_rial + 7 WHERE id = %s",
        [purchase_leg.pk],
    )

    report = reconcile(verify_digests=False)
    assert any("postings sum to 7" in breach for breach in report.breaches)


def test_a_charge_row_that_disagrees_with_its_wallet_posting_is_reported():
    household = a_ledger_from_yesterday()

    tamper(
        "UPDATE settlements_charge SET amount_rial = amount_rial + 5 WHERE household_id = %s",
        [household.pk],
    )

    report = reconcile(verify_digests=False)
    assert report.checks["charges_match_wallet_postings"] == 1
    assert any(
        f"household {household.pk} in charge entry" in breach and "charge row 2000005" in breach
        for breach in report.breaches
    ), report.breaches


def test_a_charge_posted_to_a_wallet_without_its_charge_row_is_reported():
    """Without its row the one-charge rule would let the household be charged again."""
    household = a_ledger_from_yesterday()

    tamper("DELETE FROM settlements_charge WHERE household_id = %s", [household.pk])

    report = reconcile(verify_digests=False)
    assert report.checks["charges_match_wallet_postings"] == 1
    assert any("charge row None but wallet posting 2000000" in b for b in report.breaches)


def test_a_charge_row_naming_an_entry_that_is_not_a_charge_of_its_cycle_is_reported():
    household = a_ledger_from_yesterday()
    purchase = JournalEntry.objects.get(kind=EntryKind.PURCHASE)

    tamper(
        "UPDATE settlements_charge SET entry_id = %s, period = %s WHERE household_id = %s",
        [purchase.pk, purchase.period, household.pk],
    )

    report = reconcile(verify_digests=False)
    assert report.checks["charges_name_their_entry"] == 1
    assert report.checks["charges_match_wallet_postings"] == 2  # the row, and the leg left alone


def test_a_household_charged_a_cycle_in_two_months_is_reported():
    household = a_ledger_from_yesterday()
    row = Charge.objects.get(household=household)

    tamper(
        "INSERT INTO settlements_charge (household_id, cycle_id, period, amount_rial, entry_id) "
        "VALUES (%s, %s, %s, %s, %s)",
        [household.pk, row.cycle_id, row.period + dt.timedelta(days=40), 1, row.entry_id],
    )

    report = reconcile(verify_digests=False)
    assert report.checks["one_charge_per_cycle"] == 1
    assert any(f"household {household.pk}: 2 charges" in b for b in report.breaches)


@pytest.mark.postgres
def test_postgres_refuses_to_update_or_delete_a_posting_or_an_entry():
    a_ledger_from_yesterday()
    posting = Posting.objects.first()

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount_rial=1)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).delete()
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        JournalEntry.objects.filter(pk=posting.entry_id).update(memo="edited")


@pytest.mark.postgres
def test_postgres_refuses_a_statement_that_leaves_an_entry_unbalanced():
    household = make_household(decile=1)
    charge("1402-06")
    entry = JournalEntry.objects.first()
    wallet = Account.objects.get(household=household)

    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        Posting.objects.create(entry=entry, account=wallet, amount_rial=5, period=entry.period)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("column", "refusal"),
    [("entry_id", "names journal entry"), ("account_id", "names ledger account")],
)
def test_postgres_refuses_a_posting_naming_an_entry_or_account_that_does_not_exist(column, refusal):
    """The postings carry no foreign keys: the ledger's statement trigger checks their references.
    Both legs balance, so only the missing reference can refuse them."""
    household = make_household(decile=1)
    charge("1402-06")
    entry = JournalEntry.objects.first()
    wallet = Account.objects.get(household=household)
    legs = {"entry_id": [entry.pk, entry.pk], "account_id": [wallet.pk, wallet.pk]}
    legs[column] = [10**12, 10**12]  # an id no row has

    with (
        pytest.raises(IntegrityError, match=refusal),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            "VALUES (%s, %s, 5, %s), (%s, %s, -5, %s)",
            [
                legs["entry_id"][0],
                legs["account_id"][0],
                entry.period,
                legs["entry_id"][1],
                legs["account_id"][1],
                entry.period,
            ],
        )


@pytest.mark.postgres
def test_postgres_never_deletes_a_ledger_account():
    household = make_household(decile=1)
    charge("1402-06")

    with (
        pytest.raises(IntegrityError, match="never deleted"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM settlements_account WHERE household_id = %s", [household.pk])
