"""The ledger side of a basket purchase and of its reversal.

A purchase is split ``cash = Σ base`` (paid by the household to the store, recorded not posted),
``difference = Σ current − Σ base``, ``credit = min(difference, wallet balance)``,
``compensation = difference − credit``. One entry: wallet −credit, inflation fund −compensation,
store payable +difference.
"""

import datetime as dt
import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction

from kalabarg.lib.hot_sql import hot_cursor
from kalabarg.lib.partitions import period_of
from settlements.models import AccountKind, EntryKind, JournalEntry
from settlements.services.ledger import (
    InsufficientBalance,
    Leg,
    lock_wallet,
    post_entry,
    store_payable,
    system_account,
)
from stores.models import Purchase, PurchaseStatus, Store


@dataclass(frozen=True)
class Split:
    cash_rial: int
    difference_rial: int
    credit_rial: int
    compensation_rial: int


def split_purchase(
    *, base_total_rial: int, current_total_rial: int, wallet_balance_rial: int
) -> Split:
    """The source's rule, to the rial: the household pays base, credit pays the rise first, the state the rest."""
    if base_total_rial < 0 or current_total_rial < base_total_rial or wallet_balance_rial < 0:
        raise ValueError(
            "totals must satisfy 0 <= base <= current and the wallet must not be negative"
        )
    difference = current_total_rial - base_total_rial
    credit = min(difference, wallet_balance_rial)
    return Split(
        cash_rial=base_total_rial,
        difference_rial=difference,
        credit_rial=credit,
        compensation_rial=difference - credit,
    )


@dataclass(frozen=True)
class PricedLine:
    """One purchase line priced at the base and current prices in force, rounded half up per line."""

    item_id: int
    code: str
    name: str
    quantity: Decimal
    unit_base_price_rial: int
    unit_current_price_rial: int
    base_amount_rial: int
    current_amount_rial: int


def record_purchase(
    *,
    household_id: int,
    payer_id: int,
    store_id: int,
    terminal_id: int,
    idempotency_key: str,
    fingerprint: str,
    paid_with: str,
    card_bin: str,
    card_last4: str,
    base_total_rial: int,
    current_total_rial: int,
    split: Split,
    lines: Sequence[PricedLine],
    created_at: dt.datetime,
) -> int:
    """Insert the purchase and its lines (two statements; the POS hot path) and return its id.

    The table's checks hold the split to the rule (cash = base, credit + compensation = rise)."""
    ops = connection.ops
    with hot_cursor() as cursor:
        cursor.execute(
            "INSERT INTO stores_purchase (household_id, payer_id, store_id, terminal_id, idempotency_key, "
            "request_fingerprint, paid_with, card_bin, card_last4, base_total_rial, current_total_rial, "
            "cash_rial, credit_rial, compensation_rial, status, created_at, period) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                household_id,
                payer_id,
                store_id,
                terminal_id,
                idempotency_key,
                fingerprint,
                paid_with,
                card_bin,
                card_last4,
                base_total_rial,
                current_total_rial,
                split.cash_rial,
                split.credit_rial,
                split.compensation_rial,
                PurchaseStatus.COMPLETED,
                ops.adapt_datetimefield_value(created_at),
                ops.adapt_datefield_value(period_of(created_at)),
            ],
        )
        purchase_id = int(cursor.fetchone()[0])
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(lines))
        cursor.execute(
            "INSERT INTO stores_purchaseline (purchase_id, item_id, quantity, unit_base_price_rial, "
            f"unit_current_price_rial, base_amount_rial, current_amount_rial) VALUES {values}",
            [
                value
                for line in lines
                for value in (
                    purchase_id,
                    line.item_id,
                    ops.adapt_decimalfield_value(line.quantity, 10, 3),
                    line.unit_base_price_rial,
                    line.unit_current_price_rial,
                    line.base_amount_rial,
                    line.current_amount_rial,
                )
            ],
        )
    return purchase_id


def purchase_legs(
    *,
    credit_rial: int,
    compensation_rial: int,
    store_id: int,
    wallet_id: int | None,
    inflation_fund_id: int | None,
    store_payable_id: int | None,
) -> list[tuple[int, int]]:
    """(account id, amount) of a purchase's entry: wallet −credit, inflation fund −compensation,
    store payable +both; zero legs dropped, so a purchase at base prices has none."""
    if credit_rial + compensation_rial == 0:
        return []
    if credit_rial and wallet_id is None:
        raise ValueError("a purchase paid from credit needs the household's wallet")
    legs = [
        (wallet_id, -credit_rial),
        (
            inflation_fund_id or system_account(kind=AccountKind.INFLATION_FUND).pk,
            -compensation_rial,
        ),
        (
            store_payable_id or store_payable(store=Store(pk=store_id)).pk,
            credit_rial + compensation_rial,
        ),
    ]
    return [(account, amount) for account, amount in legs if amount and account is not None]


@transaction.atomic(savepoint=False)
def post_purchase(
    *,
    purchase_id: int,
    household_id: int,
    store_id: int,
    credit_rial: int,
    compensation_rial: int,
    cycle_id: int | None,
    phase_id: int | None,
    wallet_id: int | None,
    created_at: dt.datetime,
    inflation_fund_id: int | None = None,
    store_payable_id: int | None = None,
    process: str = "pos",
) -> int | None:
    """Post a recorded purchase's split: wallet −credit, inflation fund −compensation, store
    payable +both. One entry, three plain statements (the POS hot path); returns the entry id.

    The caller holds the wallet's row lock. The wallet moves by a guarded update (the ``>= 0``
    check and the guard refuse an overdraft with :class:`InsufficientBalance`); the postings go in
    one statement, so the balanced-statement trigger checks the entry whole. A purchase at no more
    than base prices moves no programme money: nothing is posted (None).
    """
    legs = purchase_legs(
        credit_rial=credit_rial,
        compensation_rial=compensation_rial,
        store_id=store_id,
        wallet_id=wallet_id,
        inflation_fund_id=inflation_fund_id,
        store_payable_id=store_payable_id,
    )
    if not legs:
        return None
    # Filed under its purchase's month (the same moment): settlements.services.partitions.
    period = connection.ops.adapt_datefield_value(period_of(created_at))
    with hot_cursor() as cursor:
        # The entry first: its unique key makes a concurrent duplicate wait here, then fail.
        cursor.execute(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, cycle_id, phase_id, "
            "purchase_id, created_by_process, memo, created_at, period) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            [
                EntryKind.PURCHASE,
                f"purchase:{purchase_id}",
                household_id,
                cycle_id,
                phase_id,
                purchase_id,
                process,
                f"خرید {purchase_id}",
                connection.ops.adapt_datetimefield_value(created_at),
                period,
            ],
        )
        entry_id = int(cursor.fetchone()[0])
        if credit_rial:
            cursor.execute(
                "UPDATE settlements_account SET balance_rial = balance_rial - %s "
                "WHERE id = %s AND balance_rial >= %s",
                [credit_rial, wallet_id, credit_rial],
            )
            if cursor.rowcount != 1:
                raise InsufficientBalance(wallet_id)
        values = ", ".join(["(%s, %s, %s, %s)"] * len(legs))
        cursor.execute(
            f"INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) VALUES {values}",
            [value for account, amount in legs for value in (entry_id, account, amount, period)],
        )
    return entry_id


_RECORD_PURCHASE_IN_ONE_CALL = """
SELECT checkout_record_purchase(%(household)s, %(payer)s, %(store)s, %(terminal)s, %(key)s,
  %(fingerprint)s, %(paid_with)s, %(card_bin)s, %(card_last4)s, %(base_total)s, %(current_total)s,
  %(created_at)s, %(period)s::date, %(items)s::bigint[], %(quantities)s::numeric[], %(unit_bases)s::bigint[],
  %(unit_currents)s::bigint[], %(bases)s::bigint[], %(currents)s::bigint[], %(cycle)s::bigint,
  %(cycle_key)s::text, %(phase)s::bigint, %(wallet)s::bigint, %(inflation_fund)s::bigint,
  %(store_payable)s::bigint, %(threshold)s::bigint, %(bonus)s::bigint, %(process)s,
  %(known)s::jsonb)
"""


def record_purchase_in_one_call(
    *,
    household_id: int,
    payer_id: int,
    store_id: int,
    terminal_id: int,
    idempotency_key: str,
    fingerprint: str,
    paid_with: str,
    card_bin: str,
    card_last4: str,
    base_total_rial: int,
    current_total_rial: int,
    lines: Sequence[PricedLine],
    created_at: dt.datetime,
    cycle_id: int | None,
    cycle_key: str,
    phase_id: int | None,
    wallet_id: int | None,
    inflation_fund_id: int | None,
    store_payable_id: int | None,
    bonus_threshold_rial: int | None,
    bonus_rial: int | None,
    known: dict[str, Any],
    process: str = "pos",
) -> dict[str, Any]:
    """PostgreSQL only: lock the wallet, split, record and post the purchase, read the cycle's
    spend, complete the answer ``known`` and remember it under the idempotency key, in one call of
    ``checkout_record_purchase`` (``settlements/sql/checkout_record_purchase.sql``). Outside a transaction the call is
    its own. Returns the answer (without its receipt).

    A purchase above base prices needs ``inflation_fund_id`` and ``store_payable_id``."""
    params = {
        "household": household_id,
        "payer": payer_id,
        "store": store_id,
        "terminal": terminal_id,
        "key": idempotency_key,
        "fingerprint": fingerprint,
        "paid_with": paid_with,
        "card_bin": card_bin,
        "card_last4": card_last4,
        "base_total": base_total_rial,
        "current_total": current_total_rial,
        "created_at": created_at,
        "period": period_of(created_at),
        "items": [line.item_id for line in lines],
        "quantities": [line.quantity for line in lines],
        "unit_bases": [line.unit_base_price_rial for line in lines],
        "unit_currents": [line.unit_current_price_rial for line in lines],
        "bases": [line.base_amount_rial for line in lines],
        "currents": [line.current_amount_rial for line in lines],
        "cycle": cycle_id,
        "cycle_key": cycle_key,
        "phase": phase_id,
        "wallet": wallet_id,
        "inflation_fund": inflation_fund_id,
        "store_payable": store_payable_id,
        "threshold": bonus_threshold_rial,
        "bonus": bonus_rial,
        "process": process,
        "known": json.dumps(known, ensure_ascii=False),
    }
    # In autocommit the call is its own transaction (one round trip). Inside a caller's
    # transaction it gets a savepoint, so a refused call (a duplicate key) leaves that transaction
    # usable for the replay look-up, as the Python path's own atomic block does.
    with (
        transaction.atomic() if connection.in_atomic_block else nullcontext(),
        hot_cursor() as cursor,
    ):
        cursor.execute(_RECORD_PURCHASE_IN_ONE_CALL, params)
        answer = cursor.fetchone()[0]
    return json.loads(answer) if isinstance(answer, str) else dict(answer)


@transaction.atomic(savepoint=False)
def post_purchase_reversal(
    *, purchase: Purchase, original: JournalEntry, process: str = "pos"
) -> JournalEntry:
    """Return the credit to the wallet and the compensation to the fund: the original entry, negated."""
    lock_wallet(household_id=purchase.household_id)
    legs = [
        Leg(posting.account, -posting.amount_rial)
        for posting in original.postings.select_related("account")
    ]
    return post_entry(
        kind=EntryKind.REVERSAL,
        idempotency_key=f"reversal:{original.pk}",
        legs=legs,
        household=purchase.household_id,
        cycle=original.cycle,
        phase=original.phase,
        purchase=purchase,
        reverses=original,
        created_by_process=process,
        memo=f"برگشت خرید {purchase.pk}",
    ).entry


@transaction.atomic(savepoint=False)
def reverse_entry(*, original: JournalEntry, key: str, process: str, memo: str) -> JournalEntry:
    """A generic reversing entry (e.g. an unspent bonus taken back); wallets are guarded against going negative."""
    legs = [
        Leg(posting.account, -posting.amount_rial)
        for posting in original.postings.select_related("account")
    ]
    return post_entry(
        kind=EntryKind.REVERSAL,
        idempotency_key=key,
        legs=legs,
        household=original.household_id,
        cycle=original.cycle,
        phase=original.phase,
        reverses=original,
        created_by_process=process,
        memo=memo,
    ).entry
