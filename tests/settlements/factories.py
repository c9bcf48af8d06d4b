"""Test data for the money core (factory-boy): phases and their bands; and money moved only by
the real services — charges by a credit run (``runs.start_run`` + ``runs.run_inline``), purchases
by the real checkout (``settlements.services.checkout.checkout``), reversals by its
``reverse_purchase``. A purchase in a past cycle is made with the clock set to a moment of that
cycle, so the checkout finds the cycle, phase and prices a till would have found then."""

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import factory
from django import urls
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone
from factory.django import DjangoModelFactory

from households import services as household_services
from households.models import BankCard, CardStatus, Household, Person
from kalabarg.figures.refresh import refresh_figures
from kalabarg.lib.identifiers import card_hash
from kalabarg.lib.persian import jalali_month_key
from settlements.models import (
    AccountKind,
    Charge,
    CreditBasis,
    Cycle,
    EntryKind,
    JournalEntry,
    PayoutBatch,
    Phase,
    PhaseBand,
    Posting,
    RunKind,
    SettlementRun,
    UnspentPolicy,
)
from settlements.services import payouts, rules, runs, store_settlement
from settlements.services.checkout import LineRequest, checkout, reverse_purchase
from stores import services as store_services
from stores.models import BasketItem, PriceKind, Purchase, Terminal
from tests.households.factories import BankCardFactory, make_household
from tests.stores.factories import LONG_AGO, BasketItemFactory, ItemPriceFactory, make_terminal

CREDIT, THRESHOLD, BONUS = 2_000_000, 2_000_000, 1_200_000
URL = "/api/v1/pos/purchases/"
TEHRAN_NOON = dt.time(12, 0)

_keys = itertools.count(1)
_ticks = itertools.count(1)


# --- Rules: phases and bands -------------------------------------------------------------------


class PhaseFactory(DjangoModelFactory):
    """A phase of the programme (rules as data) with one band, deciles 1–5 by default; pass
    ``band=None`` for a phase without one, or ``band__…`` to change it."""

    class Meta:
        model = Phase
        skip_postgeneration_save = True

    name = factory.LazyAttribute(lambda phase: f"مرحله آزمایشی {phase.starts_on}")
    starts_on = dt.date(2022, 3, 21)
    ends_on = None
    basis = CreditBasis.PER_MEMBER
    unspent_policy = UnspentPolicy.CARRY_OVER
    band = factory.RelatedFactory(
        "tests.settlements.factories.PhaseBandFactory", factory_related_name="phase"
    )


class PhaseBandFactory(DjangoModelFactory):
    """The amounts of a phase for a range of deciles (the source's figures by default)."""

    class Meta:
        model = PhaseBand

    phase = factory.SubFactory(PhaseFactory, band=None)
    min_decile = 1
    max_decile = 5
    credit_per_cycle_rial = CREDIT
    bonus_threshold_rial = THRESHOLD
    bonus_amount_rial = BONUS
    cash_subsidy_rial = 3_000_000


def make_phase(
    *,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    deciles: tuple[int, int] = (1, 5),
    basis: str = CreditBasis.PER_MEMBER,
    policy: str = UnspentPolicy.CARRY_OVER,
    credit: int = CREDIT,
    threshold: int = THRESHOLD,
    bonus: int = BONUS,
) -> Phase:
    return PhaseFactory(
        starts_on=starts_on,
        ends_on=ends_on,
        basis=basis,
        unspent_policy=policy,
        band__min_decile=deciles[0],
        band__max_decile=deciles[1],
        band__credit_per_cycle_rial=credit,
        band__bonus_threshold_rial=threshold,
        band__bonus_amount_rial=bonus,
    )


def seeded_phases() -> tuple[Phase, Phase]:
    """The two phases of the source, as the migration seeds them (recreated if a flush removed them)."""
    if not Phase.objects.filter(starts_on=dt.date(2022, 3, 21)).exists():
        make_phase(starts_on=dt.date(2022, 3, 21), ends_on=dt.date(2023, 8, 22), deciles=(1, 3))
        two = make_phase(starts_on=dt.date(2023, 8, 23), deciles=(1, 3))
        PhaseBandFactory(phase=two, min_decile=4, max_decile=5)
    phases = Phase.objects.order_by("starts_on")
    return phases.get(starts_on=dt.date(2022, 3, 21)), phases.get(starts_on=dt.date(2023, 8, 23))


# --- Money moved by the real services ----------------------------------------------------------


def charge(cycle_key: str = "1402-06", chunk_size: int = 1000) -> Cycle:
    """Charge a cycle in this process (every chunk inline)."""
    seeded_phases()
    cycle = rules.ensure_cycle(key=cycle_key)
    runs.run_inline(
        run=runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=chunk_size)
    )
    cycle.refresh_from_db()
    return cycle


def charge_entry_of(household: Household, cycle: Cycle | None = None) -> JournalEntry:
    """The journal entry that charged ``household`` (in ``cycle``, when several did): a run's
    entry charges a chunk and names no household, its ``Charge`` row does."""
    rows = Charge.objects.filter(household=household)
    if cycle is not None:
        rows = rows.filter(cycle=cycle)
    return JournalEntry.objects.get(pk=rows.get().entry_id)


def charge_counts(cycle: Cycle) -> tuple[int, int, int]:
    """How ``cycle`` was charged: its charge rows, the distinct households they name, and the
    wallet legs its charge entries posted. Each household charged exactly once: all three equal
    the households covered (and ``reconcile_ledger`` holds each row to its leg)."""
    rows = Charge.objects.filter(cycle=cycle)
    legs = Posting.objects.filter(
        entry__kind=EntryKind.CYCLE_CHARGE, entry__cycle=cycle, account__kind=AccountKind.WALLET
    )
    return rows.count(), rows.values("household_id").distinct().count(), legs.count()


def this_month() -> str:
    """This Jalali month's key (``1405-09``): the cycle a purchase made now falls in."""
    return jalali_month_key(timezone.localdate())


def set_prices(code: str, base: int, current: int) -> None:
    """Base and current prices of a basket item, in force since long before any test buys."""
    item = BasketItem.objects.get(code=code)
    for kind, price_rial, reason in (
        (PriceKind.BASE, base, "۱۴۰۱"),
        (PriceKind.CURRENT, current, "روز"),
    ):
        store_services.set_price(
            item=item,
            kind=kind,
            price_rial=price_rial,
            effective_from=LONG_AGO,
            reason=reason,
            created_by=None,
        )


def priced_item(*, base: int, current: int) -> BasketItem:
    """A new basket item priced ``base`` (1401) and ``current`` since long ago, so that one unit of
    it is a basket of exactly those totals."""
    item = BasketItemFactory()
    ItemPriceFactory(item=item, kind=PriceKind.BASE, price_rial=base)
    ItemPriceFactory(item=item, kind=PriceKind.CURRENT, price_rial=current)
    return item


@contextlib.contextmanager
def clock_at(moment: dt.datetime | None) -> Iterator[None]:
    """The services see ``moment`` as now (``django.utils.timezone.now``); None leaves the clock."""
    if moment is None:
        yield
        return
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def moment_in(cycle: Cycle) -> dt.datetime | None:
    """None if the cycle is this month (the real clock will do), else noon of its first day, a
    second later at each call so that purchases keep the order they were made in."""
    if cycle.starts_on <= timezone.localdate() <= cycle.ends_on:
        return None
    noon = dt.datetime.combine(cycle.starts_on, TEHRAN_NOON, tzinfo=timezone.get_default_timezone())
    return noon + dt.timedelta(seconds=next(_ticks))


_card_numbers: dict[int, str] = {}


def card_of(head: Person) -> str:
    """The number of a card registered for ``head`` (one is registered the first time)."""
    number = _card_numbers.get(head.pk)
    registered = (
        number is not None
        and BankCard.objects.filter(
            person=head,
            card_hash=card_hash(number, key=settings.CARD_HASH_KEY),
            status=CardStatus.ACTIVE,
        ).exists()
    )
    if not registered:
        number = BankCardFactory(person=head).number
        _card_numbers[head.pk] = number
    return number  # type: ignore[return-value]


def checkout_purchase(
    household: Household,
    *,
    lines: dict[str, Decimal | int | str],
    terminal: Terminal | None = None,
    at: dt.datetime | None = None,
) -> Purchase:
    """A purchase of ``lines`` (item code → quantity) paid by the head's card, made by the real
    checkout service at ``at`` (or now); a refusal raises its ``CheckoutError``."""
    terminal = terminal or make_terminal()
    card = card_of(household.members.get(is_head=True))
    requested = [LineRequest(item=code, quantity=Decimal(str(qty))) for code, qty in lines.items()]
    body: dict[str, Any] = {
        "card_number": card,
        "lines": [{"item": line.item, "quantity": str(line.quantity)} for line in requested],
    }
    with clock_at(at):
        result = checkout(
            terminal=terminal,
            idempotency_key=f"t-{next(_keys)}",
            card_number=card,
            payment_code=None,
            lines=requested,
            request_body=body,
        )
    return Purchase.objects.get(pk=result.body["purchase_id"])


def payment_code_purchase(
    household: Household,
    *,
    lines: dict[str, Decimal | int | str],
    terminal: Terminal | None = None,
    at: dt.datetime | None = None,
) -> Purchase:
    """As ``checkout_purchase``, paid with a one-time payment code the head made just before
    (no card: the purchase's card fields stay empty)."""
    terminal = terminal or make_terminal()
    requested = [LineRequest(item=code, quantity=Decimal(str(qty))) for code, qty in lines.items()]
    with clock_at(at):
        code, _ = household_services.create_payment_code(person=household.members.get(is_head=True))
        result = checkout(
            terminal=terminal,
            idempotency_key=f"t-{next(_keys)}",
            card_number=None,
            payment_code=code,
            lines=requested,
            request_body={
                "payment_code": code,
                "lines": [
                    {"item": line.item, "quantity": str(line.quantity)} for line in requested
                ],
            },
        )
    return Purchase.objects.get(pk=result.body["purchase_id"])


def buy(
    household: Household,
    *,
    cycle: Cycle,
    base: int,
    current: int,
    terminal: Terminal | None = None,
    at: dt.datetime | None = None,
) -> Purchase:
    """A purchase in ``cycle`` of one unit of an item priced ``base`` / ``current``, by the real
    checkout: it splits against the wallet by the source's rule and posts to the ledger."""
    item = priced_item(base=base, current=current)
    return checkout_purchase(
        household, lines={item.code: 1}, terminal=terminal, at=at or moment_in(cycle)
    )


def reverse(purchase: Purchase) -> Purchase:
    """Reverse a purchase by the real service, at its terminal, on the day it was made."""
    at = purchase.created_at + dt.timedelta(seconds=1)
    with clock_at(None if timezone.localdate(at) == timezone.localdate() else at):
        reverse_purchase(
            terminal=purchase.terminal, purchase_id=purchase.pk, idempotency_key=f"r-{next(_keys)}"
        )
    purchase.refresh_from_db()
    return purchase


# --- The POS API and the admin, as a client posts to them ---------------------------------------


def post_purchase(
    world: dict[str, Any], lines: list[dict[str, str]], *, key: str | None = None, **payer: str
) -> Any:
    """POST a purchase of ``lines`` to the POS API as the ``world`` fixture's terminal, paid by its
    card unless ``payer`` names another card or a payment code; a fresh idempotency key unless
    ``key``."""
    body = (
        {"card_number": world["card"], "lines": lines} if not payer else {**payer, "lines": lines}
    )
    return world["client"].post(
        URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key or f"k-{next(_keys)}"
    )


def admin_action(
    admin_client: Client, url_name: str, action: str, ids: list[int], **extra: str
) -> Any:
    """Run the changelist action ``action`` of ``url_name`` on the rows ``ids``."""
    return admin_client.post(
        urls.reverse(url_name),
        {"action": action, "_selected_action": [str(i) for i in ids], **extra},
    )


def admin_messages(response: Any) -> list[str]:
    """The messages the admin flashed for ``response``'s request."""
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- Store settlements ------------------------------------------------------------------------


def settle(*, until: dt.datetime | None = None, chunk_size: int = 2) -> SettlementRun:
    """Settle every store up to ``until`` (default: now) in this process, as the nightly run
    does, with the clock an hour after the cut-off (a cut-off must be older than a few minutes)."""
    until = until or timezone.now()
    with clock_at(until + dt.timedelta(hours=1)):
        return store_settlement.launch_settlement(
            cutoff=until, chunk_size=chunk_size, inline=True, enqueue=_never_enqueued
        )


def _never_enqueued(run_id: int) -> None:
    raise AssertionError(f"settlement run {run_id} was queued, but the test runs it inline")


def owed_rial(purchase: Purchase) -> int:
    """What the programme owes the store for ``purchase``: its credit and compensation."""
    return purchase.credit_rial + purchase.compensation_rial


def exported_settlements(*, directory: Path, officer: Any = None) -> PayoutBatch:
    """Settle every store now, approve every draft (by ``officer``, or a superuser made for it)
    and export them to ``directory / payouts.csv``, all by the real services."""
    settle()
    if officer is None:
        officer = get_user_model().objects.filter(username="finance-head").first()
        officer = officer or get_user_model().objects.create_superuser("finance-head")
    payouts.approve_settlements(officer=officer)
    return payouts.export_payouts(out=directory / "payouts.csv", created_by=officer)


# --- What-if of a phase: a closed cycle computed by hand (issue 17) ------------------------------


@dataclass
class WhatIfData:
    closed: Cycle
    a: Household
    b: Household
    c: Household
    e: Household
    f: Household
    g: Household


def what_if_data(*, record_cost: bool = True) -> WhatIfData:
    """Cycle 1402-06 charged, bought in, swept for bonuses and closed (by charging 1402-07), under
    the seeded rules (deciles 1–5; 2,000,000 rial per member; bonus 1,200,000 per member at
    2,000,000 per member spent). ``tests/settlements/test_projection.py`` computes its figures
    by hand:

    - A, decile 1, 1 member: charged 2,000,000; bought a difference of 2,500,000 (credit
      2,000,000 + compensation 500,000); bonus 1,200,000 in force.
    - B, decile 2, 2 members: charged 4,000,000; bought 1,000,000 (credit), then 3,500,000
      (credit 3,000,000 + compensation 500,000) that reached the bonus (2,400,000) and was
      reversed, taking the bonus back.
    - C, decile 4, 1 member: charged 2,000,000, bought nothing.
    - E, decile 6, and G, decile 8, 1 member each: never covered. F, decile 2, 3 members:
      registered after 1402-06 closed.

    ``record_cost``: refresh the programme figures of 1402-06 at the end, which records its
    actual cost (``CycleCost``) as the hourly refresh would.
    """
    seeded_phases()
    a = make_household(decile=1, members=0)
    b = make_household(decile=2, members=1)
    c = make_household(decile=4, members=0)
    e = make_household(decile=6, members=0)
    g = make_household(decile=8, members=0)
    june = charge("1402-06")
    buy(a, cycle=june, base=1_000_000, current=3_500_000)
    buy(b, cycle=june, base=1_000_000, current=2_000_000)
    returned = buy(b, cycle=june, base=1_000_000, current=4_500_000)
    runs.run_inline(run=runs.start_run(kind=RunKind.BONUS_SWEEP, cycle=june))
    reverse(returned)
    charge("1402-07")  # closes 1402-06
    f = make_household(decile=2, members=2)
    june.refresh_from_db()
    if record_cost:
        refresh_figures(trigger="test", cycles=[june])
    return WhatIfData(closed=june, a=a, b=b, c=c, e=e, f=f, g=g)
