"""The kinds of change that need a second officer, registered by the app that owns each.

An app registers its kinds in its ``AppConfig.ready`` (or from the admin module that proposes
them), so ``approvals`` never imports a domain app.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from approvals.models import ChangeRequest


@dataclass(frozen=True)
class Applied:
    """What applying a change did: ``result`` is kept on the request (ids, counts — never a
    secret); ``show_once`` is shown to the approving officer and kept nowhere (a new API key)."""

    result: dict[str, Any] = field(default_factory=dict)
    show_once: str = ""
    message: str = ""


@dataclass(frozen=True)
class ChangeKind:
    """One kind of change: its Persian name, how to check a request when it is made, and how to
    apply it on approval (inside the approval's transaction; raise ``ValidationError`` to refuse)."""

    code: str
    label: str
    apply: "Callable[[ChangeRequest, User], Applied]"
    check: "Callable[[ChangeRequest], None] | None" = None
    describe: "Callable[[ChangeRequest], list[tuple[str, str]]] | None" = None


_KINDS: dict[str, ChangeKind] = {}


def register(kind: ChangeKind) -> ChangeKind:
    """Make ``kind`` known; registering the same code twice keeps the last (module reloads)."""
    _KINDS[kind.code] = kind
    return kind


def kind_of(code: str) -> ChangeKind | None:
    return _KINDS.get(code)


def registered_kinds() -> dict[str, ChangeKind]:
    return dict(_KINDS)
