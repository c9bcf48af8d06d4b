from django.urls import path

from kalabarg.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/", views.store_finder, name="stores"),
    path("stores/cities/", views.city_options, name="city-options"),
]
