"""Synthetic purchase history for benchmarks and demos: millions of purchases by COPY.

Purchases go to households' heads unevenly: household ``k`` of ``n`` (in id order) is drawn at
position ``n·u₁·u₂`` (two uniforms), density ∝ ln(n/k), so the first households have many times
the median (at 1M households and 5M purchases: median about 4, busiest about 75). Each purchase has a
realistic split (cash = base, the difference from credit and compensation) that satisfies the
table's checks. No purchase lines and no ledger entries are written: the portal's list and
dashboard read neither, and a national load of lines would only slow the benchmark's set-up.
Rows are built as COPY text in Python, a chunk per transaction (``executemany`` on SQLite).
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from array import array
from dataclasses import dataclass
from random import Random

from django.db import connection, transaction
from django.utils import timezone

from kalabarg.lib.bulk import analyze, copy_rows
from kalabarg.lib.partitions import TEHRAN, month_start
from stores.models import Store, StoreStatus, Terminal

COLUMNS = (
    "household_id", "payer_id", "store_id", "terminal_id", "idempotency_key",
    "request_fingerprint", "paid_with", "card_bin", "card_last4", "base_total_rial",
    "current_total_rial", "cash_rial", "credit_rial", "compensation_rial", "status", "created_at",
    "period",
)  # fmt: skip
FINGERPRINT = "0" * 64
# A purchase's period (kalabarg.lib.partitions.period_of) by its Tehran day: two years of days,
# computed once each rather than once per purchase.
period_on = functools.cache(month_start)
HISTORY_DAYS = 730


@dataclass(frozen=True)
class PurchaseGeneration:
    purchases: int
    households: int
    terminals: int
    elapsed_seconds: float


def _terminals(count: int) -> list[tuple[int, int]]:
    """(terminal id, store id) of up to ``count`` terminals of connected stores, made if missing."""
    existing = list(
        Terminal.objects.filter(store__status=StoreStatus.CONNECTED)
        .order_by("id")
        .values_list("id", "store_id")[:count]
    )
    if len(existing) >= count:
        return existing
    taken = set(Terminal.objects.values_list("terminal_id", flat=True))
    stores = list(
        Store.objects.filter(status=StoreStatus.CONNECTED, terminals__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[: count - len(existing)]
    )
    number = 90_000_000
    new = []
    for store_id in stores:
        while f"{number:08d}" in taken:
            number += 1
        new.append(Terminal(terminal_id=f"{number:08d}", store_id=store_id, psp_name="سپ"))
        number += 1
    Terminal.objects.bulk_create(new)
    return existing + list(
        Terminal.objects.filter(store_id__in=stores).values_list("id", "store_id")
    )


def generate_purchases(
    *,
    purchases: int,
    seed: int,
    terminals: int = 500,
    chunk_size: int = 250_000,
    now: dt.datetime | None = None,
    history_days: int = HISTORY_DAYS,
) -> PurchaseGeneration:
    """Add ``purchases`` purchases over the ``history_days`` (two years) before ``now`` by
    existing households' heads."""
    started = time.monotonic()
    rng = Random(seed)  # noqa: S311 - synthetic data, reproducible by seed
    rnd = rng.random
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT household_id, id FROM households_person WHERE is_head ORDER BY household_id"
        )
        rows = cursor.fetchall()
    if not rows:
        raise ValueError("no households: generate households first")
    household_ids = array("q", (row[0] for row in rows))
    head_ids = array("q", (row[1] for row in rows))
    del rows
    pairs = _terminals(terminals)
    if not pairs:
        raise ValueError("no connected stores: generate stores first")
    n_households, n_terminals = len(household_ids), len(pairs)
    now = now or timezone.now()
    oldest = now - dt.timedelta(days=history_days)
    span_seconds = history_days * 86_400
    postgres = connection.vendor == "postgresql"
    written = 0
    while written < purchases:
        size = min(chunk_size, purchases - written)
        lines: list[str] = []
        tuples: list[tuple[object, ...]] = []
        for index in range(written, written + size):
            # position = n·u₁·u₂: density ∝ ln(n/k), the first households are the busiest.
            position = min(int(n_households * rnd() * rnd()), n_households - 1)
            terminal_id, store_id = pairs[int(rnd() * n_terminals)]
            base = 100_000 + int(rnd() * 4_900) * 1_000
            current = base * 3 // 2
            difference = current - base
            credit = difference if rnd() < 0.8 else int(difference * rnd())
            compensation = difference - credit
            at = oldest + dt.timedelta(seconds=int(rnd() * span_seconds))
            period = period_on(at.astimezone(TEHRAN).date())
            key = f"gen-{seed}-{index}"
            if postgres:
                lines.append(
                    f"{household_ids[position]}\t{head_ids[position]}\t{store_id}\t{terminal_id}\t"
                    f"{key}\t{FINGERPRINT}\tcard\t603799\t{index % 10_000:04d}\t{base}\t"
                    f"{current}\t{base}\t{credit}\t{compensation}\tcompleted\t{at.isoformat()}\t"
                    f"{period.isoformat()}\n"
                )
            else:
                tuples.append(
                    (household_ids[position], head_ids[position], store_id, terminal_id, key,
                     FINGERPRINT, "card", "603799", f"{index % 10_000:04d}", base, current, base,
                     credit, compensation, "completed", at, period)
                )  # fmt: skip
        with transaction.atomic():
            if postgres:
                copy_rows(table="stores_purchase", columns=COLUMNS, lines=lines)
            else:
                copy_rows(table="stores_purchase", columns=COLUMNS, rows=tuples)
        written += size
    analyze("stores_purchase")
    return PurchaseGeneration(
        purchases=written,
        households=n_households,
        terminals=n_terminals,
        elapsed_seconds=time.monotonic() - started,
    )
