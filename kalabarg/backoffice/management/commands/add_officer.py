"""``manage.py add_officer USERNAME --role ROLE``: an officer (a staff user) in one or more roles.

Creates the user, or updates an existing one: it becomes an active staff user whose role groups
are exactly the ``--role`` given (other groups are kept). The password is asked twice at the
terminal (or read from standard input with ``--password-stdin``, for scripts) and checked by
the password validators; an existing officer keeps theirs unless ``--set-password``. Then it
reminds to enrol the authenticator app: ``manage.py officer_totp USERNAME``.
"""

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from kalabarg.backoffice.roles import ROLES, sync_roles


class Command(BaseCommand):
    help = "Create or update an officer (a staff user) in the given roles."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            required=True,
            choices=sorted(ROLES),
            help="the officer's role (repeat for more than one); replaces their earlier roles",
        )
        parser.add_argument("--email", default=None)
        parser.add_argument("--first-name", default=None)
        parser.add_argument("--last-name", default=None)
        parser.add_argument(
            "--set-password",
            action="store_true",
            help="ask for a new password for an existing officer (a new one always gets one)",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of asking",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"].strip()
        if not username:
            raise CommandError("the username is empty")
        roles = sorted(set(options["role"]))
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        created = user is None
        if user is None:
            user = user_model(**{user_model.USERNAME_FIELD: username})
        for option, attribute in (
            ("email", "email"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
        ):
            if options[option] is not None:
                setattr(user, attribute, options[option].strip())
        password = None
        if created or options["set_password"] or options["password_stdin"]:
            stdin = options.get("stdin") or sys.stdin  # call_command(stdin=…) in tests
            password = self._password(user, stdin=stdin, from_stdin=options["password_stdin"])

        with transaction.atomic():
            if Group.objects.filter(name__in=roles).count() < len(roles):
                sync_roles()  # a database migrated before the roles existed
            user.is_staff = True
            user.is_active = True
            if password is not None:
                user.set_password(password)
            user.save()
            others = user.groups.filter(name__in=ROLES).exclude(name__in=roles)
            user.groups.remove(*others)
            user.groups.add(*Group.objects.filter(name__in=roles))

        verb = "created" if created else "updated"
        self.stdout.write(f"Officer {username} {verb}; roles: {', '.join(roles)}.")
        if user.is_superuser:
            self.stdout.write(
                self.style.WARNING(f"{username} is a superuser: roles do not limit a superuser.")
            )
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            self.stdout.write(
                self.style.WARNING(
                    f"Next: enrol their authenticator app with `manage.py officer_totp {username}`"
                    " (the admin refuses an officer without one)."
                )
            )

    def _password(self, user: Any, *, stdin: Any, from_stdin: bool) -> str:
        if from_stdin:
            password = stdin.readline().rstrip("\r\n")
        else:
            if not stdin.isatty():
                raise CommandError(
                    "no terminal to ask for the password: use --password-stdin in scripts"
                )
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("the two passwords differ; nothing was changed")
        if not password:
            raise CommandError("the password is empty; nothing was changed")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError("password refused: " + " ".join(exc.messages)) from exc
        return password
