"""``/api/v1/``: the POS API, the store finder and (later) the household app API."""

from django.urls import path

from stores.api import BasketApi, StoreFinderApi

urlpatterns = [
    path("pos/basket/", BasketApi.as_view(), name="pos-basket"),
    path("stores/", StoreFinderApi.as_view(), name="store-finder"),
]
