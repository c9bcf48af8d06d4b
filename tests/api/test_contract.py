"""The API is what its OpenAPI document says: schemathesis over every operation of the document
served at ``/api/schema/``, authenticated as a POS terminal and as a household."""

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

APP = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", APP)

pytestmark = pytest.mark.django_db


def _credentials(case, world) -> dict[str, str]:  # type: ignore[no-untyped-def]
    security = case.operation.definition.raw.get("security") or []
    names = {name for requirement in security for name in requirement}
    if "TerminalApiKey" in names:
        return {"Authorization": f"Api-Key {world['terminal_key']}"}
    if "HouseholdToken" in names:
        return {"Authorization": f"Bearer {world['household_token']()}"}
    return {}


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, api_world):  # type: ignore[no-untyped-def]
    case.call_and_validate(headers=_credentials(case, api_world))
