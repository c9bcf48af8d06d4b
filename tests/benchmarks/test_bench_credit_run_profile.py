"""Where a credit run's time goes (issue 18): per statement, per foreign key, per index, per
trigger, and Python against the database.

    make bench BENCH_ARGS="-k credit_run_profile"
    # 200,000 households (BENCH_PROFILE_HOUSEHOLDS); each variant's fastest of 2 tries
    # (BENCH_PROFILE_REPEAT)

The run's own work (``runs.execute_range``, every chunk) is done in this process, in one
transaction per variant that is rolled back at its end, so every variant starts from an empty
ledger (its rows gone, their dead index entries left until a vacuum):

- **baseline**: the schema as migrated;
- **without X**: the same, after ``ALTER TABLE … DROP CONSTRAINT`` / ``DROP INDEX`` /
  ``DISABLE TRIGGER`` of one foreign key, index or trigger inside the transaction (PostgreSQL's
  DDL is transactional: the rollback puts it back). Its saving is what X costs;
- **without every check and index a charge could do without**: all of them at once, the floor of
  this ledger's shape (docs/benchmarks.md). Tries share one database, so each later variant
  inserts beside the earlier tries' rolled-back rows: read the single variants as an ordering.

Foreign keys are checked when each statement ends (``SET CONSTRAINTS ALL IMMEDIATE``), not at
commit, so their cost is counted in the statement that inserts the rows. A statement's time is
measured around its ``execute`` (``connection.execute_wrapper``); the rest of the run is Python
and the round trips. The last figure is the bare ``INSERT … SELECT`` of the same rows, the floor
the issue measures the run against.
"""

import collections
import os
import re
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from devdata.households import generate_households
from kalabarg.lib.persian import jalali_month_key
from settlements.models import CreditBasis, Phase, PhaseBand, RunKind
from settlements.services import rules, runs
from tests.benchmarks.conftest import bare_charge_insert_seconds, report

CHUNK = 25_000
REPEAT = int(os.environ.get("BENCH_PROFILE_REPEAT", "2"))

# (label, DDL that removes it); each is undone by the variant's rollback.
VARIANTS = (
    ("baseline", None),
    # The households of entries and wallets are checked per statement (no foreign keys since 0020;
    # the entries' in their one reference trigger since 0022, below).
    ("trigger wallets' households", "ALTER TABLE settlements_account DISABLE TRIGGER account_households_exist"),
    ("index entry created_at", "DROP INDEX {ix[settlements_journalentry.created_at]}"),
    ("index entry phase", "DROP INDEX {ix[settlements_journalentry.phase_id]}"),
    # Since settlements 0026 a charge is a row of its own, its key the one-charge rule; a run's
    # entries (one a chunk) name no household.
    ("key of the charges (household, cycle, month)", "ALTER TABLE settlements_charge DROP CONSTRAINT settlements_charge_pkey"),
    ("index posting (account, id)", "DROP INDEX posting_account_idx"),
    # The postings' references are checked in this trigger (no foreign keys since settlements 0018).
    ("trigger postings balance and references", "ALTER TABLE settlements_posting DISABLE TRIGGER posting_entries_balance"),
    # The entries' household, purchase and reversed entry, checked per statement.
    ("trigger entries references", "ALTER TABLE settlements_journalentry DISABLE TRIGGER journalentry_references_exist"),
    # The floor of this ledger's shape (a charge row, a posting and a wallet a household): every
    # statement check dropped (dropped, not disabled: a disabled trigger's transition table is
    # still filled), with the two indexes above, the accounts' unique store index and the two
    # foreign keys that are NULL in every row of a run. What is left is the rows and the keys
    # that make a charge unique.
    ("every check and index a charge could do without", "; ".join((
        "DROP TRIGGER account_households_exist ON settlements_account",
        "DROP TRIGGER journalentry_references_exist ON settlements_journalentry",
        "DROP TRIGGER posting_entries_balance ON settlements_posting",
        "DROP INDEX {ix[settlements_journalentry.created_at]}",
        "DROP INDEX {ix[settlements_journalentry.phase_id]}",
        "ALTER TABLE settlements_account DROP CONSTRAINT {fk[settlements_account.store_id]}",
        "ALTER TABLE settlements_account DROP CONSTRAINT settlements_account_store_id_key",
        "ALTER TABLE settlements_journalentry DROP CONSTRAINT {fk[settlements_journalentry.created_by_id]}",
    ))),
)  # fmt: skip


def _names() -> dict[str, dict[str, str]]:
    """The generated names of the foreign keys and single-column indexes, by table.column."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.conrelid::regclass::text || '.' || a.attname, c.conname FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.conrelid::regclass::text IN "
            "('settlements_posting', 'settlements_journalentry', 'settlements_account')"
        )
        fks = dict(cursor.fetchall())
        cursor.execute(
            "SELECT i.indrelid::regclass::text || '.' || a.attname, i.indexrelid::regclass::text "
            "FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indnatts = 1 AND NOT i.indisunique "
            "AND i.indpred IS NULL AND i.indrelid::regclass::text IN "
            "('settlements_posting', 'settlements_journalentry')"
        )
        indexes = dict(cursor.fetchall())
    return {"fk": fks, "ix": indexes}


def _charge_everyone(run) -> tuple[float, dict[str, list[float]]]:  # type: ignore[no-untyped-def]
    statements: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])

    def timed(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = re.sub(r"\s+", " ", sql)[:72]
            statements[key][0] += 1
            statements[key][1] += time.perf_counter() - started

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        for chunk in run.chunks.order_by("index"):
            runs.execute_range(run=run, low=chunk.from_household_id, high=chunk.to_household_id)
    return time.perf_counter() - started, statements


def _variant(run, ddl: str | None) -> tuple[float, dict[str, list[float]], int]:  # type: ignore[no-untyped-def]
    """One try: the DDL, every chunk's work and the households it charged, all rolled back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if ddl:
                cursor.execute(ddl)
        seconds, statements = _charge_everyone(run)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM settlements_charge")
            charged = int(cursor.fetchone()[0])
        transaction.set_rollback(True)
    return seconds, statements, charged


def _charge_run(households: int):  # type: ignore[no-untyped-def]
    """Households of seed 3, a phase covering every decile and the month's charge run started
    (no chunk done), analysed: the database the benchmark measures on."""
    generate_households(households=households, seed=3)
    month = jalali_month_key(timezone.localdate())
    starts_on, _ = rules.jalali_month_bounds(key=month)
    phase = Phase.objects.create(name="bench", starts_on=starts_on, basis=CreditBasis.PER_MEMBER)
    PhaseBand.objects.create(
        phase=phase, min_decile=1, max_decile=10, credit_per_cycle_rial=2_000_000,
        bonus_threshold_rial=2_000_000, bonus_amount_rial=1_200_000,
    )  # fmt: skip
    cycle = rules.ensure_cycle(key=month)
    run = runs.start_run(kind=RunKind.CYCLE_CHARGE, cycle=cycle, chunk_size=CHUNK)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return run


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_credit_run_profile():
    households = int(os.environ.get("BENCH_PROFILE_HOUSEHOLDS", "200000"))
    run = _charge_run(households)
    names = _names()

    figures: dict[str, object] = {"households": households, "chunk_size": CHUNK, "tries": REPEAT}
    baseline = 0.0
    for label, ddl in VARIANTS:
        # The fastest of a few tries: the machine's other work only ever adds time.
        tries = [_variant(run, ddl.format(**names) if ddl else None) for _ in range(REPEAT)]
        seconds, statements, charged = min(tries, key=lambda one: one[0])
        assert charged == households, (label, charged)
        in_sql = sum(total for _, total in statements.values())
        if ddl is None:
            baseline = seconds
            figures["baseline_s"] = round(seconds, 2)
            figures["baseline_sql_s"] = round(in_sql, 2)
            figures["baseline_python_s"] = round(seconds - in_sql, 2)
            print("\n  statements of the baseline (count, seconds):", flush=True)
            for key, (count, total) in sorted(statements.items(), key=lambda kv: -kv[1][1])[:6]:
                print(f"    {total:6.2f} s {count:4d}×  {key}", flush=True)
        else:
            print(
                f"  without {label}: {seconds:.2f} s (saves {baseline - seconds:+.2f} s)",
                flush=True,
            )
            slug = re.sub(r"[^a-z]+", "_", label.lower()).strip("_")
            figures[f"saves_{slug}_s"] = round(baseline - seconds, 2)

    figures["bare_insert_select_s"] = round(bare_charge_insert_seconds(), 2)
    figures["ratio_to_bare"] = round(baseline / figures["bare_insert_select_s"], 1)  # type: ignore[operator]
    report("credit_run_profile", **figures)
