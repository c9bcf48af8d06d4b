"""``reconcile_settlements``: prove that every rial the stores earned is accounted for, per store.

For each store, Σ (credit + compensation) of its purchases, net of reversals, must equal

    Σ paid + Σ exported not yet answered + Σ approved, draft or held
    + Σ waiting to be carried (a negative net, a failed payout not yet taken) + still unsettled

because every purchase and reversal is a line of exactly one settlement or none yet, and a
carried amount lives on inside the one settlement that took it. Besides that identity it proves
what the identity rests on: each settlement's figures are its lines' and its carried amounts',
every line is its purchase's figure and its purchase's store, and the ledger agrees (each store's
payable holds its unsettled and waiting amounts; clearing holds what is owed or paid).
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction

from settlements.models import OWED_STATUSES

MAX_LISTED = 50

_BUCKETS = (
    "purchases",
    "paid",
    "exported",
    "approved",
    "draft",
    "held",
    "carried",
    "in_progress",
    "unsettled",
)


@dataclass
class SettlementReconcileReport:
    totals: dict[str, int] = field(default_factory=dict)
    stores_checked: int = 0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def _per_store_buckets() -> dict[int, dict[str, int]]:
    buckets: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(_BUCKETS, 0))
    for store_id, earned in _fetch(
        "SELECT store_id, SUM(CASE WHEN status = 'reversed' THEN 0 ELSE credit_rial + compensation_rial END) "
        "FROM stores_purchase GROUP BY store_id"
    ):
        buckets[store_id]["purchases"] = int(earned)
    for store_id, status, amount in _fetch(
        "SELECT store_id, status, SUM(amount_rial) FROM settlements_storesettlement "
        "WHERE status IN ('held', 'draft', 'approved', 'exported', 'paid') "
        "OR (status IN ('carried', 'failed') AND carried_into_id IS NULL) GROUP BY store_id, status"
    ):
        bucket = "carried" if status in ("carried", "failed") else status
        buckets[store_id][bucket] += int(amount)
    for store_id, amount in _fetch(
        "SELECT p.store_id, SUM(CASE WHEN l1.id IS NULL THEN p.credit_rial + p.compensation_rial ELSE 0 END) "
        "- SUM(CASE WHEN p.reversed_at IS NOT NULL AND l2.id IS NULL THEN p.credit_rial + p.compensation_rial ELSE 0 END) "
        "FROM stores_purchase p "
        "LEFT JOIN settlements_settlementline l1 ON l1.purchase_id = p.id AND l1.kind = 'purchase' "
        "LEFT JOIN settlements_settlementline l2 ON l2.purchase_id = p.id AND l2.kind = 'reversal' "
        "WHERE l1.id IS NULL OR (p.reversed_at IS NOT NULL AND l2.id IS NULL) GROUP BY p.store_id"
    ):
        buckets[store_id]["unsettled"] = int(amount)
    # Lines staged by a run whose chunk for the store has not run yet (a run in progress, or
    # failed and waiting to be resumed): taken from the purchases, in no settlement yet.
    for store_id, amount in _fetch(
        "SELECT l.store_id, SUM(l.amount_rial) FROM settlements_settlementline l "
        "WHERE NOT EXISTS (SELECT 1 FROM settlements_storesettlement s WHERE s.run_id = l.run_id "
        "AND s.store_id = l.store_id) GROUP BY l.store_id"
    ):
        buckets[store_id]["in_progress"] = int(amount)
    return buckets


def _check_identity(report: SettlementReconcileReport) -> dict[int, dict[str, int]]:
    buckets = _per_store_buckets()
    report.stores_checked = len(buckets)
    for name in _BUCKETS:
        report.totals[name] = sum(figures[name] for figures in buckets.values())
    for store_id in sorted(buckets):
        figures = buckets[store_id]
        accounted = sum(figures[name] for name in _BUCKETS if name != "purchases")
        if accounted != figures["purchases"]:
            report.mismatches.append(
                f"store {store_id}: purchases net {figures['purchases']:,} ≠ paid {figures['paid']:,} "
                f"+ exported {figures['exported']:,} + approved {figures['approved']:,} "
                f"+ draft {figures['draft']:,} + held {figures['held']:,} + waiting {figures['carried']:,} "
                f"+ in a run in progress {figures['in_progress']:,} "
                f"+ unsettled {figures['unsettled']:,} (difference {figures['purchases'] - accounted:,})"
            )
    return buckets


def _check_settlements(report: SettlementReconcileReport) -> None:
    for settlement_id, store_id, wanted, got in _fetch(
        "SELECT s.id, s.store_id, s.purchases_rial || '/' || s.reversals_rial || '/' || s.purchase_count "
        "|| '/' || s.reversal_count, COALESCE(l.pr, 0) || '/' || COALESCE(l.rr, 0) || '/' "
        "|| COALESCE(l.pc, 0) || '/' || COALESCE(l.rc, 0) FROM settlements_storesettlement s LEFT JOIN ("
        "SELECT run_id, store_id, SUM(CASE WHEN kind = 'purchase' THEN amount_rial ELSE 0 END) AS pr, "
        "SUM(CASE WHEN kind = 'reversal' THEN amount_rial ELSE 0 END) AS rr, "
        "SUM(CASE WHEN kind = 'purchase' THEN 1 ELSE 0 END) AS pc, "
        "SUM(CASE WHEN kind = 'reversal' THEN 1 ELSE 0 END) AS rc "
        "FROM settlements_settlementline GROUP BY run_id, store_id) l "
        "ON l.run_id = s.run_id AND l.store_id = s.store_id "
        "WHERE s.purchases_rial <> COALESCE(l.pr, 0) OR s.reversals_rial <> COALESCE(l.rr, 0) "
        "OR s.purchase_count <> COALESCE(l.pc, 0) OR s.reversal_count <> COALESCE(l.rc, 0)"
    )[:MAX_LISTED]:
        report.mismatches.append(
            f"settlement {settlement_id} (store {store_id}): purchases/reversals/counts {wanted} "
            f"but its lines give {got}"
        )
    for settlement_id, store_id, carried_in, taken in _fetch(
        "SELECT s.id, s.store_id, s.carried_in_rial, COALESCE(c.total, 0) FROM settlements_storesettlement s "
        "LEFT JOIN (SELECT carried_into_id, SUM(amount_rial) AS total FROM settlements_storesettlement "
        "WHERE carried_into_id IS NOT NULL GROUP BY carried_into_id) c ON c.carried_into_id = s.id "
        "WHERE s.carried_in_rial <> COALESCE(c.total, 0)"
    )[:MAX_LISTED]:
        report.mismatches.append(
            f"settlement {settlement_id} (store {store_id}): carried in {carried_in:,} but the "
            f"settlements it took amount to {taken:,}"
        )
    for line_id, purchase_id, problem in _fetch(
        "SELECT l.id, l.purchase_id, CASE WHEN p.store_id <> l.store_id THEN 'store' "
        "WHEN r.id IS NULL THEN 'run' WHEN s.id IS NULL THEN 'settlement' "
        "WHEN l.kind = 'reversal' AND p.reversed_at IS NULL THEN 'not reversed' ELSE 'amount' END "
        "FROM settlements_settlementline l JOIN stores_purchase p ON p.id = l.purchase_id "
        "LEFT JOIN settlements_settlementrun r ON r.id = l.run_id "
        "LEFT JOIN settlements_storesettlement s ON s.run_id = l.run_id AND s.store_id = l.store_id "
        "WHERE p.store_id <> l.store_id OR r.id IS NULL OR (s.id IS NULL AND r.status = 'completed') "
        "OR (l.kind = 'reversal' AND p.reversed_at IS NULL) "
        "OR ABS(l.amount_rial) <> p.credit_rial + p.compensation_rial"
    )[:MAX_LISTED]:
        report.mismatches.append(f"line {line_id} (purchase {purchase_id}): wrong {problem}")


def _check_ledger(report: SettlementReconcileReport, buckets: dict[int, dict[str, int]]) -> None:
    balances = dict(
        _fetch(
            "SELECT a.store_id, SUM(p.amount_rial) FROM settlements_account a "
            "JOIN settlements_posting p ON p.account_id = a.id WHERE a.kind = 'store_payable' "
            "GROUP BY a.store_id"
        )
    )
    listed = 0
    for store_id in sorted(set(balances) | set(buckets)):
        figures = buckets.get(store_id)
        expected = (
            figures["unsettled"] + figures["in_progress"] + figures["carried"] if figures else 0
        )
        balance = int(balances.get(store_id) or 0)
        if balance != expected and listed < MAX_LISTED:
            listed += 1
            report.mismatches.append(
                f"store {store_id}: payable holds {balance:,} in the ledger, but its unsettled and "
                f"waiting amounts are {expected:,}"
            )
    owed = sum(report.totals.get(name, 0) for name in OWED_STATUSES)
    (clearing,) = _fetch(
        "SELECT COALESCE(SUM(p.amount_rial), 0) FROM settlements_posting p "
        "JOIN settlements_account a ON a.id = p.account_id WHERE a.kind = 'settlement_clearing'"
    )[0]
    if int(clearing) != owed:
        report.mismatches.append(
            f"settlement clearing holds {int(clearing):,} in the ledger, but paid, exported, "
            f"approved, draft and held settlements amount to {owed:,}"
        )


def reconcile_settlements() -> SettlementReconcileReport:
    """Every check, in one repeatable-read snapshot (PostgreSQL) so a run in progress reads whole."""
    report = SettlementReconcileReport()
    # Only a transaction of its own can choose its snapshot (inside a caller's, it reads as that).
    own_snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if own_snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        buckets = _check_identity(report)
        _check_settlements(report)
        _check_ledger(report, buckets)
    return report
