"""The API is what its OpenAPI document says: schemathesis over every operation of the document
served at ``/api/schema/``, authenticated as a POS terminal and as a household."""

import pytest
from hypothesis import HealthCheck, settings

from tests.api.contract_support import credentials, left_out_checks, schema

pytestmark = pytest.mark.django_db


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case, api_world):  # type: ignore[no-untyped-def]
    sent = credentials(case, api_world)

    case.call_and_validate(headers=sent, excluded_checks=left_out_checks(case, sent))
