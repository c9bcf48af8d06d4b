from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from kalabarg.health import healthz

admin.site.site_header = "سامانه کالابرگ الکترونیک — پیشخوان کارشناسان"
admin.site.site_title = "کالابرگ الکترونیک"
admin.site.index_title = "مدیریت"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # The back office's own pages (household 360°), before the admin site's catch-all.
    path("admin/backoffice/", include("kalabarg.backoffice.urls")),
    # The programme dashboard (/admin/programme/) and the public transparency page.
    path("", include("kalabarg.figures.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("kalabarg.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("kalabarg.portal.urls")),
]
