"""The PL/pgSQL functions installed in the database are their files in ``settlements/sql``, byte
for byte: a migration loads the file, so an edit to a file without a migration that loads it again
would leave production running other code than the repository shows."""

import re

import pytest
from django.db import connection

from settlements.sql import function_body, load

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

FUNCTION = re.compile(r"CREATE OR REPLACE FUNCTION (\w+)\(.*?\$\$(.*?)\$\$", re.DOTALL)

SOURCES = {
    "checkout_record_purchase.sql": ["checkout_record_purchase"],
    "ledger_triggers.sql": [
        "settlements_refuse_change",
        "settlements_refuse_account_delete",
        "settlements_check_balanced",
    ],
    "hot_prepare.sql": ["kalabarg_prepare"],
    "household_references.sql": [
        "settlements_check_households_exist",
        "settlements_refuse_account_owner_change",
        "settlements_refuse_household_delete",
        "settlements_refuse_household_key_change",
    ],
    "money_partitions.sql": [
        "money_period_hint",
        "money_refuse_purchase_delete",
        "money_check_purchase_named",
        "money_check_entry_references",
    ],
    "pin_phases.sql": [
        "settlements_phase_is_pinned",
        "settlements_refuse_pinned_phase",
        "settlements_refuse_pinned_band",
    ],
}


def _installed_body(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [name])
        rows = cursor.fetchall()
    assert len(rows) == 1, f"{name}: {len(rows)} functions of that name"
    return str(rows[0][0])


def test_the_checkout_function_in_the_database_is_its_file():
    assert _installed_body("checkout_record_purchase") == function_body(
        "checkout_record_purchase.sql"
    )


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_every_function_in_a_sql_file_is_installed_as_written(source):
    bodies = dict(FUNCTION.findall(load(source)))

    assert sorted(bodies) == sorted(SOURCES[source])
    for name, body in bodies.items():
        assert _installed_body(name) == body, name
