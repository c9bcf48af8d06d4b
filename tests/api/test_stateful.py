"""The API's OpenAPI links hold: schemathesis's stateful run follows them (a purchase to its
reversal, a filed objection to its page, the purchase list to a purchase) and every answer on
the way — link targets included — is documented and never a 5xx."""

import time
from collections import Counter
from itertools import count

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import Bundle, initialize
from schemathesis.generation.stateful.state_machine import StepInput

from households.models import Objection
from tests.api.contract_support import credentials, left_out_checks, schema

pytestmark = pytest.mark.django_db

PURCHASES_PATH = "/api/v1/pos/purchases/"
MY_PURCHASES_PATH = "/api/v1/me/purchases/"
MY_OBJECTIONS_PATH = "/api/v1/me/objections/"

BOUNDED = settings(
    max_examples=15,
    stateful_step_count=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_links_are_followed_and_every_answer_is_documented(api_world):  # type: ignore[no-untyped-def]
    followed: Counter[tuple[str, int]] = Counter()  # (link, status) of each link followed
    seed_keys = count()

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def _seed(self, case):  # type: ignore[no-untyped-def]
            self.recorder.record_case(case=case)
            output = self.step(StepInput.initial(case))
            assert output.response.status_code in (200, 201), output.response.text
            return output  # its answer feeds the operation's links like a generated step's

        @initialize(target=Bundle("catch_all"))
        def a_purchase_that_succeeds(self):  # type: ignore[no-untyped-def]
            # Schema-generated purchases are almost all refused (a card number needs a check digit
            # and a registered, covered head; items must be priced), so each scenario starts with
            # one known to be valid for this world. A small basket, so the credit lasts the run.
            return self._seed(
                schema[PURCHASES_PATH]["POST"].Case(
                    body={
                        "card_number": api_world["card"],
                        "lines": [{"item": "rice", "quantity": "1"}],
                    },
                    headers={"Idempotency-Key": f"stateful-seed-{next(seed_keys)}"},
                    media_type="application/json",
                )
            )

        @initialize(target=Bundle("catch_all"))
        def an_objection_filed(self):  # type: ignore[no-untyped-def]
            # Generated objections are filed too, but whether a bounded run then draws the link
            # from one of them depended on the answers before it (ids, times): every scenario
            # starts with one filed, so its page is always a link the run can follow.
            return self._seed(
                schema[MY_OBJECTIONS_PATH]["POST"].Case(
                    body={"category": "income_fell", "description": "درآمد خانوار کم شده است"},
                    media_type="application/json",
                )
            )

        @initialize(target=Bundle("catch_all"))
        def the_households_purchases(self):  # type: ignore[no-untyped-def]
            # The list is one root among several and a bounded run draws it rarely; read once
            # here, its newest purchase (made by an earlier step or scenario) can be followed.
            return self._seed(schema[MY_PURCHASES_PATH]["GET"].Case())

        def teardown(self) -> None:
            # A household has one open objection at a time: without this only the run's first
            # scenario could file one (201) and so follow its link.
            Objection.objects.filter(household=api_world["head"].household_id).delete()
            super().teardown()

        def step(self, input):  # type: ignore[no-untyped-def]
            output = super().step(input)
            if input.transition is not None and input.is_applied:
                followed[(input.transition.id, output.response.status_code)] += 1
            return output

        def get_call_kwargs(self, case):  # type: ignore[no-untyped-def]
            return {"headers": credentials(case, api_world)}

        def validate_response(self, response, case, additional_checks=None, **kwargs):  # type: ignore[no-untyped-def]
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=left_out_checks(case, kwargs["headers"]),
                # The credential is the real one: the auth check then probes without it instead
                # of taking a 2xx for "generated auth accepted".
                headers=kwargs["headers"],
                transport_kwargs=kwargs,
                recorder=self.recorder,
            )

    started = time.monotonic()
    Workflow.run(settings=BOUNDED)
    print(
        f"stateful run: {sum(followed.values())} link transitions in "
        f"{time.monotonic() - started:.1f}s: {dict(followed)}"
    )

    answered_ok = {link.split("] ")[1].split(" ->")[0] for link, status in followed if status < 300}
    assert {"ReverseThePurchase", "GetTheObjection", "GetTheNewestPurchase"} <= answered_ok
