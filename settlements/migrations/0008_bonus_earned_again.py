"""A bonus taken back by a reversal can be earned again (issue 13 §2).

At most one bonus is *in force* per household and cycle (a bonus entry no reversal names), not one
bonus entry: the unique index on (household, cycle) of bonus entries goes, and
``checkout_record_purchase`` is loaded again from ``settlements/sql/checkout_record_purchase.sql``
so that its ``granted`` counts only a bonus in force (as ``settlements.selectors.cycle_spend``).
The function's signature is unchanged, so going back reloads nothing: 0007's text is history.
"""

from django.db import migrations, models

from settlements.sql import load

CREATE = load("checkout_record_purchase.sql")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


class Migration(migrations.Migration):
    dependencies = [("settlements", "0007_checkout_function")]
    operations = [
        migrations.RemoveConstraint(
            model_name="journalentry", name="entry_one_bonus_per_household_cycle"
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
    ]
