"""What the contract tests share: the OpenAPI document served at ``/api/schema/`` loaded by
schemathesis over the WSGI app, the real credential each operation's security scheme names, and
the checks that cannot judge an operation's answers."""

import schemathesis
from django.core.wsgi import get_wsgi_application
from django.urls import reverse
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


def credentials(case, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
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


def left_out_checks(case, sent_credentials: dict[str, str]) -> list:  # type: ignore[no-untyped-def]
    operation_id = str(case.operation.definition.raw.get("operationId", ""))
    left_out = [positive_data_acceptance] if operation_id in DOMAIN_RULES else []
    if set(sent_credentials) - set(case.headers or {}):
        # A negative case that dropped the credential's header is no longer negative once the
        # real credential is put back, so "invalid data is rejected" cannot judge it.
        left_out.append(negative_data_rejection)
    return left_out
