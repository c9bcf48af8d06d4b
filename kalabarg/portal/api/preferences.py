"""``me/preferences/``: the household's own choices (the head's SMS after each purchase), as on
the portal's household page."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from kalabarg.lib.api import ApiError, StrictBooleanField
from kalabarg.portal.api.errors import error_responses
from kalabarg.portal.preferences import set_purchase_sms


class PreferencesIn(serializers.Serializer):
    purchase_sms = StrictBooleanField(
        help_text="Text the head after each purchase and reversal (store, credit used, balance)"
    )


PreferencesOut = inline_serializer("PreferencesOut", {"purchase_sms": serializers.BooleanField()})


class PreferencesApi(APIView):
    """Read or change the household's choices; only the head may change them."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me_preferences",
        tags=["me"],
        responses={200: PreferencesOut, **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        return Response({"purchase_sms": request_person(request).household.purchase_sms})

    @extend_schema(
        operation_id="me_preferences_update",
        tags=["me"],
        request=PreferencesIn,
        responses={200: PreferencesOut, **error_responses(400, 401, 403)},
    )
    def patch(self, request: Request) -> Response:
        person = request_person(request)
        # PATCH: a field left out keeps its value (the document makes every field optional).
        incoming = PreferencesIn(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        if "purchase_sms" not in incoming.validated_data:
            return Response({"purchase_sms": person.household.purchase_sms})
        enabled = incoming.validated_data["purchase_sms"]
        if not set_purchase_sms(person=person, enabled=enabled):
            raise ApiError(
                "not_head",
                "فقط سرپرست خانوار می‌تواند این را تغییر دهد",
                status_code=status.HTTP_403_FORBIDDEN,
            )
        return Response({"purchase_sms": enabled})
