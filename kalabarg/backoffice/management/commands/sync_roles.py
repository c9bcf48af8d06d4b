"""``manage.py sync_roles``: put the six officers' groups in step with ``kalabarg/backoffice/roles.py``.

``migrate`` already does this at its end (the post_migrate receiver); run it by hand after
changing ``roles.py`` without a migration, or to see what each role holds (``-v 2``)."""

from typing import Any

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import DEFAULT_DB_ALIAS

from kalabarg.backoffice.roles import ROLES, sync_roles


class Command(BaseCommand):
    help = "Create or update the officers' role groups from kalabarg/backoffice/roles.py."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        before = {
            group.name: {
                f"{p.content_type.app_label}.{p.codename}"
                for p in group.permissions.select_related("content_type")
            }
            for group in Group.objects.using(using).filter(name__in=ROLES)
        }
        after = sync_roles(using=using)
        for name, held in after.items():
            was = before.get(name)
            if was is None:
                self.stdout.write(f"{name}: created with {len(held)} permissions")
            else:
                added, removed = sorted(held - was), sorted(was - held)
                change = f"+{len(added)} −{len(removed)}" if added or removed else "unchanged"
                self.stdout.write(f"{name}: {len(held)} permissions ({change})")
                if options["verbosity"] >= 1:
                    for codename in added:
                        self.stdout.write(f"  + {codename}")
                    for codename in removed:
                        self.stdout.write(f"  − {codename}")
            if options["verbosity"] >= 2:
                for codename in sorted(held):
                    self.stdout.write(f"    {codename}")
