"""The POS purchase's write as one PostgreSQL function call (one round trip, its own transaction).

``checkout_record_purchase`` does what ``settlements.services.checkout`` does in Python on other
databases, in the same order and under the same lock: lock the wallet row, split the difference
(credit = min(difference, balance), compensation = the rest), insert the purchase and its lines,
post the entry (wallet −credit, inflation fund −compensation, store payable +both; zero legs
dropped) with a guarded debit, read the cycle's credit spend and bonus under the lock, complete
the answer and remember it under the idempotency key.

PL/pgSQL rather than one statement of data-modifying CTEs: each statement in a function takes a
fresh snapshot, so the spend read after the wallet lock sees every purchase that committed
before the lock was granted (a single statement's snapshot would predate the wait).

``tests/settlements/test_checkout_function.py`` runs the same purchases through the function and
through the Python path and compares the answers, the rows and the ledger. The source is
``settlements/sql/checkout_record_purchase.sql``; a change to it is a new migration that loads it
again (``tests/settlements/test_sql_sources.py`` checks the database holds the file's body).
"""

from django.db import migrations

from settlements.sql import load

CREATE = load("checkout_record_purchase.sql")

DROP = """
DROP FUNCTION IF EXISTS checkout_record_purchase(
    bigint, bigint, bigint, bigint, text, text, text, text, text, bigint, bigint, timestamptz,
    bigint[], numeric[], bigint[], bigint[], bigint[], bigint[], bigint, text, bigint,
    bigint, bigint, bigint, bigint, bigint, text, jsonb);
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0006_pin_phases_with_money"),
        ("stores", "0005_purchase_paid_with_idempotencyrecord"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
