from django.urls import path

from kalabarg.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("stores/", views.store_finder, name="stores"),
    path("stores/cities/", views.city_options, name="city-options"),
    path("login/", views.login, name="login"),
    path("login/code/", views.login_code, name="login-code"),
    path("login/resend/", views.login_resend, name="login-resend"),
    path("logout/", views.logout, name="logout"),
    path("me/", views.dashboard, name="dashboard"),
    path("me/household/", views.household, name="household"),
    path("me/household/purchase-sms/", views.purchase_sms, name="purchase-sms"),
    path("me/purchases/", views.purchases, name="purchases"),
    path("me/purchases/<int:purchase_id>/", views.purchase_detail, name="purchase"),
    path("me/objections/", views.objections, name="objections"),
    path("me/objections/new/", views.objection_new, name="objection-new"),
    path("me/objections/<int:objection_id>/", views.objection_detail, name="objection"),
    path("me/payment-code/", views.payment_code, name="payment-code"),
]
