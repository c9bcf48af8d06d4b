"""Admin forms whose rows are written by a service, not by ``ModelAdmin.save_model``/``save_formset``.

The service applies the rules, the lock and the audit author; the admin then carries on (log
entry, redirect, inline rows) with the row the service wrote.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest

M = TypeVar("M", bound=Model)


def adopt_row(obj: Model, created: Model) -> None:
    """Make the admin's unsaved ``obj`` the row the service wrote: the admin logs, redirects and
    saves inlines with ``obj``."""
    obj.pk = created.pk
    obj.refresh_from_db()
    obj._state.adding = False


def add_inline_rows(
    request: HttpRequest,
    formset: Any,
    *,
    create: Callable[[dict[str, Any]], M],
    refused: str | None = None,
) -> list[M]:
    """Each new row of an inline ``formset`` through ``create(cleaned_data)``; rows already
    saved are never edited or deleted here.

    With ``refused``, a ``ValidationError`` from the service (only a race gets here: the form
    already asked the service's rules) is shown as ``refused: <messages>`` and the row skipped;
    without it the error propagates.
    """
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for inline_form in formset.forms:
        if inline_form.instance.pk or not inline_form.has_changed():
            continue
        try:
            row = create(inline_form.cleaned_data)
        except ValidationError as exc:
            if refused is None:
                raise
            messages.error(request, f"{refused}: " + "؛ ".join(exc.messages))
            continue
        formset.new_objects.append(row)
    return list(formset.new_objects)
