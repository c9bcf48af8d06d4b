"""The set-based work of each kind of national run for one household-id range: who is charged
a cycle's credit, who earned the bonus, what an ending phase's expiry takes. Each is one
``INSERT … SELECT`` into the batch table, then ``post_charge_batch`` (one entry for the chunk) or
``post_batch`` (an entry a household) writes them; the run's lifecycle (chunks, progress,
retries) is ``settlements.services.runs``, and the instant bonus (``settlements.services.bonus``)
calls the same work for a range of one household."""

import datetime as dt

from django.db import connection
from django.utils import timezone

from households.selectors import DECILES_IN_RANGE_SQL, decile_on_sql
from kalabarg.lib.partitions import planned_by_index
from settlements.models import (
    AccountKind,
    CreditBasis,
    Cycle,
    EntryKind,
    Phase,
    RunKind,
)
from settlements.selectors import (
    BONUS_IN_FORCE_SQL,
    BONUS_TAKEN_BACK_SQL,
    CYCLE_SPEND_SQL,
    SPEND_ENTRY_SQL,
)
from settlements.services.ledger import (
    BATCH_TABLE,
    charge_period,
    create_batch_table,
    entry_period,
    post_batch,
    post_charge_batch,
    system_account,
)

# The members of a household counted on a day, as a correlated subquery (person household FK); the
# decile on a day is ``households.selectors.decile_on_sql``. Both run the same on PostgreSQL and SQLite.
_MEMBERS_ON = (
    "(SELECT count(*) FROM households_person p WHERE p.household_id = {h} "
    "AND (p.birth_date IS NULL OR p.birth_date <= %s))"
)


def _band_case(phase: Phase, column: str) -> tuple[str, list[int]]:
    """``CASE WHEN decile BETWEEN a AND b THEN amount … ELSE 0 END`` for the phase's bands."""
    parts, params = [], []
    for band in phase.bands.all():
        parts.append("WHEN x.decile BETWEEN %s AND %s THEN %s")
        params += [band.min_decile, band.max_decile, getattr(band, column)]
    if not parts:
        return "0", []
    return "CASE " + " ".join(parts) + " ELSE 0 END", params


def _in_bands(phase: Phase, column: str) -> tuple[str, list[int]]:
    """``(column BETWEEN a AND b OR …)``: whether a decile lies in one of the phase's bands."""
    bands = list(phase.bands.all())
    if not bands:
        return "FALSE", []
    return "(" + " OR ".join(f"{column} BETWEEN %s AND %s" for _ in bands) + ")", [
        v for band in bands for v in (band.min_decile, band.max_decile)
    ]


def _factor(phase: Phase) -> str:
    return "x.members" if phase.basis == CreditBasis.PER_MEMBER else "1"


def _fill_charge_batch(cycle: Cycle, low: int, high: int) -> int:
    """Every household in ``[low, high)`` not yet charged this cycle (no ``Charge`` row), with its
    amount by band and basis. No key a household: the chunk's one entry is keyed by its lowest
    household (``ledger.charge_entry_key``).

    Deciles and members come from two range scans (window function, GROUP BY) rather than a
    probe per household; the same SQL runs on PostgreSQL and SQLite (>= 3.25)."""
    phase = cycle.phase
    amount_case, amount_params = _band_case(phase, "credit_per_cycle_rial")
    sql = (
        f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "
        f"SELECT x.id, ({amount_case}) * {_factor(phase)}, '' FROM ("
        "SELECT d.household_id AS id, d.decile, COALESCE(m.members, 0) AS members FROM ("
        f"{DECILES_IN_RANGE_SQL}) d "
        "LEFT JOIN (SELECT household_id, COUNT(*) AS members FROM households_person "
        "WHERE household_id >= %s AND household_id < %s AND (birth_date IS NULL OR birth_date <= %s) "
        "GROUP BY household_id) m ON m.household_id = d.household_id "
        # The range again inside NOT EXISTS bounds its index scan to the chunk (the planner
        # makes it a merge anti join, which would otherwise read every charge below the chunk).
        "WHERE d.rn = 1 AND NOT EXISTS (SELECT 1 FROM settlements_charge c WHERE c.household_id = d.household_id "
        "AND c.cycle_id = %s AND c.period = %s AND c.household_id >= %s AND c.household_id < %s)) x"
    )
    params: list[int | str | dt.date] = [
        *amount_params,
        low,
        high,
        cycle.starts_on,
        low,
        high,
        cycle.starts_on,
        cycle.pk,
        charge_period(cycle=cycle),
        low,
        high,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def fill_late_charge_batch(*, cycle: Cycle, household_ids: list[int], decile_date: dt.date) -> int:
    """The households of ``household_ids`` not yet charged ``cycle`` whose decile on
    ``decile_date`` (a day of the cycle) lies in one of its phase's bands, with that band's amount.

    For households covered after the cycle's first day (a decision, a late import): the charge is
    held to one a household and cycle by ``Charge``'s key, as the monthly run's is, so whichever
    comes first posts it and the other finds it posted. Members are counted on the cycle's first
    day, as the run counts them. A correlated probe per household (indexed): the set is a few,
    not a range of the nation."""
    if not household_ids:
        return 0
    phase = cycle.phase
    amount_case, amount_params = _band_case(phase, "credit_per_cycle_rial")
    members = _MEMBERS_ON.format(h="h.id")
    in_list = ", ".join(["%s"] * len(household_ids))
    sql = (
        f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "
        f"SELECT x.id, ({amount_case}) * {_factor(phase)}, '' FROM ("
        f"SELECT h.id, {decile_on_sql(household='h.id', on_date='%s')} AS decile, {members} AS members "
        f"FROM households_household h WHERE h.id IN ({in_list}) "
        "AND NOT EXISTS (SELECT 1 FROM settlements_charge c WHERE c.household_id = h.id "
        "AND c.cycle_id = %s AND c.period = %s)) x WHERE x.decile IS NOT NULL"
    )
    params: list[int | str | dt.date] = [
        *amount_params,
        decile_date,
        cycle.starts_on,
        *household_ids,
        cycle.pk,
        charge_period(cycle=cycle),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _bonus_candidates(cycle: Cycle, low: int, high: int) -> tuple[str, list[int | str | dt.date]]:
    """A SELECT of (household, amount, key) for every household in ``[low, high)`` whose credit
    spent on the basket this cycle (net of reversals) reached the threshold and that holds no
    bonus in force (``selectors.BONUS_IN_FORCE_SQL``).

    The key is ``bonus:<cycle>:<household>`` for the first grant and ``…:<n>`` after ``n``
    bonuses were taken back by reversals: a grant earned again is a new entry, and the sweep and
    the instant task racing over the same grant compute the same key, so one of them posts."""
    phase = cycle.phase
    bonus_case, bonus_params = _band_case(phase, "bonus_amount_rial")
    threshold_case, threshold_params = _band_case(phase, "bonus_threshold_rial")
    factor = _factor(phase)
    covered, covered_params = _in_bands(phase, "y.start_decile")
    sql = (
        f"SELECT x.id AS household_id, ({bonus_case}) * {factor} AS amount_rial, "
        "CAST(%s AS varchar(40)) || CAST(x.id AS varchar(20)) || "
        "CASE WHEN x.taken_back = 0 THEN '' ELSE ':' || CAST(x.taken_back AS varchar(20)) END "
        "AS idempotency_key FROM ("
        # The decile of the cycle: on its first day, or (for a household covered during the
        # cycle) on today, or on its last day once it has ended; see rules.entitlement.
        f"SELECT y.id, y.spent, y.members, y.taken_back, CASE WHEN {covered} THEN y.start_decile "
        "ELSE y.later_decile END AS decile FROM ("
        f"SELECT s.household_id AS id, s.spent, {decile_on_sql(household='s.household_id', on_date='%s')} AS start_decile, "
        f"{decile_on_sql(household='s.household_id', on_date='%s')} AS later_decile, "
        f"{_MEMBERS_ON.format(h='s.household_id')} AS members, "
        "(SELECT COUNT(*) FROM settlements_journalentry e WHERE e.household_id = s.household_id "
        f"AND e.cycle_id = %s AND {BONUS_TAKEN_BACK_SQL}) AS taken_back FROM ("
        # Credit spent in the cycle: the one fragment (selectors.CYCLE_SPEND_SQL); its entry
        # predicate is repeated in WHERE so only purchase entries are read, not every charge.
        f"SELECT e.household_id, {CYCLE_SPEND_SQL} AS spent FROM settlements_journalentry e "
        "JOIN settlements_posting po ON po.entry_id = e.id "
        "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
        f"WHERE e.cycle_id = %s AND {SPEND_ENTRY_SQL} "
        "AND e.household_id >= %s AND e.household_id < %s GROUP BY e.household_id) s "
        "WHERE NOT EXISTS (SELECT 1 FROM settlements_journalentry e WHERE e.household_id = s.household_id "
        f"AND e.cycle_id = %s AND {BONUS_IN_FORCE_SQL})) y) x "
        f"WHERE x.decile IS NOT NULL AND ({threshold_case}) > 0 AND x.spent >= ({threshold_case}) * {factor}"
    )
    params: list[int | str | dt.date] = [
        *bonus_params,
        f"bonus:{cycle.key}:",
        *covered_params,
        cycle.starts_on,
        min(timezone.localdate(), cycle.ends_on),
        cycle.starts_on,
        cycle.pk,
        cycle.pk,
        low,
        high,
        cycle.pk,
        *threshold_params,
        *threshold_params,
    ]
    return sql, params


def _fill_bonus_batch(cycle: Cycle, low: int, high: int) -> int:
    """Households whose credit spent on the basket this cycle (net of reversals) reached the
    threshold and that hold no bonus in force.

    On PostgreSQL the candidates' wallets are then locked and the candidates read again: a POS
    reversal locks the wallet before it decides whether to take the bonus back, so either it
    committed first (and the second read sees the spend it took away, or the bonus it took back)
    or it waits for this grant and then takes it back. Without the second read a reversal in
    flight could leave a bonus with a household under the threshold."""
    select, params = _bonus_candidates(cycle, low, high)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) {select}",
            params,
        )
        considered = max(cursor.rowcount, 0)
        if considered and connection.vendor == "postgresql":
            cursor.execute(
                "SELECT id FROM settlements_account WHERE kind = 'wallet' AND household_id IN "
                f"(SELECT household_id FROM {BATCH_TABLE}) ORDER BY id FOR UPDATE"
            )
            cursor.execute(
                f"DELETE FROM {BATCH_TABLE} b WHERE NOT EXISTS (SELECT 1 FROM ({select}) c "
                "WHERE c.household_id = b.household_id AND c.idempotency_key = b.idempotency_key)",
                params,
            )
    return considered


# The unspent credit of one phase in a wallet, credit being spent oldest first (FIFO, phases in
# order of their start): the balance is made of the newest credit, so what is left of it after
# the credit granted under later phases is the ending phase's, up to what that phase granted.
# Granted means the wallet postings of every entry that is not spending (charges, bonuses, a
# bonus taken back, an expiry), placed by the entry's phase or else its cycle's; spending
# (purchases net of their reversals) and the credit of earlier phases (spent or expired) are seen
# through the balance. ``g`` has one row per household: ``balance``, ``granted`` (under the
# phase, net of its own expiry, so a re-run finds nothing) and ``later`` (under later phases).
UNSPENT_OF_PHASE_SQL = (
    "CASE WHEN g.balance - g.later <= 0 THEN 0 WHEN g.balance - g.later < g.granted "
    "THEN g.balance - g.later ELSE g.granted END"
)


def _fill_expiry_batch(phase: Phase, low: int, high: int) -> int:
    """The households in ``[low, high)`` holding credit granted under ``phase``, each with the part
    of it still unspent (``UNSPENT_OF_PHASE_SQL``); wallets are locked first so that no purchase
    moves them while they expire. Returns the households considered (those with a zero amount are
    dropped by ``post_batch``)."""
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM settlements_account WHERE kind = 'wallet' AND household_id >= %s AND household_id < %s "
            f"AND balance_rial > 0 ORDER BY id{lock}",
            [low, high],
        )
        cursor.execute(
            f"INSERT INTO {BATCH_TABLE} (household_id, amount_rial, idempotency_key) "
            f"SELECT g.household_id, {UNSPENT_OF_PHASE_SQL}, "
            "CAST(%s AS varchar(40)) || CAST(g.household_id AS varchar(20)) FROM ("
            # By the wallet's postings: a charge entry credits a chunk of wallets and names no
            # household; a wallet's postings are its own whatever their entry names.
            "SELECT a.household_id, a.balance_rial AS balance, "
            "SUM(CASE WHEN ph.id = %s THEN po.amount_rial ELSE 0 END) AS granted, "
            "SUM(CASE WHEN ph.id = %s THEN 0 ELSE po.amount_rial END) AS later "
            "FROM settlements_account a "
            "JOIN settlements_posting po ON po.account_id = a.id "
            "JOIN settlements_journalentry e ON e.id = po.entry_id AND e.period = po.period "
            "LEFT JOIN settlements_cycle c ON c.id = e.cycle_id "
            "JOIN settlements_phase ph ON ph.id = COALESCE(e.phase_id, c.phase_id) "
            "WHERE a.kind = 'wallet' AND a.household_id >= %s AND a.household_id < %s "
            f"AND NOT ({SPEND_ENTRY_SQL}) AND ph.starts_on >= %s "
            "GROUP BY a.household_id, a.balance_rial) g WHERE g.granted > 0",
            [f"expiry:{phase.pk}:", phase.pk, phase.pk, low, high, phase.starts_on],
        )
        return max(cursor.rowcount, 0)


def execute_work(
    *,
    kind: str,
    cycle: Cycle | None,
    phase: Phase | None,
    run_id: int | None,
    process: str,
    low: int,
    high: int,
) -> tuple[int, int, int]:
    """The set-based work of one kind for households ``[low, high)``, in the caller's transaction."""
    create_batch_table()
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    now = timezone.now()
    if kind == RunKind.CYCLE_CHARGE and cycle is not None:
        # The month being charged fills as the run goes; its statistics may say empty.
        with planned_by_index():
            considered = _fill_charge_batch(cycle, low, high)
        totals = post_charge_batch(
            fund=fund, cycle=cycle, run_id=run_id, process=process, memo=f"شارژ دوره {cycle.key}"
        )
    elif kind == RunKind.BONUS_SWEEP and cycle is not None:
        considered = _fill_bonus_batch(cycle, low, high)
        totals = post_batch(
            kind=EntryKind.BONUS, fund=fund, to_wallet=True, cycle_id=cycle.pk, phase_id=cycle.phase_id,
            run_id=run_id, process=process, memo=f"اعتبار مضاعف دوره {cycle.key}",
            period=entry_period(kind=EntryKind.BONUS, cycle=cycle, purchase=None, moment=now),
        )  # fmt: skip
    elif kind == RunKind.EXPIRY and phase is not None:
        considered = _fill_expiry_batch(phase, low, high)
        totals = post_batch(
            kind=EntryKind.EXPIRY, fund=fund, to_wallet=False, cycle_id=None, phase_id=phase.pk,
            run_id=run_id, process=process, memo=f"ابطال اعتبار پایان {phase.name}",
            period=entry_period(kind=EntryKind.EXPIRY, cycle=None, purchase=None, moment=now),
        )  # fmt: skip
    else:
        raise ValueError(f"run of kind {kind} without its cycle or phase")
    return considered, totals.households, totals.amount_rial
