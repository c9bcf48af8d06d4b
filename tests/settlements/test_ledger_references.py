"""The ledger's references to households, checked per statement by PostgreSQL triggers
(``settlements/sql/household_references.sql``) instead of foreign keys, and the balance trigger
under the credit run's one-statement write (``ledger.post_batch``)."""

import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from households.models import Household
from kalabarg.lib.partitions import period_of
from settlements.models import Account, AccountKind, JournalEntry
from tests.concurrency import in_threads
from tests.households.factories import make_household
from tests.settlements.factories import charge

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NO_SUCH_ID = 10**12


def execute(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def test_an_entry_naming_a_household_that_does_not_exist_is_refused():
    with pytest.raises(IntegrityError, match="names household"):
        execute(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, created_by_process, "
            "memo, created_at, period) VALUES ('settlement', 'k', %s, '', '', now(), %s)",
            [NO_SUCH_ID, period_of(timezone.now())],
        )

    assert not JournalEntry.objects.exists()


def test_a_wallet_naming_a_household_that_does_not_exist_is_refused():
    with pytest.raises(IntegrityError, match="names household"):
        execute(
            "INSERT INTO settlements_account (kind, household_id, balance_rial) VALUES ('wallet', %s, 0)",
            [NO_SUCH_ID],
        )

    assert not Account.objects.filter(kind=AccountKind.WALLET).exists()


def test_a_wallet_keeps_its_household():
    household = make_household(decile=1)
    charge("1402-06")
    wallet = Account.objects.get(household=household)
    without_wallet = make_household(decile=1)

    with pytest.raises(IntegrityError, match="keeps its household"):
        execute(
            "UPDATE settlements_account SET household_id = %s WHERE id = %s",
            [without_wallet.pk, wallet.pk],
        )

    assert Account.objects.get(pk=wallet.pk).household_id == household.pk


def test_a_household_the_ledger_names_is_never_deleted():
    household = make_household(decile=1)
    charge("1402-06")

    with pytest.raises(IntegrityError, match="never deleted"):
        execute("DELETE FROM households_household WHERE id = %s", [household.pk])

    assert Household.objects.filter(pk=household.pk).exists()


def test_a_household_the_ledger_does_not_name_may_still_be_deleted():
    household = make_household(decile=1)

    Household.objects.filter(pk=household.pk).delete()

    assert not Household.objects.filter(pk=household.pk).exists()


def test_a_household_named_by_the_ledger_keeps_its_id():
    household = make_household(decile=1)
    charge("1402-06")

    with pytest.raises(IntegrityError, match="keeps its id"):
        execute("UPDATE households_household SET id = %s WHERE id = %s", [NO_SUCH_ID, household.pk])


def test_the_balance_trigger_checks_a_statement_that_writes_its_entry_and_postings_together():
    """The credit run writes entries and their legs in one statement (data-modifying CTEs); the
    statement-level trigger must still see the legs, and the entry, when that statement ends."""
    household = make_household(decile=1)
    charge("1402-06")
    wallet = Account.objects.get(household=household)
    entry = (
        "WITH e AS (INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, "
        "created_by_process, memo, created_at, period) VALUES ('settlement', 'cte', %s, '', '', now(), %s) "
        "RETURNING id, period) INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
    )
    one_leg = "SELECT e.id, %s, 5, e.period FROM e"
    a_leg_naming_no_account = (
        "SELECT e.id, a, x, e.period FROM e, (VALUES (%s, 5), (%s, -5)) legs(a, x)"
    )
    period = period_of(timezone.now())

    with pytest.raises(IntegrityError, match="does not balance"):
        execute(entry + one_leg, [household.pk, period, wallet.pk])
    with pytest.raises(IntegrityError, match="names ledger account"):
        execute(entry + a_leg_naming_no_account, [household.pk, period, wallet.pk, NO_SUCH_ID])

    assert not JournalEntry.objects.filter(idempotency_key="cte").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_household_deleted_while_a_wallet_is_written_for_it_is_kept():
    """The race a foreign key's row lock used to close: the delete waits for the transaction that
    writes the wallet, then sees it and refuses."""
    household = make_household(decile=1)
    deleting = threading.Event()

    def delete_waits_on_the_ledger() -> bool:
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
                cursor.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'DELETE FROM \"households_household\"%%'"
                )
                if cursor.fetchone():
                    return True
                time.sleep(0.05)
        return False

    def work(index: int) -> object:
        if index == 0:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO settlements_account (kind, household_id, balance_rial) VALUES ('wallet', %s, 0)",
                    [household.pk],
                )
                deleting.set()
                return delete_waits_on_the_ledger()
        deleting.wait(10)
        Household.objects.filter(pk=household.pk).delete()
        return "deleted"

    waited, deleted = in_threads(2, work)

    assert waited is True
    assert isinstance(deleted, IntegrityError) and "never deleted" in str(deleted)
    assert Account.objects.filter(household_id=household.pk, kind=AccountKind.WALLET).exists()
