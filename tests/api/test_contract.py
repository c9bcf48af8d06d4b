"""The API is what its OpenAPI document says: schemathesis over every operation of the document
served at ``/api/schema/``, authenticated as a POS terminal and as a household."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.urls import reverse
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi(f"{reverse('api-schema')}?format=json", APP)

# Operations whose valid input is more than a JSON schema can say: a national code or card number
# with a check digit, a login code that must match the one sent, a place or basket item that must
# exist, a purchase that must belong to the terminal. Their domain refusals (400/422 with a code in
# the document's error enum) are checked like every other answer; only the "schema-valid data is
# accepted" check is left out for them.
DOMAIN_RULES = {
    "auth_otp_request",
    "auth_token",
    "pos_purchase",
    "pos_purchase_reversal",
    "store_finder",
}

pytestmark = pytest.mark.django_db


def _credentials(case, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The real credential the operation's security scheme names (a terminal's key or a fresh
    household token: logging out ends the token it was called with)."""
    security = case.operation.definition.raw.get("security") or []
    names = {name for requirement in security for name in requirement}
    if "TerminalApiKey" in names:
        return {"Authorization": f"Api-Key {world['terminal_key']}"}
    if "HouseholdToken" in names:
        return {"Authorization": f"Bearer {world['household_token']()}"}
    if any(
        p.get("name") == "X-SMS-Webhook-Secret"
        for p in case.operation.definition.raw.get("parameters", [])
    ):
        return {"X-SMS-Webhook-Secret": world["webhook_secret"]}
    return {}


def _left_out_checks(case, credentials: dict[str, str]) -> list:  # type: ignore[no-untyped-def]
    operation_id = str(case.operation.definition.raw.get("operationId", ""))
    left_out = [positive_data_acceptance] if operation_id in DOMAIN_RULES else []
    if set(credentials) - set(case.headers or {}):
        # A negative case that dropped the credential's header is no longer negative once the
        # real credential is put back, so "invalid data is rejected" cannot judge it.
        left_out.append(negative_data_rejection)
    return left_out


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, api_world):  # type: ignore[no-untyped-def]
    credentials = _credentials(case, api_world)

    case.call_and_validate(headers=credentials, excluded_checks=_left_out_checks(case, credentials))
