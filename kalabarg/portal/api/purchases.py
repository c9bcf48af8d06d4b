"""``me/purchases/``: the household's purchases (paginated, no count) and one with its items."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from kalabarg.lib.api import ApiError, NoCountPagination
from kalabarg.portal import selectors
from kalabarg.portal.api.errors import error_responses
from kalabarg.portal.api.paging import PAGE_PARAMETERS, page_schema


class MyPurchaseSummaryOut(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.CharField(source="store.name")
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    paid_with = serializers.CharField()
    base_total_rial = serializers.IntegerField()
    current_total_rial = serializers.IntegerField()
    cash_rial = serializers.IntegerField(help_text="paid by the household (base prices)")
    credit_rial = serializers.IntegerField(help_text="from the kalabarg credit")
    compensation_rial = serializers.IntegerField(help_text="government inflation compensation")


class MyPurchaseLineOut(serializers.Serializer):
    item = serializers.CharField(source="item.code")
    name = serializers.CharField(source="item.name")
    unit = serializers.CharField(source="item.unit")
    quantity = serializers.DecimalField(max_digits=10, decimal_places=3)
    unit_base_price_rial = serializers.IntegerField()
    unit_current_price_rial = serializers.IntegerField()
    base_amount_rial = serializers.IntegerField()
    current_amount_rial = serializers.IntegerField()


class MyPurchaseDetailOut(MyPurchaseSummaryOut):
    city = serializers.CharField(source="store.city.name")
    province = serializers.CharField(source="store.province.name")
    reversed_at = serializers.DateTimeField(allow_null=True)
    card_last4 = serializers.CharField()
    lines = MyPurchaseLineOut(many=True, source="lines.all")


class MyPurchasesApi(APIView):
    """The household's purchases, newest first, without a full count."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_purchases",
        tags=["me"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_schema("PurchasePage", MyPurchaseSummaryOut(many=True)),
            **error_responses(400, 401),
        },
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        queryset = selectors.household_purchases(household_id=person.household_id)
        rows, meta = NoCountPagination().paginate(queryset, request)
        return Response({**meta, "results": MyPurchaseSummaryOut(rows, many=True).data})


class MyPurchaseApi(APIView):
    """One purchase of the household with its items and the cash / credit / compensation split."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_purchase",
        tags=["me"],
        responses={200: MyPurchaseDetailOut, **error_responses(401, 404)},
    )
    def get(self, request: Request, purchase_id: int) -> Response:
        person = request_person(request)
        purchase = selectors.household_purchase(
            household_id=person.household_id, purchase_id=purchase_id
        )
        if purchase is None:
            raise ApiError("not_found", "خرید پیدا نشد", status_code=status.HTTP_404_NOT_FOUND)
        return Response(MyPurchaseDetailOut(purchase).data)
