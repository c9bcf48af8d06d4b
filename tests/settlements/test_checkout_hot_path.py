"""The checkout's lean reads and writes stand in for the ORM selectors and rules: they must agree.

``purchase_context`` reads in one statement what ``card_by_number``, ``decile_on``, ``phase_on``,
``band_for`` and ``entitlement`` answer one query at a time; a divergence would price a purchase
or its bonus by the wrong rule. Malformed bodies at the endpoint get a 400 naming the field.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from households import services as household_services
from households.selectors import decile_on
from kalabarg.lib.identifiers import card_hash
from kalabarg.lib.persian import jalali_month_key
from settlements.models import CreditBasis
from settlements.selectors import purchase_context, wallet_cycle_figures
from settlements.services import rules
from stores.models import BasketItem, Purchase
from tests.households.factories import DecileAssignmentFactory, make_household, next_card_number
from tests.settlements.factories import URL, buy, charge, make_phase, seeded_phases
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db


def _context_for(head, terminal, *, today: dt.date, card: str | None):
    return purchase_context(
        terminal_id=terminal.pk,
        idempotency_key="parity",
        today=today,
        cycle_key=jalali_month_key(today),
        card_hash=card_hash(card, key=settings.CARD_HASH_KEY) if card else None,
        household_id=None if card else head.household_id,
    )


@pytest.mark.parametrize("decile", [1, 3, 4, 5, 6, 9])
@pytest.mark.parametrize("members", [0, 3])
def test_purchase_context_agrees_with_the_orm_rules(decile, members):
    seeded_phases()
    household = make_household(decile=decile, members=members)
    head = household.members.get(is_head=True)
    card = next_card_number()
    household_services.register_card(person=head, card_number=card)
    today = timezone.localdate()
    cycle = rules.ensure_cycle(key=jalali_month_key(today))
    terminal = make_terminal()

    for context in (
        _context_for(head, terminal, today=today, card=card),
        _context_for(head, terminal, today=today, card=None),
    ):
        phase = rules.phase_on(day=today)
        band = rules.band_for(
            phase=phase, decile=decile_on(household_id=household.pk, on_date=today)
        )
        entitlement = rules.entitlement(household_id=household.pk, cycle=cycle)
        assert (context.person_id, context.household_id, context.is_head) == (
            head.pk,
            household.pk,
            True,
        )
        assert context.eligible_today is (band is not None)
        assert context.phase_id == (phase.pk if phase else None)
        assert context.cycle_id == cycle.pk
        assert context.bonus_threshold_rial == (
            entitlement.bonus_threshold_rial if entitlement else None
        )
        assert context.bonus_rial == (entitlement.bonus_rial if entitlement else None)
        assert context.replay_operation is None


def test_the_context_read_finds_a_claimed_terminal_and_prices_as_the_standalone_reads_do():
    """By the terminal's 8-digit id, the read returns the row ``terminal_for_key`` confirms a key
    against, and the requested items priced as the ORM's ``basket_with_prices`` prices them (an unknown code
    is simply absent; a terminal that does not exist leaves the row empty)."""
    from stores import services as store_services
    from stores.selectors import basket_with_prices
    from tests.settlements.factories import set_prices
    from tests.stores.factories import make_terminal_with_key

    seeded_phases()
    household = make_household(decile=2)
    head = household.members.get(is_head=True)
    card = next_card_number()
    household_services.register_card(person=head, card_number=card)
    set_prices("rice", 500_000, 800_000)
    set_prices("cheese", 1_500_000, 2_300_000)
    terminal, key = make_terminal_with_key()
    today, now = timezone.localdate(), timezone.now()
    codes = ["rice", "cheese", "pasta", "no-such-item"]

    def read(terminal_code: str):
        return purchase_context(
            terminal_code=terminal_code,
            idempotency_key="parity",
            today=today,
            cycle_key=jalali_month_key(today),
            card_hash=card_hash(card, key=settings.CARD_HASH_KEY),
            item_codes=codes,
            prices_at=now,
        )

    context = read(terminal.terminal_id)
    found = store_services.terminal_from_row(row=context.terminal_row, key=key)
    assert found is not None and found == store_services.terminal_for_key(key=key)
    assert (found.status, found.store.name, found.store.status) == (
        terminal.status,
        terminal.store.name,
        terminal.store.status,
    )
    assert store_services.terminal_from_row(row=context.terminal_row, key=key + "x") is None
    by_orm = basket_with_prices(at=now, items=BasketItem.objects.filter(code__in=codes))
    assert {
        code: (row.id, row.name, row.is_active, row.base_price_rial, row.current_price_rial)
        for code, row in context.prices.items()
    } == {
        priced.item.code: (
            priced.item.pk,
            priced.item.name,
            priced.item.is_active,
            priced.base_price_rial,
            priced.current_price_rial,
        )
        for priced in by_orm
    }
    assert context.prices["rice"].base_price_rial == 500_000
    assert set(context.prices) == {"rice", "cheese", "pasta"}
    assert context.person_id == head.pk

    nobody = read("99999999")
    assert store_services.terminal_from_row(row=nobody.terminal_row, key=key) is None
    assert nobody.person_id == head.pk and nobody.prices == context.prices


@pytest.mark.parametrize("status", ["active", "closed"])
def test_the_context_reads_a_cards_owner_and_status_as_card_by_number_does(status):
    """A closed card still names its owner (the checkout refuses it as ``card_closed``); a card
    nobody registered names nobody."""
    from households.models import BankCard
    from households.selectors import card_by_number

    seeded_phases()
    head = make_household().members.get(is_head=True)
    card = next_card_number()
    household_services.register_card(person=head, card_number=card)
    BankCard.objects.update(status=status)
    terminal = make_terminal()
    today = timezone.localdate()

    context = _context_for(head, terminal, today=today, card=card)
    found = card_by_number(card_number=card)

    assert found is not None
    assert (context.person_id, context.card_closed) == (found.person_id, found.status == "closed")
    unknown = _context_for(head, terminal, today=today, card=next_card_number())
    assert (unknown.person_id, unknown.card_closed) == (None, False)
    assert card_by_number(card_number=next_card_number()) is None
    by_code = _context_for(head, terminal, today=today, card=None)
    assert by_code.card_closed is False


def test_purchase_context_takes_the_decile_in_force_today_and_on_the_cycles_first_day():
    """Eligibility follows today's decile; the bonus follows the decile on the cycle's first day,
    or today's for a household covered during the cycle (as ``rules.entitlement`` as of today)."""
    seeded_phases()
    today = timezone.localdate()
    cycle = rules.ensure_cycle(key=jalali_month_key(today))
    household = make_household(decile=9)
    head = household.members.get(is_head=True)
    terminal = make_terminal()
    DecileAssignmentFactory(household=household, decile=4, effective_from=today)
    context = _context_for(head, terminal, today=today, card=None)
    assert context.eligible_today is True
    on_start = rules.entitlement(household_id=household.pk, cycle=cycle)
    expected = rules.entitlement(household_id=household.pk, cycle=cycle, as_of=today)
    assert expected is not None and expected.decile == 4
    if cycle.starts_on < today:  # decile 9 on the first day: covered during the cycle
        assert on_start is None
    assert context.bonus_threshold_rial == expected.bonus_threshold_rial


def test_purchase_context_of_a_household_that_left_the_covered_deciles_after_its_charge():
    """Charged this cycle, then decile 9 from today: it may still spend (not covered today)."""
    seeded_phases()
    today = timezone.localdate()
    household = make_household(decile=2)
    head = household.members.get(is_head=True)
    terminal = make_terminal()
    charge(jalali_month_key(today))
    DecileAssignmentFactory(household=household, decile=9, effective_from=today)
    assert _context_for(head, terminal, today=today, card=None).eligible_today is True
    never_charged = make_household(decile=9).members.get(is_head=True)
    assert _context_for(never_charged, terminal, today=today, card=None).eligible_today is False


def test_purchase_context_refuses_a_phase_that_has_ended():
    today = timezone.localdate()
    make_phase(starts_on=today - dt.timedelta(days=40), ends_on=today - dt.timedelta(days=1))
    household = make_household(decile=2)
    context = _context_for(household.members.get(), make_terminal(), today=today, card=None)
    assert rules.phase_on(day=today) is None
    assert context.phase_id is None and context.eligible_today is False


def test_per_household_basis_is_not_multiplied_by_members():
    today = timezone.localdate()
    make_phase(starts_on=today - dt.timedelta(days=400), basis=CreditBasis.PER_HOUSEHOLD)
    household = make_household(decile=2, members=4)
    cycle = rules.ensure_cycle(key=jalali_month_key(today))
    context = _context_for(
        household.members.get(is_head=True), make_terminal(), today=today, card=None
    )
    entitlement = rules.entitlement(household_id=household.pk, cycle=cycle)
    assert entitlement is not None and entitlement.members == 5
    assert context.bonus_threshold_rial == entitlement.bonus_threshold_rial == 2_000_000


def test_wallet_cycle_figures_agree_with_bonus_progress():
    from settlements.selectors import bonus_progress
    from settlements.services.ledger import wallet_for

    household = make_household(decile=2)
    cycle = charge(jalali_month_key(timezone.localdate()))
    buy(household, cycle=cycle, base=500_000, current=1_300_000)
    buy(household, cycle=cycle, base=100_000, current=400_000)
    progress = bonus_progress(household_id=household.pk, cycle=cycle)
    spent, granted = wallet_cycle_figures(
        wallet_id=wallet_for(household=household).pk, household_id=household.pk, cycle_id=cycle.pk
    )
    assert progress is not None and (spent, granted) == (progress.spent_rial, progress.granted)
    assert spent == 1_100_000


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (["not", "an", "object"], "body"),
        ({"card_number": "6037991234567893", "lines": "rice"}, "lines"),
        ({"card_number": "6037991234567893", "lines": ["rice"]}, "lines[0]"),
        (
            {"card_number": 6037991234567893, "lines": [{"item": "rice", "quantity": "1"}]},
            "card_number",
        ),
        (
            {"payment_code": ["12345678"], "lines": [{"item": "rice", "quantity": "1"}]},
            "payment_code",
        ),
        (
            {"card_number": "6037991234567893", "lines": [{"item": "rice", "quantity": "1"}] * 101},
            "lines",
        ),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field_and_writes_nothing(world, body, field):
    response = world["client"].post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="malformed-1")
    assert response.status_code == 400, response.content
    payload = response.json()
    assert payload["code"] == "validation_error"
    assert payload["errors"][0]["field"] == field
    assert not Purchase.objects.exists()
