"""``me/objections/``: the household's decile objections; filing one."""

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from households.models import ObjectionCategory
from households.objections import file_objection
from kalabarg.lib.api import ApiError, NoCountPagination, StrictCharField
from kalabarg.portal import selectors
from kalabarg.portal.api.errors import error_responses
from kalabarg.portal.api.paging import PAGE_PARAMETERS, page_schema


class MyObjectionOut(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.CharField()
    category_display = serializers.CharField(source="get_category_display")
    description = serializers.CharField()
    decile_at_filing = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    status_display = serializers.CharField(source="get_status_display")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_reason = serializers.CharField()
    new_decile = serializers.IntegerField(allow_null=True)
    new_decile_from = serializers.DateField(allow_null=True)


class MyObjectionsApi(APIView):
    """The household's decile objections (درخواست بازبینی دهک), and filing a new one.

    One open objection per household at a time: a second is ``objection_already_open`` (409)."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    class ObjectionInSerializer(serializers.Serializer):
        category = serializers.ChoiceField(choices=ObjectionCategory.choices)
        description = StrictCharField(max_length=1000)

    @extend_schema(
        operation_id="me_objections",
        tags=["me"],
        parameters=PAGE_PARAMETERS,
        responses={
            200: page_schema("ObjectionPage", MyObjectionOut(many=True)),
            **error_responses(400, 401),
        },
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        queryset = selectors.household_objections(household_id=person.household_id)
        rows, meta = NoCountPagination().paginate(queryset, request)
        return Response({**meta, "results": MyObjectionOut(rows, many=True).data})

    @extend_schema(
        operation_id="me_objection_create",
        tags=["me"],
        request=ObjectionInSerializer,
        responses={201: MyObjectionOut, **error_responses(400, 401, 409)},
    )
    def post(self, request: Request) -> Response:
        data = self.ObjectionInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            objection = file_objection(
                person=request_person(request),
                category=data.validated_data["category"],
                description=data.validated_data["description"],
            )
        except ValidationError as exc:
            if getattr(exc, "code", None) == "objection_already_open":
                raise ApiError(
                    "objection_already_open",
                    exc.messages[0],
                    status_code=status.HTTP_409_CONFLICT,
                ) from None
            raise
        return Response(MyObjectionOut(objection).data, status=status.HTTP_201_CREATED)


class MyObjectionApi(APIView):
    """One objection of the household, with the officer's decision once made."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_objection",
        tags=["me"],
        responses={200: MyObjectionOut, **error_responses(401, 404)},
    )
    def get(self, request: Request, objection_id: int) -> Response:
        person = request_person(request)
        objection = selectors.household_objection(
            household_id=person.household_id, objection_id=objection_id
        )
        if objection is None:
            raise ApiError("not_found", "درخواست پیدا نشد", status_code=status.HTTP_404_NOT_FOUND)
        return Response(MyObjectionOut(objection).data)
