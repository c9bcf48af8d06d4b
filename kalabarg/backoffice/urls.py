"""The back office's own admin pages, under ``/admin/backoffice/`` (``kalabarg/urls.py`` puts them
before the admin site's); each is wrapped by ``admin.site.admin_view`` (staff, TOTP, no cache)."""

from django.contrib import admin
from django.urls import path

from kalabarg.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path(
        "household/",
        admin.site.admin_view(views.household_search),
        name="household_search",
    ),
    path(
        "household/<int:household_id>/",
        admin.site.admin_view(views.household_360),
        name="household",
    ),
]
