"""Reads of the money core: balances, bonus progress, runs."""

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from households.models import CardStatus
from households.selectors import decile_on_sql
from kalabarg.lib.hot_sql import hot_cursor
from settlements.models import (
    Account,
    AccountKind,
    BalanceRollup,
    Charge,
    CreditBasis,
    Cycle,
    JournalEntry,
    Posting,
)
from settlements.services.ledger import charge_period
from settlements.services.rules import Entitlement, entitlement
from stores.selectors import (
    ItemPriceRow,
    item_price_row,
    prices_in_force_params,
    prices_in_force_sql,
)


def wallet_balance(*, household_id: int) -> int:
    balance = (
        Account.objects.filter(kind=AccountKind.WALLET, household_id=household_id)
        .values_list("balance_rial", flat=True)
        .first()
    )
    return int(balance or 0)


def account_balance(*, account: Account) -> int:
    """A wallet's kept balance; any other account's balance from its roll-up plus later postings."""
    if account.kind == AccountKind.WALLET:
        return account.balance_rial
    rollup = BalanceRollup.objects.filter(account=account).first()
    start, base = (rollup.up_to_posting_id, rollup.balance_rial) if rollup else (0, 0)
    later = (
        Posting.objects.filter(account=account, id__gt=start).aggregate(total=Sum("amount_rial"))[
            "total"
        ]
        or 0
    )
    return int(base + later)


# --- Credit spent in a cycle: the rule the bonus threshold counts, in one place ------------------
#
# Credit spent in a cycle is the household's wallet postings of its purchase entries and their
# reversals in that cycle, negated (a purchase takes credit out of the wallet, its reversal puts
# it back). Every SQL statement that needs it composes these fragments, over a journal entry
# aliased ``e`` and a wallet posting aliased ``po``; the Python side reads it through
# :func:`cycle_spend`. The PL/pgSQL write ``checkout_record_purchase`` keeps a copy
# (``settlements/sql/checkout_record_purchase.sql``), held to it by the parity test in
# ``tests/settlements/test_checkout_function.py``.

# The entries whose wallet postings are credit spent.
SPEND_ENTRY_SQL = "e.kind IN ('purchase', 'reversal') AND e.purchase_id IS NOT NULL"
# Credit spent, as an aggregate over wallet postings ``po`` of entries ``e`` of one household and cycle.
CYCLE_SPEND_SQL = f"-COALESCE(SUM(CASE WHEN {SPEND_ENTRY_SQL} THEN po.amount_rial ELSE 0 END), 0)"
# A bonus IN FORCE, over a journal entry ``e``: a bonus entry that no later entry reverses
# (``reverse_entry`` names the entry it takes back in ``reverses``). At most one is in force per
# household and cycle: a reversal under the threshold takes it back, crossing the threshold again
# grants a new one. The bonus run, :func:`cycle_spend`, :func:`bonus_in_force`, the reconciliation
# and (as a copy) ``checkout_record_purchase`` all read it from here.
BONUS_IN_FORCE_SQL = (
    "e.kind = 'bonus' AND NOT EXISTS "
    "(SELECT 1 FROM settlements_journalentry r WHERE r.reverses_id = e.id)"
)
# A bonus taken back: a bonus entry a later entry reverses. Their number in the cycle numbers the
# idempotency key of the next grant, so a grant after a take-back is a new entry and a race of
# the sweep and the instant task over the same grant still yields one.
BONUS_TAKEN_BACK_SQL = (
    "e.kind = 'bonus' AND EXISTS "
    "(SELECT 1 FROM settlements_journalentry r WHERE r.reverses_id = e.id)"
)
# Whether a bonus is in force, over the same rows as the spend.
_BONUS_IN_FORCE_COUNT_SQL = f"COALESCE(SUM(CASE WHEN {BONUS_IN_FORCE_SQL} THEN 1 ELSE 0 END), 0)"
_CYCLE_FIGURES_SQL = (
    f"SELECT {CYCLE_SPEND_SQL}, {_BONUS_IN_FORCE_COUNT_SQL} "  # noqa: S608 - constants
    "FROM settlements_journalentry e "
    "JOIN settlements_posting po ON po.entry_id = e.id AND po.period = e.period "
)
# No entry of a cycle is filed before the cycle's month (its charge and bonus under it, its
# purchases and reversals later), and a posting shares its entry's month: the bound leaves the
# older months' partitions unread, so the read does not grow with the months kept.
_FROM_CYCLE_MONTH_SQL = (
    " AND e.period >= (SELECT c.starts_on FROM settlements_cycle c WHERE c.id = %s)"
)
_BY_WALLET_SQL = (
    _CYCLE_FIGURES_SQL
    + "WHERE e.household_id = %s AND e.cycle_id = %s AND po.account_id = %s"
    + _FROM_CYCLE_MONTH_SQL
)
_BY_HOUSEHOLD_SQL = (
    _CYCLE_FIGURES_SQL + "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
    "WHERE e.household_id = %s AND e.cycle_id = %s" + _FROM_CYCLE_MONTH_SQL
)


class CycleSpend(NamedTuple):
    spent_rial: int
    bonus_granted: bool


def cycle_spend(*, household_id: int, cycle_id: int, wallet_id: int | None = None) -> CycleSpend:
    """Credit the household spent in the cycle (net of reversals) and whether a bonus is in force
    (granted and not taken back by a reversal): one statement. ``wallet_id`` (the checkout knows it) reads by the wallet's postings
    directly, as a prepared statement of the hot path."""
    if wallet_id is not None:
        with hot_cursor() as cursor:
            cursor.execute(_BY_WALLET_SQL, [household_id, cycle_id, wallet_id, cycle_id])
            spent, bonuses = cursor.fetchone()
    else:
        with connection.cursor() as plain:
            plain.execute(_BY_HOUSEHOLD_SQL, [household_id, cycle_id, cycle_id])
            spent, bonuses = plain.fetchone()
    return CycleSpend(int(spent), bool(bonuses))


def charged_in_cycle(*, household_id: int, cycle: Cycle) -> bool:
    """Whether the household holds the cycle's charge: its ``Charge`` row, by its key (a
    cycle's charges are filed under the cycle's month, so one partition is read)."""
    return Charge.objects.filter(
        household_id=household_id, cycle=cycle, period=charge_period(cycle=cycle)
    ).exists()


def bonus_in_force(*, household_id: int, cycle_id: int) -> JournalEntry | None:
    """The household's bonus entry in force in the cycle (see ``BONUS_IN_FORCE_SQL``), if any."""
    found = JournalEntry.objects.raw(
        "SELECT e.* FROM settlements_journalentry e "  # noqa: S608 - constants
        f"WHERE e.household_id = %s AND e.cycle_id = %s AND {BONUS_IN_FORCE_SQL} "
        "ORDER BY e.id DESC LIMIT 1",
        [household_id, cycle_id],
    )
    return next(iter(found), None)


def credit_spent_in_cycle(*, household_id: int, cycle: Cycle) -> int:
    """Credit spent on the basket in ``cycle``, net of reversals (what the bonus threshold counts)."""
    return cycle_spend(household_id=household_id, cycle_id=cycle.pk).spent_rial


@dataclass(frozen=True)
class BonusProgress:
    spent_rial: int
    threshold_rial: int
    bonus_rial: int
    granted: bool

    @property
    def remaining_rial(self) -> int:
        return max(self.threshold_rial - self.spent_rial, 0)

    @property
    def percent(self) -> int:
        if self.threshold_rial <= 0:
            return 0
        return min(100, self.spent_rial * 100 // self.threshold_rial)


def bonus_progress(
    *, household_id: int, cycle: Cycle, rule: Entitlement | None = None
) -> BonusProgress | None:
    """Credit spent this cycle (net of reversals) against the threshold, and whether a bonus is in
    force (granted and not taken back): one query. The rule is the household's entitlement in the
    cycle as of today (``rules.entitlement``) unless the caller passes it."""
    rule = rule or entitlement(household_id=household_id, cycle=cycle, as_of=timezone.localdate())
    if rule is None:
        return None
    spent, granted = cycle_spend(household_id=household_id, cycle_id=cycle.pk)
    return BonusProgress(
        spent_rial=spent,
        threshold_rial=rule.bonus_threshold_rial,
        bonus_rial=rule.bonus_rial,
        granted=granted,
    )


# --- The POS checkout's reads -----------------------------------------------------------------
#
# A purchase is the hottest path in the system (hundreds a second nationally), so its reads are
# two plain SQL statements instead of a dozen ORM look-ups: one row with everything about the
# payer, the programme rules that apply and a previous answer under the same idempotency key, and
# one row per requested item with its prices in force. Both are portable SQL (PostgreSQL and the
# embedded SQLite). ``tests/settlements/test_checkout_hot_path.py`` checks them against the ORM
# selectors and ``rules`` they stand in for.


@dataclass(frozen=True)
class PurchaseContext:
    """What one checkout needs to know before it takes any lock."""

    replay_operation: str | None
    replay_fingerprint: str | None
    replay_status: int | None
    replay_body: Any
    person_id: int | None
    household_id: int | None
    is_head: bool
    wallet_id: int | None
    inflation_fund_id: int | None
    store_payable_id: int | None
    cycle_id: int | None
    cycle_phase_id: int | None
    # Today's phase and the household's band in it (None: not eligible today).
    phase_id: int | None
    phase_min_distinct_items: int
    eligible_today: bool
    # The household's entitlement in the cycle (None when it has none): what the bonus counts.
    bonus_threshold_rial: int | None
    bonus_rial: int | None
    # The terminal (``stores.services.TERMINAL_ROW_SQL`` columns; all None when no terminal has
    # that id), for the caller to confirm its key; and the requested items with their prices.
    terminal_row: tuple[Any, ...] = ()
    prices: dict[str, ItemPriceRow] = field(default_factory=dict)
    # The card paid with was closed by its bank (the card-owner feed); False when not by card.
    card_closed: bool = False


_CONTEXT_SQL = """
SELECT q.*,
  (SELECT b.id FROM settlements_phaseband b
    WHERE b.phase_id = q.phase_id AND q.decile_today BETWEEN b.min_decile AND b.max_decile
    ORDER BY b.min_decile LIMIT 1) AS band_today_id,
  cb.bonus_threshold_rial AS cycle_threshold_rial, cb.bonus_amount_rial AS cycle_bonus_rial,
  EXISTS (SELECT 1 FROM settlements_charge c WHERE c.household_id = q.household_id
    AND c.cycle_id = q.cycle_id
    AND c.period = q.cycle_starts_on  -- a charge is filed under its cycle's month: one partition read
  ) AS charged_in_cycle,
  (SELECT cp.basis FROM settlements_phase cp WHERE cp.id = q.cycle_phase_id) AS cycle_basis,
  (SELECT count(*) FROM households_person m
    WHERE m.household_id = q.household_id AND (m.birth_date IS NULL OR m.birth_date <= q.cycle_starts_on)
  ) AS cycle_members
FROM (
  SELECT ir.operation AS replay_operation, ir.fingerprint AS replay_fingerprint,
    ir.response_status AS replay_status, ir.response_body AS replay_body,
    p.id AS person_id, p.household_id, p.is_head,
    (SELECT c.status FROM households_bankcard c WHERE c.card_hash = %(card_hash)s) AS card_status,
    w.id AS wallet_id,
    (SELECT f.id FROM settlements_account f WHERE f.kind = 'inflation_fund') AS inflation_fund_id,
    (SELECT sp.id FROM settlements_account sp WHERE sp.kind = 'store_payable' AND sp.store_id = t.store_id)
      AS store_payable_id,
    t.id AS t_id, t.terminal_id AS t_code, t.store_id AS t_store_id, t.status AS t_status,
    t.api_key_hash AS t_key_hash, st.name AS t_store_name, st.status AS t_store_status,
    cy.id AS cycle_id, cy.phase_id AS cycle_phase_id, cy.starts_on AS cycle_starts_on,
    ph.id AS phase_id, ph.ends_on AS phase_ends_on, ph.min_distinct_items,
    {decile_today} AS decile_today,
    {decile_cycle} AS decile_cycle
  FROM (SELECT 1 AS one) base
  LEFT JOIN stores_terminal t ON {terminal}
  LEFT JOIN stores_store st ON st.id = t.store_id
  LEFT JOIN stores_idempotencyrecord ir ON ir.terminal_id = t.id AND ir.key = %(key)s
  LEFT JOIN households_person p ON p.id = {payer}
  LEFT JOIN settlements_account w ON w.kind = 'wallet' AND w.household_id = p.household_id
  LEFT JOIN settlements_cycle cy ON cy.key = %(cycle_key)s
  LEFT JOIN settlements_phase ph ON ph.id = (
    SELECT p2.id FROM settlements_phase p2 WHERE p2.starts_on <= %(today)s
    ORDER BY p2.starts_on DESC LIMIT 1)
) q
LEFT JOIN settlements_phaseband cb ON cb.id = COALESCE(
  (SELECT b.id FROM settlements_phaseband b
    WHERE b.phase_id = q.cycle_phase_id AND q.decile_cycle BETWEEN b.min_decile AND b.max_decile
    ORDER BY b.min_decile LIMIT 1),
  (SELECT b.id FROM settlements_phaseband b
    WHERE b.phase_id = q.cycle_phase_id AND q.decile_today BETWEEN b.min_decile AND b.max_decile
    ORDER BY b.min_decile LIMIT 1))
"""

_TERMINAL_BY_ID = "t.id = %(terminal)s"
_TERMINAL_BY_CODE = "t.terminal_id = %(terminal_code)s"
_TERMINAL_COLUMNS = (
    "t_id",
    "t_code",
    "t_store_id",
    "t_status",
    "t_key_hash",
    "t_store_name",
    "t_store_status",
)
_WITH_PRICES = "SELECT c.*, pr.* FROM ({context}) c LEFT JOIN ({prices}) pr ON 1 = 1"
_PRICE_COLUMNS = (
    "item_id",
    "item_code",
    "item_name",
    "item_active",
    "item_base_price",
    "item_current_price",
)

# A closed card still names its owner; the checkout refuses it by ``card_status`` (``card_closed``).
_PAYER_BY_CARD = "(SELECT c.person_id FROM households_bankcard c WHERE c.card_hash = %(card_hash)s)"
_PAYER_BY_HOUSEHOLD = (
    "(SELECT h.id FROM households_person h WHERE h.household_id = %(household)s AND h.is_head)"
)


def purchase_context_sql(*, by_card: bool, by_terminal_code: bool, item_count: int) -> str:
    """The text of :func:`purchase_context`'s statement (the POS benchmark replays it in pgbench)."""
    sql = _CONTEXT_SQL.format(
        payer=_PAYER_BY_CARD if by_card else _PAYER_BY_HOUSEHOLD,
        terminal=_TERMINAL_BY_CODE if by_terminal_code else _TERMINAL_BY_ID,
        decile_today=decile_on_sql(household="p.household_id", on_date="%(today)s"),
        decile_cycle=decile_on_sql(household="p.household_id", on_date="cy.starts_on"),
    )
    if item_count:
        sql = _WITH_PRICES.format(context=sql, prices=prices_in_force_sql(count=item_count))
    return sql


def purchase_context(
    *,
    terminal_id: int | None = None,
    terminal_code: str | None = None,
    idempotency_key: str,
    today: dt.date,
    cycle_key: str,
    card_hash: str | None = None,
    household_id: int | None = None,
    item_codes: Sequence[str] = (),
    prices_at: dt.datetime | None = None,
) -> PurchaseContext:
    """One statement: the terminal (by primary key, or by its 8-digit id for the caller to confirm
    the key), the payer (by card hash, or the head of ``household_id``), the rules that apply
    today and in the cycle ``cycle_key``, any earlier answer under the idempotency key, and the
    items ``item_codes`` with their prices in force at ``prices_at`` (one row per item).

    Mirrors ``households.selectors.card_by_number``/``decile_on``, ``rules.phase_on``/``band_for``/
    ``entitlement`` and ``stores.selectors.basket_with_prices``: a decile band is chosen by today's
    decile under today's phase for eligibility, and by the decile on the cycle's first day under
    the cycle's phase for the bonus (today's decile when that one is not covered: a household
    covered during the cycle). A household charged this cycle's credit may spend it all cycle.
    """
    ops = connection.ops
    params: dict[str, Any] = {
        "terminal": terminal_id,
        "terminal_code": terminal_code,
        "key": idempotency_key,
        "today": ops.adapt_datefield_value(today),
        "cycle_key": cycle_key,
        "card_hash": card_hash,
        "household": household_id,
    }
    sql = purchase_context_sql(
        by_card=card_hash is not None,
        by_terminal_code=terminal_code is not None,
        item_count=len(item_codes),
    )
    if item_codes:
        if prices_at is None:
            raise ValueError("prices_at is required with item_codes")
        params.update(prices_in_force_params(codes=item_codes, at=prices_at))
    with hot_cursor() as cursor:
        cursor.execute(sql, params)
        columns = [column[0] for column in cursor.description]
        rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    row = rows[0]
    prices = {
        item["item_code"]: item_price_row(row=[item[column] for column in _PRICE_COLUMNS])
        for item in rows
        if item_codes and item["item_id"] is not None
    }
    phase_ends_on = row["phase_ends_on"]
    if isinstance(phase_ends_on, str):  # SQLite hands dates back as text in raw queries
        phase_ends_on = dt.date.fromisoformat(phase_ends_on)
    phase_in_force = row["phase_id"] is not None and (
        phase_ends_on is None or phase_ends_on >= today
    )
    threshold, bonus = row["cycle_threshold_rial"], row["cycle_bonus_rial"]
    if threshold is not None and row["cycle_basis"] == CreditBasis.PER_MEMBER:
        threshold, bonus = threshold * row["cycle_members"], bonus * row["cycle_members"]
    replay_body = row["replay_body"]
    if isinstance(replay_body, str):  # jsonb arrives decoded on PostgreSQL, as text on SQLite
        replay_body = json.loads(replay_body)
    return PurchaseContext(
        replay_operation=row["replay_operation"],
        replay_fingerprint=row["replay_fingerprint"],
        replay_status=row["replay_status"],
        replay_body=replay_body,
        person_id=row["person_id"],
        household_id=row["household_id"],
        is_head=bool(row["is_head"]),
        wallet_id=row["wallet_id"],
        inflation_fund_id=row["inflation_fund_id"],
        store_payable_id=row["store_payable_id"],
        cycle_id=row["cycle_id"],
        cycle_phase_id=row["cycle_phase_id"],
        phase_id=row["phase_id"] if phase_in_force else None,
        phase_min_distinct_items=row["min_distinct_items"] or 0,
        # Covered today, or charged this cycle's credit (a household that left the covered
        # deciles during the cycle spends what it was given until the cycle ends).
        eligible_today=phase_in_force
        and (row["band_today_id"] is not None or bool(row["charged_in_cycle"])),
        bonus_threshold_rial=threshold,
        bonus_rial=bonus,
        terminal_row=tuple(row[column] for column in _TERMINAL_COLUMNS),
        prices=prices,
        card_closed=row["card_status"] == CardStatus.CLOSED,
    )


def wallet_cycle_figures(*, wallet_id: int, household_id: int, cycle_id: int) -> tuple[int, bool]:
    """(credit spent in the cycle net of reversals, whether a bonus is in force): one statement.

    :func:`cycle_spend` read by wallet id; call it after the wallet lock so it sees every purchase
    committed before this one."""
    return cycle_spend(household_id=household_id, cycle_id=cycle_id, wallet_id=wallet_id)
