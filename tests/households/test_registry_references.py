"""The registry's references checked per statement by PostgreSQL triggers
(``households/sql/registry_references.sql``) instead of foreign keys: a person's and a decile
assignment's household, a bank card's person, a household's province and city."""

import re
import threading
import time

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from households.models import BankCard, DecileAssignment, Household, Person
from households.sql import load
from kalabarg.lib.bulk import copy_rows
from tests.concurrency import in_threads
from tests.households.factories import (
    make_household,
    next_card_number,
    next_national_code,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NO_SUCH_ID = 10**12
PERSON_COLUMNS = ("household_id", "national_code", "first_name", "last_name", "relation",
                  "is_head", "gender", "mobile", "created_at", "updated_at")  # fmt: skip
DECILE_COLUMNS = ("household_id", "decile", "effective_from", "source", "reason", "created_at")
CARD_COLUMNS = ("person_id", "card_hash", "bin", "last4", "status", "registered_at")


def execute(sql: str, params: list | None = None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def copy(table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    with transaction.atomic(), connection.wrap_database_errors:
        copy_rows(table=table, columns=columns, rows=rows)


def refused_by(error: pytest.ExceptionInfo[IntegrityError]) -> str:
    """The name of the constraint the database gave for the refusal."""
    return error.value.__cause__.diag.constraint_name  # type: ignore[union-attr]


def child(household_id: int) -> tuple:
    now = timezone.now()
    return (household_id, next_national_code(), "سارا", "احمدی", "child", False, "F", "", now, now)


def decile(household_id: int, day: str = "2022-03-21") -> tuple:
    return (household_id, 4, day, "import", "", timezone.now())


def card(person_id: int) -> tuple:
    number = next_card_number()
    return (person_id, f"{number:0>64}", number[:6], number[-4:], "active", timezone.now())


# --- New rows name parents that exist ----------------------------------------------------------


def test_a_person_naming_a_household_that_does_not_exist_is_refused():
    with pytest.raises(IntegrityError, match="names household") as error:
        execute(
            "INSERT INTO households_person (household_id, national_code, first_name, last_name, "
            "relation, is_head, gender, mobile, created_at, updated_at) "
            "VALUES (%s, %s, 'x', 'y', 'child', false, '', '', now(), now())",
            [NO_SUCH_ID, next_national_code()],
        )

    assert refused_by(error) == "person_household_exists"
    assert not Person.objects.filter(household_id=NO_SUCH_ID).exists()


def test_a_copy_of_people_one_of_whom_names_no_household_writes_none_of_them():
    household = make_household()
    rows = [child(household.pk), child(household.pk), child(NO_SUCH_ID), child(household.pk)]

    with pytest.raises(IntegrityError, match="names household") as error:
        copy("households_person", PERSON_COLUMNS, rows)

    assert refused_by(error) == "person_household_exists"
    assert household.members.count() == 1  # the head only


def test_a_decile_naming_a_household_that_does_not_exist_is_refused():
    with pytest.raises(IntegrityError, match="names household") as error:
        execute(
            "INSERT INTO households_decileassignment (household_id, decile, effective_from, "
            "source, reason, created_at) VALUES (%s, 4, '2022-03-21', 'import', '', now())",
            [NO_SUCH_ID],
        )

    assert refused_by(error) == "decile_household_exists"
    assert not DecileAssignment.objects.filter(household_id=NO_SUCH_ID).exists()


def test_a_copy_of_deciles_one_of_which_names_no_household_writes_none_of_them():
    first, second = make_household(), make_household()
    rows = [decile(first.pk, "2023-03-21"), decile(NO_SUCH_ID), decile(second.pk, "2023-03-21")]

    with pytest.raises(IntegrityError, match="names household") as error:
        copy("households_decileassignment", DECILE_COLUMNS, rows)

    assert refused_by(error) == "decile_household_exists"
    assert DecileAssignment.objects.filter(household__in=[first, second]).count() == 2


def test_a_card_naming_a_person_who_does_not_exist_is_refused():
    number = next_card_number()

    with pytest.raises(IntegrityError, match="names person") as error:
        execute(
            "INSERT INTO households_bankcard (person_id, card_hash, bin, last4, status, registered_at) "
            "VALUES (%s, %s, %s, %s, 'active', now())",
            [NO_SUCH_ID, f"{number:0>64}", number[:6], number[-4:]],
        )

    assert refused_by(error) == "card_person_exists"
    assert not BankCard.objects.filter(person_id=NO_SUCH_ID).exists()


def test_a_copy_of_cards_one_of_which_names_no_person_writes_none_of_them():
    head = make_household().members.get()

    with pytest.raises(IntegrityError, match="names person") as error:
        copy("households_bankcard", CARD_COLUMNS, [card(head.pk), card(NO_SUCH_ID), card(head.pk)])

    assert refused_by(error) == "card_person_exists"
    assert not BankCard.objects.exists()


# --- References and keys never change -----------------------------------------------------------


def test_a_person_stays_in_their_household():
    person = make_household(members=1).members.get(is_head=False)
    other = make_household()

    with pytest.raises(IntegrityError, match="keeps its household_id"):
        execute(
            "UPDATE households_person SET household_id = %s WHERE id = %s", [other.pk, person.pk]
        )

    assert Person.objects.get(pk=person.pk).household_id == person.household_id


def test_a_decile_stays_with_its_household():
    assignment = make_household().deciles.get()
    other = make_household()

    with pytest.raises(IntegrityError, match="keeps its household_id"):
        execute(
            "UPDATE households_decileassignment SET household_id = %s WHERE id = %s",
            [other.pk, assignment.pk],
        )

    assert DecileAssignment.objects.get(pk=assignment.pk).household_id == assignment.household_id


def test_a_card_moved_to_a_person_who_does_not_exist_is_refused():
    head = make_household().members.get()
    copy("households_bankcard", CARD_COLUMNS, [card(head.pk)])

    with pytest.raises(IntegrityError, match="moves to person") as error:
        execute("UPDATE households_bankcard SET person_id = %s", [NO_SUCH_ID])

    assert refused_by(error) == "card_person_exists"
    assert BankCard.objects.get().person_id == head.pk


def test_a_card_may_move_to_another_person():
    """The banks' card-owner feed moves a card whose owner changed (households.card_import)."""
    head = make_household().members.get()
    copy("households_bankcard", CARD_COLUMNS, [card(head.pk)])
    other = make_household().members.get()

    execute("UPDATE households_bankcard SET person_id = %s", [other.pk])

    assert BankCard.objects.get().person_id == other.pk


def test_a_household_keeps_its_id():
    household = make_household()

    # The ledger's own trigger (settlements 0020) refuses this too, with its message; this one
    # names the table.
    with pytest.raises(IntegrityError, match=r"households_household \d+ keeps its id"):
        execute("UPDATE households_household SET id = %s WHERE id = %s", [NO_SUCH_ID, household.pk])


def test_a_person_keeps_their_id():
    person = make_household(members=1).members.get(is_head=False)

    with pytest.raises(IntegrityError, match="keeps its id"):
        execute("UPDATE households_person SET id = %s WHERE id = %s", [NO_SUCH_ID, person.pk])

    assert Person.objects.filter(pk=person.pk).exists()


# --- Parents go after their children --------------------------------------------------------------


def test_a_household_with_people_is_not_deleted():
    household = make_household()

    with pytest.raises(IntegrityError, match="still has people") as error:
        execute("DELETE FROM households_household WHERE id = %s", [household.pk])

    assert refused_by(error) == "person_household_exists"
    assert Household.objects.filter(pk=household.pk).exists()


def test_a_household_with_a_decile_is_not_deleted():
    household = make_household()

    with (
        pytest.raises(IntegrityError, match="still has decile assignments") as error,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM households_person WHERE household_id = %s", [household.pk])
        cursor.execute("DELETE FROM households_household WHERE id = %s", [household.pk])

    assert refused_by(error) == "decile_household_exists"
    assert household.members.exists()


def test_a_person_with_a_card_is_not_deleted():
    person = make_household(members=1).members.get(is_head=False)
    copy("households_bankcard", CARD_COLUMNS, [card(person.pk)])

    with pytest.raises(IntegrityError, match="still has bank cards") as error:
        execute("DELETE FROM households_person WHERE id = %s", [person.pk])

    assert refused_by(error) == "card_person_exists"
    assert Person.objects.filter(pk=person.pk).exists()


def test_a_household_deleted_through_django_goes_with_its_people_deciles_and_cards():
    household = make_household(members=2)
    head = household.members.get(is_head=True)
    copy("households_bankcard", CARD_COLUMNS, [card(head.pk), card(head.pk)])

    household.delete()

    assert not Household.objects.filter(pk=household.pk).exists()
    assert not Person.objects.filter(household_id=household.pk).exists()
    assert not DecileAssignment.objects.filter(household_id=household.pk).exists()
    assert not BankCard.objects.filter(person_id=head.pk).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_household_deleted_while_a_person_is_written_for_it_is_kept():
    """The race a foreign key's row lock used to close: the delete waits for the transaction that
    writes the person, then sees them and refuses."""
    household = make_household()
    writing = threading.Event()

    def delete_waits_on_the_writer() -> bool:
        with connection.cursor() as cursor:
            for _ in range(200):
                cursor.execute("SELECT pg_stat_clear_snapshot()")  # else read once per transaction
                cursor.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE 'DELETE FROM households_household%%'"
                )
                if cursor.fetchone():
                    return True
                time.sleep(0.05)
        return False

    def work(index: int) -> object:
        if index == 0:
            with transaction.atomic():
                copy_rows(
                    table="households_person", columns=PERSON_COLUMNS, rows=[child(household.pk)]
                )
                writing.set()
                return delete_waits_on_the_writer()
        writing.wait(10)
        with transaction.atomic(), connection.cursor() as cursor:
            # What the writer has not committed yet is not seen here: the head and the decile go.
            cursor.execute("DELETE FROM households_person WHERE household_id = %s", [household.pk])
            cursor.execute(
                "DELETE FROM households_decileassignment WHERE household_id = %s", [household.pk]
            )
            cursor.execute("DELETE FROM households_household WHERE id = %s", [household.pk])
        return "deleted"

    waited, deleted = in_threads(2, work)

    assert waited is True
    assert isinstance(deleted, IntegrityError) and "still has people" in str(deleted)
    assert Household.objects.filter(pk=household.pk).exists()
    assert household.members.count() == 2


# --- A household's province and city (households 0012) ------------------------------------------

HOUSEHOLD_COLUMNS = ("registry_code", "province_id", "city_id", "created_at", "updated_at")


def place_row(code: str, *, province_id: int, city_id: int) -> tuple:
    now = timezone.now()
    return (code, province_id, city_id, now, now)


@pytest.mark.parametrize(("place", "constraint"), [("province", "household_province_exists"), ("city", "household_city_exists")])  # fmt: skip
def test_a_copy_of_households_one_of_which_names_no_place_writes_none_of_them(place, constraint):
    existing = make_household()
    good = {"province_id": existing.province_id, "city_id": existing.city_id}
    bad = {**good, f"{place}_id": NO_SUCH_ID}
    rows = [place_row("place-1", **good), place_row("place-2", **bad), place_row("place-3", **good)]

    with pytest.raises(IntegrityError) as error:
        copy("households_household", HOUSEHOLD_COLUMNS, rows)

    assert refused_by(error) == constraint
    assert not Household.objects.filter(registry_code__startswith="place-").exists()


def test_a_household_moved_to_a_city_that_does_not_exist_is_refused():
    household = make_household()

    with pytest.raises(IntegrityError) as error:
        execute(
            "UPDATE households_household SET city_id = %s WHERE id = %s", [NO_SUCH_ID, household.pk]
        )

    assert refused_by(error) == "household_city_exists"
    household.refresh_from_db()
    assert household.city_id != NO_SUCH_ID


def test_a_city_or_province_a_household_names_is_not_deleted():
    household = make_household()

    for table, key in (
        ("households_city", household.city_id),
        ("households_province", household.province_id),
    ):
        with pytest.raises(IntegrityError, match="never deleted"):
            execute(f"DELETE FROM {table} WHERE id = %s", [key])  # noqa: S608 - constants

    assert Household.objects.filter(pk=household.pk, city_id=household.city_id).exists()


# --- The installed functions are the file ---------------------------------------------------------


def test_every_function_in_the_sql_files_is_installed_as_written():
    bodies = dict(
        re.findall(
            r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$\$(.*?)\$\$",
            load("registry_references.sql") + load("one_head.sql"),
            re.DOTALL,
        )
    )

    assert sorted(bodies) == [
        "households_check_household_exists",
        "households_check_moved_card_owner",
        "households_check_moved_household_place",
        "households_check_one_head",
        "households_check_person_exists",
        "households_check_places_exist",
        "households_refuse_key_change",
        "households_refuse_named_household_delete",
        "households_refuse_named_person_delete",
        "households_refuse_named_place_delete",
    ]
    with connection.cursor() as cursor:
        for name, body in bodies.items():
            cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [name])
            assert cursor.fetchall() == [(body,)], name
