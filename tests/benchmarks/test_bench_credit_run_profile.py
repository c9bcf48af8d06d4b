"""Where a credit run's time goes (issue 18): per statement, per foreign key, per index, per
trigger, and Python against the database.

    make bench BENCH_ARGS="-k credit_run_profile"
    make bench BENCH_ARGS="-k credit_run_one_entry_a_chunk"   # today's shape against the next
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
from kalabarg.lib.partitions import planned_by_index
from kalabarg.lib.persian import jalali_month_key
from settlements.models import AccountKind, CreditBasis, Phase, PhaseBand, RunKind
from settlements.services import rules, run_work, runs
from settlements.services.ledger import BATCH_TABLE, create_batch_table, system_account
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
    # Since settlements 0024 one unique index serves look-ups by household and the one-charge rule.
    ("index entry (household, cycle, kind, one charge)", "DROP INDEX entry_household_cycle_one_charge"),
    ("index posting (account, id)", "DROP INDEX posting_account_idx"),
    # The postings' references are checked in this trigger (no foreign keys since settlements 0018).
    ("trigger postings balance and references", "ALTER TABLE settlements_posting DISABLE TRIGGER posting_entries_balance"),
    # The entries' household, purchase and reversed entry, checked per statement.
    ("trigger entries references", "ALTER TABLE settlements_journalentry DISABLE TRIGGER journalentry_references_exist"),
    # The floor of this ledger's shape (an entry, two postings and a wallet a household): every
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
    """One try: the DDL, every chunk's work and the entries it made, all rolled back."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            if ddl:
                cursor.execute(ddl)
        seconds, statements = _charge_everyone(run)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM settlements_journalentry")
            entries = int(cursor.fetchone()[0])
        transaction.set_rollback(True)
    return seconds, statements, entries


def _charge_run(households: int):  # type: ignore[no-untyped-def]
    """Households of seed 3, a phase covering every decile and the month's charge run started
    (no chunk done), analysed: the database both benchmarks below measure on."""
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
        seconds, statements, entries = min(tries, key=lambda one: one[0])
        assert entries == households, (label, entries)
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


# --- The next shape: one journal entry a chunk -------------------------------------------------
# Not the application's code: what a charge would cost if a chunk posted ONE entry (the fund's
# total against every wallet's credit, still balanced, still checked by the postings' trigger)
# and the one-charge rule were a narrow (cycle, household) key of its own, instead of an entry
# and two postings a household (docs/decisions.md, "The credit run keeps its ledger checks; the
# next step is fewer rows a household"). Measured beside the run's own chunks on the same
# database, so that a redesign is chosen on a figure, not on a guess.

_KEY_TABLE = "bench_charge_key"

_ONE_ENTRY_A_CHUNK = (
    f"WITH k AS (INSERT INTO {_KEY_TABLE} (cycle_id, household_id) "  # noqa: S608 - constants
    f"SELECT %s, household_id FROM {BATCH_TABLE} ORDER BY household_id), "
    "w AS (INSERT INTO settlements_account (kind, household_id, balance_rial) "
    f"SELECT 'wallet', household_id, amount_rial FROM {BATCH_TABLE} ORDER BY household_id "
    "RETURNING id, balance_rial), "
    "e AS (INSERT INTO settlements_journalentry (kind, idempotency_key, cycle_id, phase_id, run_id, "
    "created_by_process, memo, created_at, period) VALUES ('cycle_charge', %s, %s, %s, %s, 'bench', "
    "'one entry a chunk', now(), %s) RETURNING id, period) "
    "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
    "SELECT e.id, w.id, w.balance_rial, e.period FROM e, w "
    f"UNION ALL SELECT e.id, %s, -(SELECT sum(amount_rial) FROM {BATCH_TABLE}), e.period FROM e"
)


def _one_entry_a_chunk(run) -> float:  # type: ignore[no-untyped-def]
    """Every chunk of ``run`` in that shape (the run's own fill of the batch), in seconds."""
    cycle = run.cycle
    fund = system_account(kind=AccountKind.PROGRAMME_FUND)
    period = run_work._charge_period(cycle)
    started = time.perf_counter()
    for chunk in run.chunks.order_by("index"):
        create_batch_table()
        with planned_by_index():
            run_work._fill_charge_batch(cycle, chunk.from_household_id, chunk.to_household_id)
        with connection.cursor() as cursor:
            cursor.execute(
                _ONE_ENTRY_A_CHUNK,
                [cycle.pk, f"bench:{run.pk}:{chunk.index}", cycle.pk, cycle.phase_id, run.pk,
                 period, fund.pk],
            )  # fmt: skip
    return time.perf_counter() - started


def _shape_try(run, shape: str) -> tuple[float, tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """One try of a shape, rolled back, then the dead rows vacuumed away so that the next try
    (of either shape) inserts into indexes as clean as this one's: its seconds, and what it
    credited (wallets, total, and the total weighted by household id, which tells a balance
    put on the wrong household)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            # A charge names its household today; the chunk's one entry cannot.
            cursor.execute(
                "ALTER TABLE settlements_journalentry "
                "DROP CONSTRAINT entry_charge_and_bonus_name_household_cycle_phase"
            )
        if shape == "today":
            seconds, _ = _charge_everyone(run)
        else:
            seconds = _one_entry_a_chunk(run)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), COALESCE(sum(balance_rial), 0), "
                "COALESCE(sum(household_id::numeric * balance_rial), 0) FROM settlements_account "
                "WHERE kind = 'wallet'"
            )
            wallets, credit, weighted = cursor.fetchone()
        transaction.set_rollback(True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"VACUUM settlements_account, settlements_journalentry, settlements_posting, {_KEY_TABLE}"
        )
    return seconds, (int(wallets), int(credit), int(weighted))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_bench_credit_run_one_entry_a_chunk():
    households = int(os.environ.get("BENCH_PROFILE_HOUSEHOLDS", "200000"))
    run = _charge_run(households)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {_KEY_TABLE} (cycle_id bigint NOT NULL, household_id bigint NOT NULL, "
            "PRIMARY KEY (cycle_id, household_id))"
        )
    try:
        # Alternated, the fastest of each: the machine's other work only ever adds time.
        tries: dict[str, list[float]] = {"today": [], "one_entry_a_chunk": []}
        credited: set[tuple[int, int, int]] = set()
        for _ in range(REPEAT):
            for shape in tries:
                seconds, totals = _shape_try(run, shape)
                tries[shape].append(seconds)
                credited.add(totals)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE {_KEY_TABLE}")
    # Both shapes credit every household the same money, every try.
    assert len(credited) == 1 and next(iter(credited))[0] == households, credited
    bare = bare_charge_insert_seconds()
    today, one_entry = min(tries["today"]), min(tries["one_entry_a_chunk"])
    report(
        "credit_run_one_entry_a_chunk",
        households=households,
        chunk_size=CHUNK,
        tries=REPEAT,
        today_s=round(today, 2),
        one_entry_a_chunk_s=round(one_entry, 2),
        speedup=round(today / one_entry, 2),
        bare_insert_select_s=round(bare, 2),
        today_ratio_to_bare=round(today / bare, 1),
        one_entry_a_chunk_ratio_to_bare=round(one_entry / bare, 1),
    )
