"""Shared set-up for the money core's tests: a world in which a POS can sell."""

import pytest
from rest_framework.test import APIClient

from tests.households.factories import BankCardFactory, HouseholdFactory
from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal_with_key


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    """A decile-4 single-person household with 2,000,000 rial of credit this month, a card, a POS."""
    seeded_phases()
    household = HouseholdFactory(decile=4)
    head = household.members.get()
    card = BankCardFactory(person=head).number
    cycle = charge(this_month())
    set_prices("rice", 500_000, 800_000)
    set_prices("cheese", 1_500_000, 2_300_000)
    terminal, key = make_terminal_with_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return {
        "household": household,
        "head": head,
        "card": card,
        "cycle": cycle,
        "terminal": terminal,
        "client": client,
    }


@pytest.fixture
def celery_eager_setting(settings):  # type: ignore[no-untyped-def]
    """The embedded set-up: no broker, so the admin runs a run's chunks in the request."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
