"""Who made a change: the context the triggers copy onto each event row.

- A web request: the officer (user id and username), the URL, the method and the request id, or
  the signed-in household member on the portal (``AuditContextMiddleware``, per statement
  through ``pghistory.context``).
- A Celery task: its name and id (``task_started``/``task_finished``, connected to Celery's
  signals in ``apps.py``); run eagerly inside a request or a command, it adds to theirs.
- A management command (``manage.py NAME``): the command, the operating-system user and the
  process id, set once per database connection for the whole session (``begin_command``), so
  the card import's worker thread, which opens a connection of its own, carries it too. The bulk
  loads among the commands also turn on ``kalabarg.bulk_load`` (see ``triggers.Inserted``).
- Raw SQL outside all of these (psql, another program): no context; the event row is still
  written, with no author.
"""

import getpass
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import pghistory
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper

from kalabarg.audit.triggers import BULK_LOAD_SETTING

# Commands that load the big registry tables in bulk (their inserts are not copied; see triggers).
BULK_COMMANDS = frozenset(
    {"import_households", "import_bank_cards", "generate_households", "seed_demo"}
)
# Commands with no session context: each request of the development server has its own.
COMMANDS_WITHOUT_CONTEXT = frozenset({"runserver", "help", "version", "check"})


@dataclass
class CommandContext:
    """The context of this process's management command, set on each of its connections."""

    metadata: dict[str, Any]
    bulk: bool
    id: uuid.UUID = field(default_factory=uuid.uuid4)


_command: CommandContext | None = None


def current_command() -> CommandContext | None:
    return _command


def _apply(wrapper: BaseDatabaseWrapper, context: CommandContext | None) -> None:
    """Sets (or clears) the session's context on one PostgreSQL connection."""
    if wrapper.vendor != "postgresql" or wrapper.connection is None:
        return
    with wrapper.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pghistory.context_id', %s, false),"
            " set_config('pghistory.context_metadata', %s, false),"
            " set_config(%s, %s, false)",
            [
                str(context.id) if context else "",
                DjangoJSONEncoder().encode(context.metadata) if context else "",
                BULK_LOAD_SETTING,
                "on" if context and context.bulk else "",
            ],
        )


def begin_command(name: str) -> CommandContext:
    """Names this process's command in every change it makes from now on (every connection it
    opens, and the one already open).

    The context is session state, so a command refuses to run through a transaction-mode pooler:
    there it would land on server connections other clients use next (their changes would carry
    the command's name) and miss the ones its own later transactions get; the bulk commands'
    staging tables span transactions too. Commands connect to PostgreSQL directly
    (docs/operations.md, "Connection pooling and the read replica")."""
    global _command
    if settings.DATABASE_POOL_MODE == "transaction":
        raise ImproperlyConfigured(
            f"manage.py {name} needs a direct connection: run it with DATABASE_URL pointing at "
            "PostgreSQL itself and DATABASE_POOL_MODE=none, not through PgBouncer"
        )
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (a container's anonymous uid)
        os_user = str(os.getuid())
    _command = CommandContext(
        metadata={"command": name, "os_user": os_user, "pid": os.getpid()},
        bulk=name in BULK_COMMANDS,
    )
    _apply(default_connection, _command)
    return _command


def end_command() -> None:
    """Forgets the command's context (tests; a process ends with its command otherwise)."""
    global _command
    _command = None
    _apply(default_connection, None)


def on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: a command's new connection carries its context."""
    if _command is not None:
        _apply(connection, _command)


def command_from_argv(argv: list[str]) -> str | None:
    """The command of ``manage.py NAME …``, or None for another program (gunicorn, celery,
    pytest) and for the development server."""
    if len(argv) < 2 or os.path.basename(argv[0]) != "manage.py":
        return None
    name = argv[1]
    if name.startswith("-") or name in COMMANDS_WITHOUT_CONTEXT:
        return None
    return name


# --- Celery tasks ---------------------------------------------------------------------------

_task_contexts: dict[str, pghistory.context] = {}


def task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    """``task_prerun`` receiver: the task's changes carry its name (and its command, if any)."""
    if task_id is None or task is None or default_connection.vendor != "postgresql":
        return
    metadata: dict[str, Any] = {"task": task.name, "task_id": task_id}
    if _command is not None:
        metadata = {**_command.metadata, **metadata}
    context = pghistory.context(**metadata)
    context.__enter__()
    _task_contexts[task_id] = context


def task_finished(task_id: str | None = None, **kwargs: Any) -> None:
    """``task_postrun`` receiver: leaves the task's context."""
    context = _task_contexts.pop(task_id or "", None)
    if context is not None:
        context.__exit__(None, None, None)
