"""No index of ours that another index already answers.

Django gives every foreign key an index of its own; where a composite index (or unique
constraint) of the same table starts with that key, the single-column one answers no query the
composite cannot, and still costs one index entry per row written: one per purchase line, per
decile, per household, per POS request. At national scale those are hundreds of millions of
entries a month (docs/decisions.md, "No index another index answers")."""

import pytest
from django.apps import apps
from django.db import connection

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

# Our apps' tables; third-party tables (auth, axes, beat, sessions) keep their own schema.
OUR_APPS = (
    "approvals", "households", "stores", "settlements", "notifications", "portal", "backoffice",
    "audit", "figures", "kalabarg_lib", "devdata",
)  # fmt: skip

# An index is redundant when it is a plain btree (not unique, no predicate, no expression) whose
# columns, operator classes and orderings are the leading ones of another btree index of the same
# table that has no predicate either: every look-up it serves, the other serves. Partitions are
# left out (their indexes are the partitioned table's).
_REDUNDANT_SQL = """
SELECT t.relname, ri.relname, ci.relname
FROM pg_index r
JOIN pg_index c ON c.indrelid = r.indrelid AND c.indexrelid <> r.indexrelid
JOIN pg_class t ON t.oid = r.indrelid
JOIN pg_class ri ON ri.oid = r.indexrelid
JOIN pg_class ci ON ci.oid = c.indexrelid
WHERE t.relname = ANY(%s) AND NOT t.relispartition
  AND ri.relam = (SELECT oid FROM pg_am WHERE amname = 'btree') AND ci.relam = ri.relam
  AND NOT r.indisunique AND r.indpred IS NULL AND r.indexprs IS NULL AND c.indpred IS NULL
  AND r.indnkeyatts <= c.indnkeyatts
  AND (r.indkey::int2[])[0:r.indnkeyatts - 1] = (c.indkey::int2[])[0:r.indnkeyatts - 1]
  AND (r.indclass::oid[])[0:r.indnkeyatts - 1] = (c.indclass::oid[])[0:r.indnkeyatts - 1]
  AND (r.indoption::int2[])[0:r.indnkeyatts - 1] = (c.indoption::int2[])[0:r.indnkeyatts - 1]
  AND (c.indexprs IS NULL OR NOT (0 = ANY((c.indkey::int2[])[0:r.indnkeyatts - 1])))
ORDER BY 1, 2, 3
"""


def _our_tables() -> list[str]:
    return [
        model._meta.db_table
        for label in OUR_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]


def test_no_index_of_ours_is_the_leading_part_of_another():
    tables = _our_tables()
    assert "stores_purchaseline" in tables and "households_decileassignment" in tables
    with connection.cursor() as cursor:
        cursor.execute(_REDUNDANT_SQL, [tables])
        redundant = cursor.fetchall()
    assert redundant == [], "\n".join(f"{t}: {r} is answered by {c}" for t, r, c in redundant)


def test_the_check_finds_an_index_another_one_answers():
    # The query above, held to a case it must catch: a foreign key's own index beside a
    # composite that leads with the same column.
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE redundant_probe (a bigint, b bigint, c text)")
        cursor.execute("CREATE INDEX redundant_probe_a ON redundant_probe (a)")
        cursor.execute("CREATE INDEX redundant_probe_a_b ON redundant_probe (a, b)")
        cursor.execute("CREATE INDEX redundant_probe_c_desc ON redundant_probe (c DESC)")
        cursor.execute("CREATE INDEX redundant_probe_c_b ON redundant_probe (c, b)")
        cursor.execute("CREATE INDEX redundant_probe_b_part ON redundant_probe (b) WHERE a > 0")
        cursor.execute(_REDUNDANT_SQL, [["redundant_probe"]])
        found = cursor.fetchall()
    # (c DESC) is not answered by (c, b) in its order; a partial index answers nothing whole.
    assert found == [("redundant_probe", "redundant_probe_a", "redundant_probe_a_b")]


def test_the_decile_officers_are_indexed_only_where_named():
    # Every imported, generated or objection-decided decile names no officer: a full index on
    # those columns held one NULL entry per decile in the country.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = 'households_decileassignment'::regclass AND i.indnkeyatts = 1 "
            "AND a.attname IN ('created_by_id', 'approved_by_id') ORDER BY 1"
        )
        indexes = cursor.fetchall()
    assert indexes == [
        ("approved_by_id", "(approved_by_id IS NOT NULL)"),
        ("created_by_id", "(created_by_id IS NOT NULL)"),
    ]
