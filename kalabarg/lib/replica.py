"""Reads from the streaming replica, and only where a page has said it may.

A read goes to the ``replica`` database (``DATABASE_REPLICA_URL``) only inside an explicit
read-only scope: :func:`reads_from_replica` (a context manager, or a decorator) or
:func:`read_only_view` (a view's GET and HEAD, with the fallback below). Everything else, every
write and the money path read and write the primary (``default``): the router's default is the
primary, not the alias an object was loaded from. Even inside the scope the primary is read

- inside a transaction on the primary (``transaction.atomic``): what it has written must be seen;
- for the signed-in officer's or household's session, account, permissions and second factor
  (:data:`PRIMARY_ONLY_APPS`), written a moment ago by a login or a grant that the replica may
  not have replayed yet;
- while the replica is marked down (:func:`mark_replica_down`).

**Fallback.** A read-only page whose replica reads fail because the replica cannot be reached
(no connection, or the connection died) is run again on the primary, and the replica is left
alone for ``DATABASE_REPLICA_RETRY_SECONDS``; a warning is logged. The pages are read-only, so
running one again repeats nothing. docs/decisions.md, "Connection pooling and a read replica".
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

logger = logging.getLogger(__name__)

REPLICA = "replica"
# Read on the primary even in the scope: the request's own identity (see the module's docstring).
PRIMARY_ONLY_APPS = frozenset(
    {"sessions", "auth", "contenttypes", "admin", "otp_totp", "otp_static", "axes"}
)

_in_scope: ContextVar[bool] = ContextVar("kalabarg_replica_reads", default=False)
_down_lock = threading.Lock()
_down_until = 0.0

T = TypeVar("T")


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_usable() -> bool:
    """A replica is configured and has not failed in the last ``DATABASE_REPLICA_RETRY_SECONDS``."""
    return replica_configured() and time.monotonic() >= _down_until


def mark_replica_down() -> None:
    """Read the primary instead for ``DATABASE_REPLICA_RETRY_SECONDS`` (this process)."""
    global _down_until
    with _down_lock:
        _down_until = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    try:
        connections[REPLICA].close()
    except Exception:
        logger.debug("closing the replica connection failed", exc_info=True)


def mark_replica_up() -> None:
    """Forget an earlier failure (tests; an operator's shell after repairing the replica)."""
    global _down_until
    with _down_lock:
        _down_until = 0.0


@contextmanager
def reads_from_replica() -> Iterator[None]:
    """Inside: reads may go to the replica (``with reads_from_replica():`` or as a decorator)."""
    token = _in_scope.set(True)
    try:
        yield
    finally:
        _in_scope.reset(token)


@contextmanager
def on_primary() -> Iterator[None]:
    """Inside: every read on the primary, even within an enclosing :func:`reads_from_replica`."""
    token = _in_scope.set(False)
    try:
        yield
    finally:
        _in_scope.reset(token)


def _replica_failed() -> bool:
    """Whether the replica's connection is missing or broken (after an error in the scope)."""
    if not replica_configured():
        return False
    replica = connections[REPLICA]
    return replica.connection is None or not replica.is_usable()


def with_replica_fallback(read: Callable[[], T]) -> T:
    """``read()`` in the read-only scope; run again on the primary if the replica cannot be
    reached. ``read`` must not write (it may run twice)."""
    if not replica_usable():
        return read()
    try:
        with reads_from_replica():
            return read()
    except (OperationalError, InterfaceError) as error:
        if not _replica_failed():
            raise
        logger.warning("replica unreachable, reading the primary: %s", error)
        mark_replica_down()
        return read()


def read_only_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A view whose GET and HEAD read from the replica (with the fallback to the primary); its
    other methods (a form's POST) run on the primary. A template response is rendered inside the
    scope, so the queries its template runs read there too."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in {"GET", "HEAD"}:
            return view(request, *args, **kwargs)

        def page() -> HttpResponse:
            response = view(request, *args, **kwargs)
            if isinstance(response, TemplateResponse) and not response.is_rendered:
                response.render()
            return response

        return with_replica_fallback(page)

    return wrapper


class ReplicaRouter:
    """``DATABASE_ROUTERS``: the replica for reads in the scope, the primary for everything else."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        if (
            _in_scope.get()
            and model._meta.app_label not in PRIMARY_ONLY_APPS
            and replica_usable()
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        # Not None: Django would then read related rows from the alias an object came from.
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        # Always the primary, even for an object read from the replica.
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        aliases = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in aliases and obj2._state.db in aliases:
            return True  # the same rows, one a moment behind
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
