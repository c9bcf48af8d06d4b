"""The registry's high-volume references checked per statement instead of per row (issue 18).

``households/sql/registry_references.sql`` is loaded first: a statement inserting people,
decile assignments or bank cards must name parents that exist (as must a card moved to another
person), a person's and a decile's household and the parents' ids never change, and a household
that people or deciles name (a person that cards name) is never deleted. Then the three foreign
keys it replaces, person → household, decile assignment → household and card → person, are
dropped; their indexes stay (the delete checks and every reader use them). SQLite, the embedded
default, checks none of them, as for the ledger's households (settlements 0020)."""

import django.db.models.deletion
from django.db import migrations, models

from households.sql import load

CHECKS = load("registry_references.sql")
DROP_CHECKS = """
DROP TRIGGER IF EXISTS person_household_exists ON households_person;
DROP TRIGGER IF EXISTS decile_household_exists ON households_decileassignment;
DROP TRIGGER IF EXISTS card_person_exists ON households_bankcard;
DROP TRIGGER IF EXISTS person_household_never_changes ON households_person;
DROP TRIGGER IF EXISTS decile_household_never_changes ON households_decileassignment;
DROP TRIGGER IF EXISTS card_moves_to_a_person_who_exists ON households_bankcard;
DROP TRIGGER IF EXISTS household_id_never_changes ON households_household;
DROP TRIGGER IF EXISTS person_id_never_changes ON households_person;
DROP TRIGGER IF EXISTS household_named_by_registry_kept ON households_household;
DROP TRIGGER IF EXISTS person_named_by_card_kept ON households_person;
DROP FUNCTION IF EXISTS households_check_household_exists();
DROP FUNCTION IF EXISTS households_check_person_exists();
DROP FUNCTION IF EXISTS households_check_moved_card_owner();
DROP FUNCTION IF EXISTS households_refuse_key_change();
DROP FUNCTION IF EXISTS households_refuse_named_household_delete();
DROP FUNCTION IF EXISTS households_refuse_named_person_delete();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CHECKS, params=None)


def backwards(apps, schema_editor):
    # The foreign keys come back (the AlterFields' reverse), so the per-statement checks go.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_CHECKS, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('households', '0010_four_eyes_approver_and_import_reports'),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.AlterField(
            model_name='bankcard',
            name='person',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='cards', to='households.person', verbose_name='دارنده'),
        ),
        migrations.AlterField(
            model_name='decileassignment',
            name='household',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='deciles', to='households.household', verbose_name='خانوار'),
        ),
        migrations.AlterField(
            model_name='person',
            name='household',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='members', to='households.household', verbose_name='خانوار'),
        ),
    ]
