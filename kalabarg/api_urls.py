"""``/api/v1/``: the POS API, the store finder and the household app API."""

from django.urls import path

from kalabarg.portal import api as me
from notifications.api import DeliveryReportApi
from settlements.api import PurchaseApi, ReversalApi
from stores.api import BasketApi, StoreFinderApi

urlpatterns = [
    path("pos/basket/", BasketApi.as_view(), name="pos-basket"),
    path("pos/purchases/", PurchaseApi.as_view(), name="pos-purchase"),
    path("pos/purchases/<int:purchase_id>/reversal/", ReversalApi.as_view(), name="pos-reversal"),
    path("stores/", StoreFinderApi.as_view(), name="store-finder"),
    path("auth/otp/", me.LoginCodeApi.as_view(), name="auth-otp"),
    path("auth/token/", me.TokenApi.as_view(), name="auth-token"),
    path("auth/logout/", me.LogoutApi.as_view(), name="auth-logout"),
    path("me/", me.MeApi.as_view(), name="me"),
    path("me/purchases/", me.MyPurchasesApi.as_view(), name="me-purchases"),
    path("me/purchases/<int:purchase_id>/", me.MyPurchaseApi.as_view(), name="me-purchase"),
    path("me/objections/", me.MyObjectionsApi.as_view(), name="me-objections"),
    path("me/objections/<int:objection_id>/", me.MyObjectionApi.as_view(), name="me-objection"),
    path("me/payment-codes/", me.PaymentCodeApi.as_view(), name="me-payment-codes"),
    path("me/preferences/", me.PreferencesApi.as_view(), name="me-preferences"),
    path("sms/delivery-reports/", DeliveryReportApi.as_view(), name="sms-delivery-reports"),
]
