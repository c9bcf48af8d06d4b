"""A household's province and city checked per statement, and the one-head check made cheaper
(issue 18: the generator's commit checks).

``households/sql/registry_references.sql`` is loaded again: a statement inserting households must
name a province and a city that exist, a household moved names ones that exist, and a province or
city that households name is never deleted nor its id changed. Then the two foreign keys it
replaces are dropped (their indexes stay). ``households/sql/one_head.sql`` replaces the body of the
deferred one-head check (0003): one count for a household that has its head. SQLite checks none of
this, as for the other registry references (0011)."""

import django.db.models.deletion
from django.db import migrations, models

from households.sql import load

DROP_CHECKS = """
DROP TRIGGER IF EXISTS household_places_exist ON households_household;
DROP TRIGGER IF EXISTS household_moves_to_a_place_that_exists ON households_household;
DROP TRIGGER IF EXISTS city_named_by_households_kept ON households_city;
DROP TRIGGER IF EXISTS province_named_by_households_kept ON households_province;
DROP TRIGGER IF EXISTS city_id_never_changes ON households_city;
DROP TRIGGER IF EXISTS province_id_never_changes ON households_province;
DROP FUNCTION IF EXISTS households_check_places_exist();
DROP FUNCTION IF EXISTS households_check_moved_household_place();
DROP FUNCTION IF EXISTS households_refuse_named_place_delete();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(load("registry_references.sql"), params=None)
        schema_editor.execute(load("one_head.sql"), params=None)


def backwards(apps, schema_editor):
    # The foreign keys come back (the AlterFields' reverse); the one-head body stays (same rule).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CHECKS, params=None)


class Migration(migrations.Migration):
    dependencies = [("households", "0011_registry_references_checked_per_statement")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name="household",
            name="province",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                to="households.province",
                verbose_name="استان",
            ),
        ),
        migrations.AlterField(
            model_name="household",
            name="city",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                to="households.city",
                verbose_name="شهر",
            ),
        ),
    ]
