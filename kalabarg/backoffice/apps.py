from typing import Any

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def sync_roles_after_migrate(sender: AppConfig, *, using: str, **kwargs: Any) -> None:
    """Every ``migrate`` (and a test database's flush) ends with the roles in step with the code:
    a model added since gets its permissions into the roles whose rules name it."""
    from kalabarg.backoffice.roles import sync_roles

    apps = kwargs.get("apps") or global_apps  # a flush sends no state: the code's models
    try:
        for app_label, model in (("auth", "Group"), ("auth", "Permission")):
            apps.get_model(app_label, model)
    except LookupError:
        return  # a partial migrate that left auth out: the next migrate syncs the roles
    sync_roles(apps=apps, using=using)


class BackofficeConfig(AppConfig):
    """The officers' back office (roles, household 360°, purchases, objection queue)."""

    name = "kalabarg.backoffice"
    label = "backoffice"
    verbose_name = "پیشخوان کارشناسان"

    def ready(self) -> None:
        # Django sends post_migrate once per app that has models; this app has none, so the
        # roles ride on auth's (always installed, once per migrate). sync_roles makes every
        # app's permissions itself, so it does not matter which apps' handlers ran before.
        post_migrate.connect(
            sync_roles_after_migrate,
            sender=global_apps.get_app_config("auth"),
            dispatch_uid="kalabarg.backoffice.sync_roles",
        )
