"""Exactly one head per household, enforced by PostgreSQL at commit.

"At most one" is the partial unique index ``person_one_head_per_household``. "At least one" is
checked by deferred constraint triggers, fired only where a household could lose or lack its
head: a new household, and an update or delete of a row that was a head. Inserting ordinary
members fires nothing, so bulk loads stay cheap.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION households_check_one_head() RETURNS trigger AS $$
DECLARE
    target bigint;
    heads integer;
BEGIN
    IF TG_TABLE_NAME = 'households_household' THEN
        target := NEW.id;
    ELSE
        target := OLD.household_id;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM households_household WHERE id = target) THEN
        RETURN NULL;  -- the household itself was deleted
    END IF;
    SELECT count(*) INTO heads FROM households_person WHERE household_id = target AND is_head;
    IF heads <> 1 THEN
        RAISE EXCEPTION 'household % must have exactly one head, has %', target, heads
            USING ERRCODE = 'check_violation', CONSTRAINT = 'household_exactly_one_head';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER household_exactly_one_head_on_insert
    AFTER INSERT ON households_household
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION households_check_one_head();

CREATE CONSTRAINT TRIGGER household_exactly_one_head_on_head_change
    AFTER UPDATE OF is_head, household_id OR DELETE ON households_person
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (OLD.is_head) EXECUTE FUNCTION households_check_one_head();
"""

DROP = """
DROP TRIGGER IF EXISTS household_exactly_one_head_on_head_change ON households_person;
DROP TRIGGER IF EXISTS household_exactly_one_head_on_insert ON households_household;
DROP FUNCTION IF EXISTS households_check_one_head();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("households", "0002_provinces_and_cities")]
    operations = [migrations.RunPython(forwards, backwards)]
