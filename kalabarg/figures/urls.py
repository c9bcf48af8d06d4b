"""The programme dashboard under the admin (``admin.site.admin_view``: staff, TOTP, no cache) and
the public transparency page. ``kalabarg/urls.py`` puts these before the admin site's catch-all."""

from django.contrib import admin
from django.urls import path

from kalabarg.figures import views

app_name = "figures"

# The officers' pages (the permission matrix walks these: tests/backoffice/test_permission_matrix.py).
officer_urlpatterns = [
    path("admin/programme/", admin.site.admin_view(views.programme), name="programme"),
]

public_urlpatterns = [
    path("transparency/", views.transparency, name="transparency"),
]

urlpatterns = officer_urlpatterns + public_urlpatterns
