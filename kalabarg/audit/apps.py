"""The audit trail with values: who changed what, when, from what to what (django-pghistory
database triggers, so imports and raw SQL are recorded too). On top, beside the portal: it tracks
models of every app below it and is imported by none of them.
"""

import logging
import sys
from typing import Any

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate

logger = logging.getLogger(__name__)


def install_triggers(using: str = "default", **kwargs: Any) -> list[str]:
    """Installs the pgtrigger triggers (the trail's and the event tables' append-only guards) that
    are missing or differ from their definition, and drops pgtrigger triggers no model declares.

    Runs after every ``migrate`` (and a test database's flush). An unchanged trigger is left
    alone: re-creating it would take a lock on a busy table at every deploy. Returns the URIs of
    the triggers it installed."""
    from django.db import connections
    from pgtrigger import core, installation, registry

    if connections[using].vendor != "postgresql":
        return []
    installed = []
    for model, trigger in registry.registered():
        status, _ = trigger.get_installation_status(model, database=using)
        if status in (core.UNINSTALLED, core.OUTDATED):
            trigger.install(model, database=using)
            installed.append(trigger.get_uri(model))
    installation.prune(database=using)
    if installed:
        logger.info("audit: installed %d triggers", len(installed))
    return installed


class AuditConfig(AppConfig):
    """The audit trail of officers' and imports' changes, with old and new values."""

    name = "kalabarg.audit"
    label = "audit"
    verbose_name = "سابقه تغییرات"

    def ready(self) -> None:
        from celery.signals import task_postrun, task_prerun

        from kalabarg.audit import context

        post_migrate.connect(install_triggers, sender=self, dispatch_uid="audit-install-triggers")
        connection_created.connect(context.on_connection_created, dispatch_uid="audit-command")
        task_prerun.connect(context.task_started, dispatch_uid="audit-task-started")
        task_postrun.connect(context.task_finished, dispatch_uid="audit-task-finished")
        command = context.command_from_argv(sys.argv)
        if command is not None:
            context.begin_command(command)
