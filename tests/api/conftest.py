"""The API contract test's world: data every operation can find, and the credentials it needs."""

from collections.abc import Iterator

import pytest
from django.core import signals
from django.db import close_old_connections

from households import services as household_services
from tests.households.factories import BankCardFactory, HouseholdFactory
from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal_with_key


@pytest.fixture
def wsgi_in_test_transaction() -> Iterator[None]:
    """The real WSGI handler closes the connection after each request; in a test that would end
    the test's transaction, so (as Django's test client does) keep the connection open."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_world(wsgi_in_test_transaction, settings):  # type: ignore[no-untyped-def]
    """A household with credit, a card and a token; a POS terminal with its key; basket prices."""
    settings.SMS_BACKEND = "memory"
    settings.SMS_WEBHOOK_SECRET = "contract-test-secret"
    seeded_phases()
    household = HouseholdFactory(decile=4)
    head = household.members.get()
    card = BankCardFactory(person=head).number
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    set_prices("cheese", 1_500_000, 2_300_000)
    _terminal, key = make_terminal_with_key()
    return {
        "head": head,
        "card": card,
        "terminal_key": key,
        "webhook_secret": settings.SMS_WEBHOOK_SECRET,
        "household_token": lambda: household_services.issue_access_token(person=head)[0],
    }
