"""The six officers' roles (kalabarg/backoffice/roles.py) as groups, on the models of this state.

Later models reach the roles through ``sync_roles`` on every ``migrate`` (the post_migrate
receiver in apps.py) or ``manage.py sync_roles``; this migration never needs editing for them.
"""

from typing import Any

from django.db import migrations


def create_roles(apps: Any, schema_editor: Any) -> None:
    from kalabarg.backoffice.roles import sync_roles

    sync_roles(apps=apps, using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("axes", "0010_accessattemptexpiration"),
        ("approvals", "0001_change_request"),
        ("households", "0009_bankcard_status"),
        ("stores", "0006_terminal_payment_code_blocked_until"),
        ("settlements", "0010_late_charge_schedule"),
        ("notifications", "0006_personal_decile_notice_index"),
    ]

    # Reversing leaves the groups: officers may be in them, and a group without its role's
    # permissions would be worse than one with them.
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop, elidable=False)]
