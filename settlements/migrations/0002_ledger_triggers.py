"""PostgreSQL guards for the ledger.

- Journal entries and postings are append-only: UPDATE and DELETE are refused (a correction is a
  new reversing entry). TRUNCATE is left to operators and test teardown.
- Every statement that inserts postings must leave each entry it touches balanced: the
  statement's new postings, grouped by entry, sum to zero. Services always insert all legs of an
  entry in one statement, so this is checked once per statement, not once per row.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION settlements_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused (post a reversing entry instead)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER journalentry_append_only BEFORE UPDATE OR DELETE ON settlements_journalentry
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();
CREATE TRIGGER posting_append_only BEFORE UPDATE OR DELETE ON settlements_posting
    FOR EACH ROW EXECUTE FUNCTION settlements_refuse_change();

CREATE OR REPLACE FUNCTION settlements_check_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced bigint;
BEGIN
    SELECT entry_id INTO unbalanced FROM new_postings GROUP BY entry_id HAVING sum(amount_rial) <> 0 LIMIT 1;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'journal entry % does not balance: its postings must sum to zero', unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'entry_postings_sum_to_zero';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER posting_entries_balance AFTER INSERT ON settlements_posting
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION settlements_check_balanced();
"""

DROP = """
DROP TRIGGER IF EXISTS posting_entries_balance ON settlements_posting;
DROP TRIGGER IF EXISTS posting_append_only ON settlements_posting;
DROP TRIGGER IF EXISTS journalentry_append_only ON settlements_journalentry;
DROP FUNCTION IF EXISTS settlements_check_balanced();
DROP FUNCTION IF EXISTS settlements_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
