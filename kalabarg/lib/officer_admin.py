"""The admin app with the officers' own default site (loaded before any model, so it imports none)."""

from django.contrib.admin.apps import AdminConfig


class OfficerAdminConfig(AdminConfig):
    """``django.contrib.admin`` whose ``admin.site`` is ``OfficerAdminSite``: every app's
    ``@admin.register`` lands on the site that asks officers for their TOTP code."""

    default_site = "kalabarg.lib.officer_auth.OfficerAdminSite"
