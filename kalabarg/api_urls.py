"""``/api/v1/``: the POS API, the store finder and (later) the household app API."""

from django.urls import path

from kalabarg.portal.api import PaymentCodeApi
from notifications.api import DeliveryReportApi
from settlements.api import PurchaseApi, ReversalApi
from stores.api import BasketApi, StoreFinderApi

urlpatterns = [
    path("pos/basket/", BasketApi.as_view(), name="pos-basket"),
    path("pos/purchases/", PurchaseApi.as_view(), name="pos-purchase"),
    path("pos/purchases/<int:purchase_id>/reversal/", ReversalApi.as_view(), name="pos-reversal"),
    path("stores/", StoreFinderApi.as_view(), name="store-finder"),
    path("me/payment-codes/", PaymentCodeApi.as_view(), name="me-payment-codes"),
    path("sms/delivery-reports/", DeliveryReportApi.as_view(), name="sms-delivery-reports"),
]
