"""``me/``: the signed-in person's household, decile, eligibility, balance and bonus progress."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from households.auth import HouseholdTokenAuthentication, request_person
from kalabarg.portal import selectors
from kalabarg.portal.api.errors import error_responses


class MyMemberOut(serializers.Serializer):
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    relation = serializers.CharField()
    relation_display = serializers.CharField(source="get_relation_display")
    is_head = serializers.BooleanField()
    national_code_masked = serializers.CharField(source="masked_national_code")


class MeApi(APIView):
    """The signed-in person's household: decile, eligibility, credit balance, bonus progress."""

    authentication_classes = [HouseholdTokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="me",
        tags=["me"],
        responses={
            200: inline_serializer(
                "Me",
                {
                    "person": MyMemberOut(),
                    "household": inline_serializer(
                        "MeHousehold",
                        {
                            "province": serializers.CharField(),
                            "city": serializers.CharField(),
                            "members": MyMemberOut(many=True),
                            "purchase_sms": serializers.BooleanField(
                                help_text="The head is texted after each purchase (me/preferences/)"
                            ),
                        },
                    ),
                    "decile": inline_serializer(
                        "MeDecile",
                        {
                            "decile": serializers.IntegerField(),
                            "effective_from": serializers.DateField(),
                        },
                        allow_null=True,
                    ),
                    "eligibility": inline_serializer(
                        "MeEligibility",
                        {
                            "covered": serializers.BooleanField(),
                            "phase": serializers.CharField(allow_null=True),
                            "basis": serializers.CharField(allow_null=True),
                            "cash_subsidy_rial": serializers.IntegerField(allow_null=True),
                            "credit_per_cycle_rial": serializers.IntegerField(allow_null=True),
                            # Not covered today but charged this cycle: spendable until then.
                            "spendable_until": serializers.DateField(allow_null=True),
                        },
                    ),
                    "balance_rial": serializers.IntegerField(),
                    "bonus": inline_serializer(
                        "MeBonusProgress",
                        {
                            "cycle": serializers.CharField(),
                            "spent_rial": serializers.IntegerField(),
                            "threshold_rial": serializers.IntegerField(),
                            "remaining_rial": serializers.IntegerField(),
                            "bonus_rial": serializers.IntegerField(),
                            "percent": serializers.IntegerField(),
                            "granted": serializers.BooleanField(
                                help_text="a bonus is in force this cycle (not taken back by a reversal)"
                            ),
                        },
                        allow_null=True,
                    ),
                    "open_objection_id": serializers.IntegerField(allow_null=True),
                },
            ),
            **error_responses(401),
        },
    )
    def get(self, request: Request) -> Response:
        person = request_person(request)
        d = selectors.dashboard(person=person)
        members = selectors.household_members(household_id=person.household_id)
        household = person.household
        progress = d.progress
        objection = d.latest_objection
        return Response(
            {
                "person": MyMemberOut(person).data,
                "household": {
                    "province": household.province.name,
                    "city": household.city.name,
                    "members": MyMemberOut(members, many=True).data,
                    "purchase_sms": household.purchase_sms,
                },
                "decile": (
                    {"decile": d.decile.decile, "effective_from": d.decile.effective_from}
                    if d.decile
                    else None
                ),
                "eligibility": {
                    "covered": d.covered,
                    "phase": d.phase.name if d.covered and d.phase else None,
                    "basis": d.phase.basis if d.covered and d.phase else None,
                    "cash_subsidy_rial": d.cash_subsidy_rial,
                    "credit_per_cycle_rial": d.credit_per_cycle_rial,
                    "spendable_until": d.spendable_until,
                },
                "balance_rial": d.balance_rial,
                "bonus": (
                    {
                        "cycle": d.cycle.key if d.cycle else "",
                        "spent_rial": progress.spent_rial,
                        "threshold_rial": progress.threshold_rial,
                        "remaining_rial": progress.remaining_rial,
                        "bonus_rial": progress.bonus_rial,
                        "percent": progress.percent,
                        "granted": progress.granted,
                    }
                    if progress
                    else None
                ),
                "open_objection_id": objection.pk if objection and objection.is_open else None,
            }
        )
