"""``reconcile_ledger``: prove the ledger's invariants, and catch silent edits of past days."""

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Max, Min, Sum
from django.utils import timezone

from settlements.models import AccountKind, BalanceRollup, JournalEntry, LedgerDigest, Posting
from settlements.selectors import BONUS_IN_FORCE_SQL
from settlements.services import partitions

TEHRAN = ZoneInfo("Asia/Tehran")


@dataclass
class ReconcileReport:
    checks: dict[str, int] = field(default_factory=dict)
    breaches: list[str] = field(default_factory=list)
    digests_written: int = 0
    days_verified: int = 0

    @property
    def ok(self) -> bool:
        return not self.breaches


def _rows(sql: str, limit: int = 20) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchmany(limit)


def check_invariants(*, report: ReconcileReport) -> None:
    unbalanced = _rows(
        "SELECT e.id, COALESCE(SUM(p.amount_rial), 0), COUNT(p.id) FROM settlements_journalentry e "
        "LEFT JOIN settlements_posting p ON p.entry_id = e.id GROUP BY e.id "
        "HAVING COALESCE(SUM(p.amount_rial), 0) <> 0 OR COUNT(p.id) = 0"
    )
    for entry_id, total, count in unbalanced:
        report.breaches.append(
            f"entry {entry_id}: postings sum to {total} over {count} legs (must be 0, with legs)"
        )
    report.checks["entries_balanced"] = len(unbalanced)

    # A month detached for archive took its postings along; its accounts' sums stayed behind
    # (settlements.ArchivedBalance) and count as postings here.
    postings_and_archived = (
        "(SELECT account_id, SUM(amount_rial) AS total FROM (SELECT account_id, amount_rial FROM settlements_posting "
        "UNION ALL SELECT account_id, amount_rial FROM settlements_archivedbalance) u GROUP BY account_id)"
    )
    wrong_wallets = _rows(
        "SELECT a.id, a.balance_rial, COALESCE(s.total, 0) FROM settlements_account a LEFT JOIN "
        f"{postings_and_archived} s "
        "ON s.account_id = a.id WHERE a.kind = 'wallet' AND a.balance_rial <> COALESCE(s.total, 0)"
    )
    for account_id, kept, total in wrong_wallets:
        report.breaches.append(
            f"wallet {account_id}: balance {kept} but its postings sum to {total}"
        )
    report.checks["wallet_balances"] = len(wrong_wallets)

    negative = _rows(
        f"SELECT a.id, s.total FROM settlements_account a JOIN {postings_and_archived} s "
        "ON s.account_id = a.id WHERE a.kind = 'wallet' AND s.total < 0"
    )
    for account_id, total in negative:
        report.breaches.append(f"wallet {account_id}: negative ({total})")
    report.checks["wallets_not_negative"] = len(negative)

    orphans = _rows(
        "SELECT e.id FROM settlements_journalentry e "
        "LEFT JOIN settlements_cycle c ON c.id = e.cycle_id LEFT JOIN settlements_phase p ON p.id = e.phase_id "
        "LEFT JOIN settlements_creditrun r ON r.id = e.run_id "
        "WHERE (e.cycle_id IS NOT NULL AND c.id IS NULL) OR (e.phase_id IS NOT NULL AND p.id IS NULL) "
        "OR (e.run_id IS NOT NULL AND r.id IS NULL)"
    )
    for (entry_id,) in orphans:
        report.breaches.append(f"entry {entry_id}: names a cycle, phase or run that does not exist")
    report.checks["entry_references"] = len(orphans)

    kept_elsewhere = _rows(
        "SELECT id, kind, balance_rial FROM settlements_account WHERE kind <> 'wallet' AND balance_rial <> 0"
    )
    for account_id, kind, kept in kept_elsewhere:
        report.breaches.append(
            f"account {account_id} ({kind}) keeps a balance {kept}; only wallets may"
        )

    # A cycle's charges: a ``Charge`` row a household (its key is the one-charge rule within the
    # cycle's month; this also holds it across months), each row its household's wallet posting
    # in its entry, and each charge entry's wallet postings exactly its rows.
    duplicates = _rows(
        "SELECT household_id, cycle_id, COUNT(*) FROM settlements_charge "
        "GROUP BY household_id, cycle_id HAVING COUNT(*) > 1"
    )
    for household_id, cycle_id, count in duplicates:
        report.breaches.append(
            f"household {household_id}: {count} charges in cycle {cycle_id} (at most 1)"
        )
    report.checks["one_charge_per_cycle"] = len(duplicates)

    misfiled = _rows(
        "SELECT c.household_id, c.cycle_id, c.entry_id FROM settlements_charge c "
        "LEFT JOIN settlements_journalentry e ON e.id = c.entry_id AND e.period = c.period "
        "WHERE e.id IS NULL OR e.kind <> 'cycle_charge' OR e.cycle_id <> c.cycle_id"
    )
    for household_id, cycle_id, entry_id in misfiled:
        report.breaches.append(
            f"charge of household {household_id} in cycle {cycle_id}: entry {entry_id} is not a "
            "charge entry of that cycle"
        )
    report.checks["charges_name_their_entry"] = len(misfiled)

    unmatched = _rows(
        "SELECT COALESCE(c.household_id, p.household_id), COALESCE(c.entry_id, p.entry_id), "
        "c.amount_rial, p.amount_rial FROM settlements_charge c FULL JOIN ("
        "SELECT po.entry_id, po.period, a.household_id, SUM(po.amount_rial) AS amount_rial "
        "FROM settlements_posting po "
        "JOIN settlements_account a ON a.id = po.account_id AND a.kind = 'wallet' "
        "JOIN settlements_journalentry e ON e.id = po.entry_id AND e.period = po.period "
        "WHERE e.kind = 'cycle_charge' GROUP BY po.entry_id, po.period, a.household_id) p "
        "ON p.entry_id = c.entry_id AND p.period = c.period AND p.household_id = c.household_id "
        "WHERE c.amount_rial IS NULL OR p.amount_rial IS NULL OR c.amount_rial <> p.amount_rial"
    )
    for household_id, entry_id, charged, posted in unmatched:
        report.breaches.append(
            f"household {household_id} in charge entry {entry_id}: charge row {charged} but wallet "
            f"posting {posted}"
        )
    report.checks["charges_match_wallet_postings"] = len(unmatched)

    # A bonus taken back by a reversal may be earned again, so bonus entries may repeat; bonuses
    # in force (selectors.BONUS_IN_FORCE_SQL) may not.
    bonuses = _rows(
        "SELECT e.household_id, e.cycle_id, COUNT(*) FROM settlements_journalentry e "
        f"WHERE {BONUS_IN_FORCE_SQL} GROUP BY e.household_id, e.cycle_id HAVING COUNT(*) > 1"
    )
    for household_id, cycle_id, count in bonuses:
        report.breaches.append(
            f"household {household_id}: {count} bonuses in force in cycle {cycle_id} (at most 1)"
        )
    report.checks["one_bonus_in_force_per_cycle"] = len(bonuses)

    rollup_breaches = 0
    archived = partitions.archived_sums()
    for rollup in BalanceRollup.objects.select_related("account"):
        # Archived months are older than any roll-up's reach (LEDGER_ATTACHED_MONTHS against an
        # hour), so their sums lie wholly inside it.
        total = (
            Posting.objects.filter(
                account=rollup.account, id__lte=rollup.up_to_posting_id
            ).aggregate(t=Sum("amount_rial"))["t"]
            or 0
        ) + archived.get(rollup.account_id, (0, 0))[0]
        if total != rollup.balance_rial:
            rollup_breaches += 1
            report.breaches.append(
                f"roll-up of account {rollup.account_id}: {rollup.balance_rial} but postings up to {rollup.up_to_posting_id} sum to {total}"
            )
    report.checks["rollups"] = rollup_breaches


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=TEHRAN)
    return start, start + dt.timedelta(days=1)


def day_digest(*, day: dt.date) -> tuple[int, str]:
    """SHA-256 over a Tehran day's entries and their postings, in id order (streamed, not loaded)."""
    start, end = _day_bounds(day)
    digest = hashlib.sha256()
    count = 0
    entries = (
        JournalEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .order_by("id")
        .values_list(
            "id",
            "kind",
            "idempotency_key",
            "household_id",
            "cycle_id",
            "phase_id",
            "purchase_id",
            "reverses_id",
            "created_at",
        )
    )
    bounds = entries.aggregate(low=Min("id"), high=Max("id"))
    postings: dict[int, list[tuple[int, int, int]]] = {}
    if bounds["low"] is not None:
        for posting_id, entry_id, account_id, amount in (
            Posting.objects.filter(entry_id__gte=bounds["low"], entry_id__lte=bounds["high"])
            .order_by("id")
            .values_list("id", "entry_id", "account_id", "amount_rial")
            .iterator(chunk_size=10_000)
        ):
            postings.setdefault(entry_id, []).append((posting_id, account_id, amount))
    for row in entries.iterator(chunk_size=10_000):
        count += 1
        digest.update(
            (
                "|".join("" if value is None else str(value) for value in row[:-1])
                + f"|{row[-1].isoformat()}"
            ).encode()
        )
        for posting in postings.get(row[0], []):
            digest.update(f";{posting[0]}:{posting[1]}:{posting[2]}".encode())
        digest.update(b"\n")
    return count, digest.hexdigest()


def check_digests(*, report: ReconcileReport, today: dt.date | None = None) -> None:
    """Store a digest for every closed day that has none; re-verify every stored one."""
    today = today or timezone.localdate()
    first = JournalEntry.objects.order_by("created_at").values_list("created_at", flat=True).first()
    stored = {digest.day: digest for digest in LedgerDigest.objects.all()}
    if first is not None:
        day = timezone.localtime(first, TEHRAN).date()
        while day < today:
            if day not in stored:
                count, value = day_digest(day=day)
                if count:
                    with transaction.atomic():
                        LedgerDigest.objects.get_or_create(
                            day=day, defaults={"entries": count, "digest": value}
                        )
                    report.digests_written += 1
            day += dt.timedelta(days=1)
    archived = partitions.archived_periods()
    for day, digest in sorted(stored.items()):
        if any(start <= day < end for start, end in archived):
            continue  # verified when its month was detached (partitions.archive_month)
        count, value = day_digest(day=day)
        report.days_verified += 1
        if (count, value) != (digest.entries, digest.digest):
            report.breaches.append(
                f"day {day}: entries no longer match the digest stored on {digest.created_at:%Y-%m-%d} "
                f"({count} entries now, {digest.entries} then) — history was edited"
            )
    report.checks["digests"] = sum(1 for breach in report.breaches if breach.startswith("day "))


def reconcile(*, verify_digests: bool = True, today: dt.date | None = None) -> ReconcileReport:
    report = ReconcileReport()
    check_invariants(report=report)
    if verify_digests:
        check_digests(report=report, today=today)
    return report


# Postings are rolled up only once they are this old: ids are handed out before commit, so a
# slow transaction could still commit a lower id than the newest one visible now.
ROLLUP_SAFETY_MARGIN = dt.timedelta(hours=1)


@transaction.atomic
def roll_up_balances() -> int:
    """Move every derived-balance account's roll-up forward, up to postings older than the margin."""
    cutoff = timezone.now() - ROLLUP_SAFETY_MARGIN
    updated = 0
    for account_id in (
        Posting.objects.exclude(account__kind=AccountKind.WALLET)
        .values_list("account_id", flat=True)
        .distinct()
    ):
        rollup = BalanceRollup.objects.select_for_update().filter(account_id=account_id).first()
        start, base = (rollup.up_to_posting_id, rollup.balance_rial) if rollup else (0, 0)
        high = Posting.objects.filter(
            account_id=account_id, id__gt=start, entry__created_at__lt=cutoff
        ).aggregate(high=Max("id"))["high"]
        if high is None:
            continue
        total = Posting.objects.filter(account_id=account_id, id__gt=start, id__lte=high).aggregate(
            t=Sum("amount_rial")
        )["t"]
        BalanceRollup.objects.update_or_create(
            account_id=account_id,
            defaults={"up_to_posting_id": high, "balance_rial": base + (total or 0)},
        )
        updated += 1
    return updated
