"""The double-entry ledger: accounts, single entries, and set-based batches of entries.

Rules kept here (and checked by ``reconcile_ledger``):
- an entry's postings are written in one statement and sum to zero;
- a wallet's ``balance_rial`` moves in the same transaction as its postings, by a guarded
  ``UPDATE … SET balance = balance + x`` that the ``>= 0`` check protects;
- every entry has a unique idempotency key: posting the same key twice returns the first entry;
- every entry and its postings are filed under one month (``entry_period``), the partition key
  of both tables on PostgreSQL (``settlements.services.partitions``).
"""

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F
from django.utils import timezone

from households.models import Household
from kalabarg.lib.hot_sql import hot_cursor
from kalabarg.lib.partitions import month_start, period_of
from settlements.models import Account, AccountKind, Cycle, EntryKind, JournalEntry, Phase, Posting
from stores.models import Purchase, Store

SYSTEM_KINDS = (
    AccountKind.PROGRAMME_FUND,
    AccountKind.INFLATION_FUND,
    AccountKind.SETTLEMENT_CLEARING,
)


class InsufficientBalance(Exception):
    """A wallet would go below zero."""


def system_account(*, kind: str) -> Account:
    """The single programme fund, inflation fund or settlement clearing account."""
    if kind not in SYSTEM_KINDS:
        raise ValueError(f"{kind} is not a system account")
    account = Account.objects.filter(kind=kind).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(kind=kind)
    except IntegrityError:
        return Account.objects.get(kind=kind)


def wallet_for(*, household: Household | int) -> Account:
    household_id = household if isinstance(household, int) else household.pk
    account = Account.objects.filter(kind=AccountKind.WALLET, household_id=household_id).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(kind=AccountKind.WALLET, household_id=household_id)
    except IntegrityError:
        return Account.objects.get(kind=AccountKind.WALLET, household_id=household_id)


def store_payable(*, store: Store) -> Account:
    account = Account.objects.filter(kind=AccountKind.STORE_PAYABLE, store=store).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(kind=AccountKind.STORE_PAYABLE, store=store)
    except IntegrityError:
        return Account.objects.get(kind=AccountKind.STORE_PAYABLE, store=store)


def entry_period(
    *, kind: str, cycle: Cycle | None, purchase: Purchase | None, moment: dt.datetime
) -> dt.date:
    """The month an entry is filed under: a charge's or a bonus's cycle, a purchase entry's
    purchase, else the month of ``moment``. Keys of the first two then meet in one partition
    whenever they are posted (settlements.services.partitions)."""
    if kind in (EntryKind.CYCLE_CHARGE, EntryKind.BONUS) and cycle is not None:
        return month_start(cycle.starts_on)
    if kind == EntryKind.PURCHASE and purchase is not None:
        return purchase.period
    return period_of(moment)


def charge_period(*, cycle: Cycle) -> dt.date:
    """The one month a cycle's charges (entries and ``Charge`` rows) are filed under: a look-up
    for them reads that month's partition only."""
    return entry_period(
        kind=EntryKind.CYCLE_CHARGE, cycle=cycle, purchase=None, moment=timezone.now()
    )


def lock_key(*, idempotency_key: str) -> None:
    """Serialise every writer of one idempotency key until the transaction ends.

    Keys are unique per month; a key posted twice around a month's turn could otherwise land in
    two partitions. Under this lock the second writer's look-up sees the first one's entry."""
    if connection.vendor == "postgresql":
        with hot_cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [idempotency_key]
            )


@dataclass(frozen=True)
class Leg:
    account: Account
    amount_rial: int


@dataclass(frozen=True)
class PostResult:
    entry: JournalEntry
    created: bool


@transaction.atomic
def post_entry(
    *,
    kind: str,
    idempotency_key: str,
    legs: Sequence[Leg],
    household: Household | int | None = None,
    cycle: Cycle | None = None,
    phase: Phase | None = None,
    purchase: Purchase | None = None,
    reverses: JournalEntry | None = None,
    created_by: User | None = None,
    created_by_process: str = "",
    memo: str = "",
    key_is_new: bool = False,
) -> PostResult:
    """Post one balanced entry. The same key again returns the first entry and posts nothing.

    Wallet legs move the wallet's balance with a guarded update; a wallet that would go negative
    raises :class:`InsufficientBalance` and nothing is written.
    """
    if kind not in EntryKind.values:
        raise ValueError(f"unknown entry kind {kind}")
    legs = [leg for leg in legs if leg.amount_rial != 0]
    if not legs or sum(leg.amount_rial for leg in legs) != 0:
        raise ValueError("an entry needs legs that sum to zero")
    # ``key_is_new``: the caller derived the key from a row it just created, so no look-up.
    if not key_is_new:
        lock_key(idempotency_key=idempotency_key)
    existing = (
        None if key_is_new else JournalEntry.objects.filter(idempotency_key=idempotency_key).first()
    )
    if existing is not None:
        return PostResult(existing, created=False)
    now = timezone.now()
    # The entry goes first: its unique key makes a concurrent duplicate wait here, then fail.
    entry = JournalEntry.objects.create(
        kind=kind,
        idempotency_key=idempotency_key,
        household_id=household.pk if isinstance(household, Household) else household,
        cycle=cycle,
        phase=phase,
        purchase=purchase,
        reverses=reverses,
        created_by=created_by,
        created_by_process=created_by_process,
        memo=memo,
        created_at=now,
        period=entry_period(kind=kind, cycle=cycle, purchase=purchase, moment=now),
    )
    # Wallets in a fixed order (by id), so two entries touching the same wallets never deadlock.
    for leg in sorted(
        (leg for leg in legs if leg.account.kind == AccountKind.WALLET),
        key=lambda leg: leg.account.pk,
    ):
        updated = Account.objects.filter(
            pk=leg.account.pk, balance_rial__gte=-leg.amount_rial
        ).update(balance_rial=F("balance_rial") + leg.amount_rial)
        if not updated:
            raise InsufficientBalance(leg.account.pk)
    Posting.objects.bulk_create(
        [
            Posting(
                entry=entry, account=leg.account, amount_rial=leg.amount_rial, period=entry.period
            )
            for leg in legs
        ]
    )
    return PostResult(entry, created=True)


def lock_wallet(*, household_id: int) -> Account | None:
    """Take the household's wallet row lock (in a transaction), or None if it has no wallet yet."""
    return (
        Account.objects.select_for_update()
        .filter(kind=AccountKind.WALLET, household_id=household_id)
        .first()
    )


# --- Set-based batches ------------------------------------------------------------------------

BATCH_TABLE = "settlements_batch"


def create_batch_table() -> None:
    """A temporary table of (household, amount, key) rows for one chunk, on this connection."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {BATCH_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {BATCH_TABLE} (household_id bigint PRIMARY KEY, amount_rial bigint NOT NULL, "
            "idempotency_key varchar(96) NOT NULL)"
        )


_WALLETS_INSERT = (
    "INSERT INTO settlements_account (kind, household_id, balance_rial) "
    f"SELECT 'wallet', household_id, amount_rial FROM {BATCH_TABLE} WHERE TRUE ORDER BY household_id"
)
_WALLETS_UPSERT = (
    f"{_WALLETS_INSERT} "
    "ON CONFLICT (household_id) DO UPDATE SET balance_rial = settlements_account.balance_rial + excluded.balance_rial"
)


# The accounts' unique household key: what a wallet created meanwhile collides with.
_WALLET_PER_HOUSEHOLD = "settlements_account_household_id_key"


def _constraint_of(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL says ``exc`` broke (psycopg's diagnostics)."""
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def _no_wallet_in_batch_range(cursor: CursorWrapper) -> bool:
    """Whether no wallet exists between the batch's lowest and highest household: one range probe
    of the accounts' household index, not one look-up per household."""
    cursor.execute(
        "SELECT NOT EXISTS (SELECT 1 FROM settlements_account a WHERE a.household_id "
        f"BETWEEN (SELECT min(household_id) FROM {BATCH_TABLE}) AND (SELECT max(household_id) FROM {BATCH_TABLE}))"
    )
    return bool(cursor.fetchone()[0])


@dataclass(frozen=True)
class BatchTotals:
    """What a batch posted: the households credited (or debited), and the rials."""

    households: int
    amount_rial: int


def post_batch(
    *,
    kind: str,
    fund: Account,
    to_wallet: bool,
    cycle_id: int | None,
    phase_id: int | None,
    run_id: int | None,
    process: str,
    memo: str,
    period: dt.date,
) -> BatchTotals:
    """Post one entry per row of the batch table: fund → wallet (``to_wallet``) or wallet → fund,
    every entry and posting filed under ``period`` (``entry_period``). For the bonus and the
    expiry, whose keys carry more than a household and cycle; a cycle's charge is
    ``post_charge_batch``.

    Must run inside the chunk's transaction. Rows whose key is already posted are dropped first,
    so a repeated chunk posts nothing; a concurrent duplicate violates the unique key and the
    whole chunk rolls back (to be retried, and then dropped here).
    """
    now = timezone.now()
    sign = 1 if to_wallet else -1
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {BATCH_TABLE} WHERE amount_rial <= 0 OR EXISTS (SELECT 1 FROM "
            f"settlements_journalentry e WHERE e.idempotency_key = {BATCH_TABLE}.idempotency_key)"
        )
        cursor.execute(f"SELECT count(*), COALESCE(sum(amount_rial), 0) FROM {BATCH_TABLE}")
        entries, amount = cursor.fetchone()
        if not entries:
            return BatchTotals(0, 0)
        # Credit every wallet in one upsert: a new wallet is created with its balance, an existing
        # one is increased (the row lock of the conflict path serialises purchases). Debits only
        # ever touch existing wallets; the >= 0 check refuses an overdraft.
        wallets = (
            _WALLETS_UPSERT
            if to_wallet
            else (
                "UPDATE settlements_account SET balance_rial = settlements_account.balance_rial - b.amount_rial "
                f"FROM {BATCH_TABLE} b WHERE settlements_account.household_id = b.household_id"
            )
        )
        entries_sql = (
            "INSERT INTO settlements_journalentry (kind, idempotency_key, household_id, cycle_id, phase_id, run_id, "
            "created_by_process, memo, created_at, period) "
            f"SELECT %s, idempotency_key, household_id, %s, %s, %s, %s, %s, %s, %s FROM {BATCH_TABLE} ORDER BY household_id"
        )
        entry_params = [kind, cycle_id, phase_id, run_id, process, memo, now, period]
        if connection.vendor == "postgresql":
            # Wallets, entries and both legs of every entry in ONE statement: the legs take their
            # entry and wallet ids from the two inserts' RETURNING (no join back by key), and the
            # balance trigger checks the statement's postings when it ends. A wallet missing from
            # ``w`` leaves its entry with the fund leg alone, which that trigger refuses.
            def write(wallets_sql: str, _first_charge: bool) -> None:
                cursor.execute(
                    f"WITH w AS ({wallets_sql} RETURNING settlements_account.id, settlements_account.household_id), "
                    f"e AS ({entries_sql} RETURNING id, household_id, period) "
                    "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
                    f"SELECT e.id, w.id, %s * b.amount_rial, e.period FROM e JOIN {BATCH_TABLE} b ON b.household_id = e.household_id "
                    "JOIN w ON w.household_id = e.household_id "
                    "UNION ALL "
                    f"SELECT e.id, %s, -%s * b.amount_rial, e.period FROM e JOIN {BATCH_TABLE} b ON b.household_id = e.household_id",
                    [*entry_params, sign, fund.pk, sign],
                )

            if to_wallet:
                _credit_wallets(cursor, write)
            else:
                write(wallets, False)
            return BatchTotals(int(entries), int(amount))
        cursor.execute(wallets)
        cursor.execute(entries_sql, entry_params)
        # Both legs of every entry in one statement: the balance trigger checks each statement.
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            f"SELECT e.id, w.id, %s * b.amount_rial, e.period FROM {BATCH_TABLE} b "
            "JOIN settlements_journalentry e ON e.idempotency_key = b.idempotency_key AND e.period = %s "
            "JOIN settlements_account w ON w.household_id = b.household_id "
            "UNION ALL "
            f"SELECT e.id, %s, -%s * b.amount_rial, e.period FROM {BATCH_TABLE} b "
            "JOIN settlements_journalentry e ON e.idempotency_key = b.idempotency_key AND e.period = %s",
            [sign, period, fund.pk, sign, period],
        )
    return BatchTotals(int(entries), int(amount))


def _credit_wallets(cursor: CursorWrapper, write: Callable[[str, bool], None]) -> None:
    """Run ``write`` with the SQL that credits the batch's wallets (and whether it is the plain
    insert of a first charge), inside the chunk's transaction.

    A first charge: no wallet in the batch's range, so every wallet is new and a plain insert does,
    without the upsert's look-up and speculative insertion per row (docs/benchmarks.md). A wallet
    created meanwhile (a late charge's, a bonus's) collides with it: the statement is undone to
    its savepoint and done again as the upsert, which increases that wallet."""
    if _no_wallet_in_batch_range(cursor):
        try:
            with transaction.atomic():
                write(_WALLETS_INSERT, True)
            return
        except IntegrityError as exc:
            if _constraint_of(exc) != _WALLET_PER_HOUSEHOLD:
                raise  # any other refusal (a second charge, say) stands as it is
    write(_WALLETS_UPSERT, False)


def charge_entry_key(*, cycle_key: str, household_id: int) -> str:
    """The idempotency key of a charge entry: its cycle and the lowest household it charges.

    The households of two charge entries of a cycle never meet (one charge a household and
    cycle), so neither do their lowest: the key is unique, and two writers of the same set (a
    chunk done twice at once) compute the same key, so one of them fails and rolls back. A charge
    of one household has the key an entry a household always had."""
    return f"charge:{cycle_key}:{household_id}"


# The charge run's one statement on PostgreSQL: the entry (the VALUES row), a ``Charge`` row a
# household naming it, the wallets (``{wallets}``: inserted or upserted) and the postings, the
# wallets' legs and the fund's one leg of the total. Data-modifying CTEs run to completion
# whether or not the final INSERT reads them; the balance trigger checks the entry at its end.
_CHARGE_STATEMENT = (
    "WITH e AS (INSERT INTO settlements_journalentry (kind, idempotency_key, cycle_id, phase_id, "
    "run_id, created_by_process, memo, created_at, period) "
    "VALUES ('cycle_charge', %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, period), "
    "c AS (INSERT INTO settlements_charge (household_id, cycle_id, period, amount_rial, entry_id) "
    f"SELECT b.household_id, %s, e.period, b.amount_rial, e.id FROM {BATCH_TABLE} b, e "
    "ORDER BY b.household_id), "
    "w AS ({wallets} RETURNING settlements_account.id, {credited}) "
    "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
    "SELECT e.id, w.id, {amount}, e.period FROM e, w{join} "
    "UNION ALL SELECT e.id, %s, %s, e.period FROM e"
)


def _charge_statement(wallets_sql: str, first_charge: bool) -> str:
    """The charge statement for ``wallets_sql``. A first charge's new wallet holds exactly its
    credit, so its leg reads the balance back; an upserted wallet's balance holds earlier credit
    too, so its leg takes the batch row's amount (one hash join)."""
    if first_charge:
        credited, amount, join = (
            "settlements_account.balance_rial AS amount_rial",
            "w.amount_rial",
            "",
        )
    else:
        credited, amount = "settlements_account.household_id", "b.amount_rial"
        join = f" JOIN {BATCH_TABLE} b ON b.household_id = w.household_id"
    return _CHARGE_STATEMENT.format(
        wallets=wallets_sql, credited=credited, amount=amount, join=join
    )


def post_charge_batch(
    *,
    fund: Account,
    cycle: Cycle,
    run_id: int | None,
    process: str,
    memo: str,
) -> BatchTotals:
    """Charge ``cycle``'s credit to every household of the batch table in ONE journal entry: the
    fund's total against each wallet's credit, and a ``Charge`` row a household (the one-charge
    rule, and what each was charged). Must run inside the chunk's transaction.

    The batch's own SELECT left out every household already charged this cycle (by the charges'
    key), so nothing is looked up here; that key and the entry's refuse a concurrent duplicate,
    and the whole chunk rolls back (to be retried, and then filled without them). Rows of no
    amount are dropped. Filed under the cycle's month (``entry_period``)."""
    period = charge_period(cycle=cycle)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {BATCH_TABLE} WHERE amount_rial <= 0")
        cursor.execute(
            f"SELECT count(*), COALESCE(sum(amount_rial), 0), min(household_id) FROM {BATCH_TABLE}"
        )
        households, amount, lowest = cursor.fetchone()
        if not households:
            return BatchTotals(0, 0)
        key = charge_entry_key(cycle_key=cycle.key, household_id=int(lowest))
        now = timezone.now()
        if connection.vendor == "postgresql":
            params: list[int | str | dt.date | dt.datetime | None] = [
                key, cycle.pk, cycle.phase_id, run_id, process, memo, now, period, cycle.pk,
            ]  # fmt: skip

            def write(wallets_sql: str, first_charge: bool) -> None:
                cursor.execute(
                    _charge_statement(wallets_sql, first_charge), [*params, fund.pk, -int(amount)]
                )

            _credit_wallets(cursor, write)
            return BatchTotals(int(households), int(amount))
        # SQLite, one writer at a time: the same rows in plain statements.
        entry = JournalEntry.objects.create(
            kind=EntryKind.CYCLE_CHARGE, idempotency_key=key, cycle=cycle, phase_id=cycle.phase_id,
            run_id=run_id, created_by_process=process, memo=memo, created_at=now, period=period,
        )  # fmt: skip
        cursor.execute(
            "INSERT INTO settlements_charge (household_id, cycle_id, period, amount_rial, entry_id) "
            f"SELECT household_id, %s, %s, amount_rial, %s FROM {BATCH_TABLE} ORDER BY household_id",
            [cycle.pk, period, entry.pk],
        )
        cursor.execute(_WALLETS_UPSERT)
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            f"SELECT %s, w.id, b.amount_rial, %s FROM {BATCH_TABLE} b "
            "JOIN settlements_account w ON w.household_id = b.household_id "
            "UNION ALL SELECT %s, %s, %s, %s",
            [entry.pk, period, entry.pk, fund.pk, -int(amount), period],
        )
    return BatchTotals(int(households), int(amount))


def lock_wallet_balance(*, wallet_id: int) -> int:
    """Take a wallet's row lock (in a transaction) and read its balance: one plain statement.

    SQLite has no row locks; its single writer serialises the whole transaction instead."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with hot_cursor() as cursor:
        cursor.execute(
            f"SELECT balance_rial FROM settlements_account WHERE id = %s{lock}", [wallet_id]
        )
        row = cursor.fetchone()
    if row is None:
        raise ValueError(f"wallet {wallet_id} does not exist")
    return int(row[0])
