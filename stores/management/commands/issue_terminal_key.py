"""``manage.py issue_terminal_key TERMINAL_ID``: a new API key for a POS terminal, printed once."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kalabarg.lib.persian import to_latin_digits
from stores import selectors, services


class Command(BaseCommand):
    help = (
        "Issue a new API key for a POS terminal and print it once on stdout. "
        "The terminal's old key stops working at once; only a SHA-256 hash of the new one is stored."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("terminal_id", help="the terminal's 8-digit id")

    def handle(self, *args: Any, **options: Any) -> None:
        terminal_id = to_latin_digits(options["terminal_id"]).strip()
        terminal = selectors.terminal_by_id(terminal_id=terminal_id)
        if terminal is None:
            raise CommandError(
                f"no terminal with id {terminal_id!r} (see the admin's terminal list)"
            )
        key = services.issue_terminal_key(terminal=terminal)
        # stdout carries the key alone, so it can be piped; the note goes to stderr.
        self.stdout.write(key)
        self.stderr.write(
            f"new key issued for terminal {terminal.terminal_id} ({terminal.store}); "
            "the old key is revoked. Copy the key now: it is not stored and will not be shown again."
        )
