"""Logs leave the database's protection (shippers, tickets, screenshots): a household login, a
POS purchase by card, an officer's search and a card import log no full card number, no login
code, no unmasked national code or mobile, in the JSON lines production writes."""

import copy
import io
import logging
import secrets

import pytest
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from households.card_import import import_bank_cards
from kalabarg.lib.identifiers import mask_national_code
from tests.households.factories import BankCardFactory, HouseholdFactory, next_card_number
from tests.settlements.factories import charge, seeded_phases, set_prices, this_month
from tests.stores.factories import make_terminal_with_key

pytestmark = pytest.mark.django_db

LOGIN_CODE = "483920"


@pytest.fixture
def all_logs(caplog):  # type: ignore[no-untyped-def]
    """Every record at DEBUG, also written by the production handler (JSON formatter and the
    context filter of settings.LOGGING), so what a formatter adds (the request) is checked too."""
    from logging.config import DictConfigurator

    stream = io.StringIO()
    logging_settings = copy.deepcopy(settings.LOGGING)  # the configurator pops keys it reads
    config = DictConfigurator(logging_settings)
    formatter = config.configure_formatter(logging_settings["formatters"]["json"])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(config.configure_filter(logging_settings["filters"]["context"]))
    root = logging.getLogger()
    root.addHandler(handler)
    caplog.set_level(logging.DEBUG)
    yield lambda: caplog.text + "\n" + stream.getvalue()
    root.removeHandler(handler)


def test_a_login_a_card_purchase_a_search_and_a_card_import_log_no_identifier(
    all_logs, monkeypatch, sms_outbox, admin_client, django_capture_on_commit_callbacks
):
    # Given a household with credit and a card, a POS terminal, a known login code
    seeded_phases()
    household = HouseholdFactory(decile=4)
    head = household.members.get()
    card = BankCardFactory(person=head).number
    charge(this_month())
    set_prices("rice", 500_000, 800_000)
    _terminal, key = make_terminal_with_key()
    monkeypatch.setattr(secrets, "randbelow", lambda _upper: int(LOGIN_CODE))
    app = APIClient()
    pos = APIClient()
    pos.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")

    with django_capture_on_commit_callbacks(execute=True):
        # When the head logs in (a wrong code first), buys by card, and an officer searches
        requested = app.post(
            "/api/v1/auth/otp/",
            {"national_code": head.national_code, "mobile": head.mobile},
            format="json",
        )
        wrong = app.post(
            "/api/v1/auth/token/",
            {"national_code": head.national_code, "code": "000000"},
            format="json",
        )
        token = app.post(
            "/api/v1/auth/token/",
            {"national_code": head.national_code, "code": LOGIN_CODE},
            format="json",
        )
        bought = pos.post(
            "/api/v1/pos/purchases/",
            {"card_number": card, "lines": [{"item": "rice", "quantity": "1"}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="log-test-1",
        )
        refused = pos.post(
            "/api/v1/pos/purchases/",
            {"card_number": card[:-1], "lines": [{"item": "rice", "quantity": "1"}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY="log-test-2",
        )
        unknown_place = app.get("/api/v1/stores/", {"province": head.national_code})
        changelist = reverse("admin:households_household_changelist")
        by_code = admin_client.get(changelist, {"q": head.national_code})
        by_mobile = admin_client.get(changelist, {"q": head.mobile})
        bad_page = admin_client.get(changelist, {"q": head.national_code, "p": "x"})
    # and a bank's file moves a card to the head from another person
    other = HouseholdFactory().members.get()
    moved = next_card_number()
    import_bank_cards(
        stream=io.StringIO(
            f"card_number,national_code,status\n{moved},{other.national_code},active\n"
        )
    )
    import_bank_cards(
        stream=io.StringIO(
            f"card_number,national_code,status\n{moved},{head.national_code},active\n"
        )
    )

    # Then each step did what it should, and the logs hold none of the identifiers
    assert requested.status_code == 202 and wrong.status_code == 400
    assert token.status_code == 200, token.json()
    assert bought.status_code == 201, bought.json()
    assert refused.status_code == 400 and unknown_place.status_code == 400
    assert by_code.status_code == by_mobile.status_code == 200
    assert bad_page.status_code in (200, 302, 400, 404)
    logs = all_logs()
    assert logs.strip(), "the flows above should log something (request warnings at least)"
    for secret in (
        card,
        card[:-1],
        moved,
        LOGIN_CODE,
        head.national_code,
        head.mobile,
        other.national_code,
    ):
        assert secret not in logs, secret
    assert mask_national_code(head.national_code) in logs  # the card move, masked
