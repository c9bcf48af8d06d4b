"""POS basket and the public store finder."""

from typing import Any

from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.models import City, Province
from kalabarg.lib.api import (
    PAGE_PARAMETERS,
    QUERY_TEXT_MAX_LENGTH,
    ApiError,
    NoCountPagination,
    error_schema,
    query_text,
)
from kalabarg.lib.persian import latin_number, normalize_text, to_latin_digits
from kalabarg.lib.replica import read_only_view
from stores import selectors
from stores.auth import TerminalApiKeyAuthentication

ErrorSerializer = error_schema("ApiError", field_error_name="FieldError")


class BasketApi(APIView):
    """The active basket items with their base and current prices now."""

    authentication_classes = [TerminalApiKeyAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    class BasketItemOutputSerializer(serializers.Serializer):
        code = serializers.CharField(source="item.code")
        name = serializers.CharField(source="item.name")
        unit = serializers.CharField(source="item.unit")
        group = serializers.CharField(source="item.group")
        base_price_rial = serializers.IntegerField(allow_null=True)
        current_price_rial = serializers.IntegerField(allow_null=True)

    @extend_schema(
        operation_id="pos_basket",
        tags=["pos"],
        responses={
            200: BasketItemOutputSerializer(many=True),
            401: ErrorSerializer,
            403: ErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        items = selectors.basket_with_prices(at=timezone.now())
        return Response(self.BasketItemOutputSerializer(items, many=True).data)


@method_decorator(read_only_view, name="get")
class StoreFinderApi(APIView):
    """Connected stores by province, city and a name fragment (public, paginated, by name)."""

    authentication_classes: list[Any] = []
    permission_classes = [permissions.AllowAny]

    class StoreOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        province = serializers.CharField(source="province.name")
        city = serializers.CharField(source="city.name")
        address = serializers.CharField()
        latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)
        longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True)

    @extend_schema(
        operation_id="store_finder",
        tags=["stores"],
        parameters=[
            OpenApiParameter(
                "province",
                {"type": "string", "maxLength": QUERY_TEXT_MAX_LENGTH},
                description="province code (01–31) or Persian name",
            ),
            OpenApiParameter(
                "city",
                {"type": "string", "maxLength": QUERY_TEXT_MAX_LENGTH},
                description="city id or Persian name (within the province)",
            ),
            OpenApiParameter(
                "q",
                {"type": "string", "maxLength": QUERY_TEXT_MAX_LENGTH},
                description="part of the store's name (the first 64 characters count)",
            ),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: inline_serializer(
                "StorePage",
                {
                    "page": serializers.IntegerField(),
                    "page_size": serializers.IntegerField(),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                    "results": StoreOutputSerializer(many=True),
                },
            ),
            400: ErrorSerializer,
        },
    )
    def get(self, request: Request) -> Response:
        filters = resolve_store_filters(request.query_params)
        stores = selectors.connected_stores(**filters)
        rows, meta = NoCountPagination().paginate(stores, request)
        return Response({**meta, "results": self.StoreOutputSerializer(rows, many=True).data})


def resolve_store_filters(params: Any) -> dict[str, Any]:
    """Turn ``province``, ``city`` and ``q`` into ids and text; an unknown place is a 400, not an empty list."""
    province_raw = normalize_text(to_latin_digits(query_text(params, "province")))
    city_raw = normalize_text(to_latin_digits(query_text(params, "city")))
    query = normalize_text(query_text(params, "q"))[:64]
    province = None
    if province_raw:
        province_code = latin_number(province_raw, max_digits=2)
        province = (
            Province.objects.filter(code=f"{province_code:02d}").first()
            if province_code is not None
            else None
        )
        province = province or Province.objects.filter(name=province_raw).first()
        if province is None:
            raise ApiError("province_unknown", "چنین استانی پیدا نشد", field="province")
    city = None
    if city_raw:
        cities = City.objects.filter(province=province) if province else City.objects.all()
        city_id = latin_number(city_raw, max_digits=9)
        city = (
            cities.filter(pk=city_id).first()
            if city_id is not None
            else cities.filter(name=city_raw).first()
        )
        if city is None:
            raise ApiError("city_unknown", "چنین شهری در این استان پیدا نشد", field="city")
    return {
        "province_id": province.pk if province else (city.province_id if city else None),
        "city_id": city.pk if city else None,
        "query": query,
    }
