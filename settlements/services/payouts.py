"""A settlement's way to the store's bank account: release, approval, the payout file, the bank's answer.

- A held settlement (its store was suspended) waits until an officer releases it to draft.
- A finance officer or the supervisor (``settlements.approve_storesettlement``) approves drafts.
- ``export_payouts`` writes every approved settlement not yet exported to one CSV (one row per
  settlement, its reference ``KB`` + the id) and marks them exported with a ``PayoutBatch``; the
  file is written from the rows' snapshots, so it can be written again byte for byte.
- ``import_payout_results`` applies the bank's answers: paid (with the bank's reference), or
  failed (with its reason): a failed payout's amount goes back to the store's payable and the
  store's next settlement takes it. The same answer twice changes nothing.
"""

import csv
import datetime as dt
import functools
import hashlib
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from kalabarg.lib.errors import field_error
from kalabarg.lib.partitions import period_of
from kalabarg.lib.persian import format_jalali_date, normalize_text, to_latin_digits
from settlements.models import (
    AccountKind,
    EntryKind,
    PayoutBatch,
    SettlementStatus,
    StoreSettlement,
    payout_reference,
)
from settlements.models.payouts import REFERENCE_PREFIX
from settlements.services.ledger import system_account

APPROVE_PERMISSION = "settlements.approve_storesettlement"
PAYOUT_HEADER = ("reference", "sheba", "owner_name", "amount_rial", "description")
RESULT_HEADER = ("reference", "status", "bank_reference", "reason")
REFERENCE_RE = re.compile(rf"^{REFERENCE_PREFIX}([0-9]{{12}})$")
EXPORT_READ_CHUNK = 5_000
RESULT_CHUNK_ROWS = 2_000


# --- Release and approval ---------------------------------------------------------------------


@transaction.atomic
def release_settlement(*, settlement: StoreSettlement, by: User) -> StoreSettlement:
    """A held settlement (suspended store) becomes a draft, to be approved like any other."""
    updated = StoreSettlement.objects.filter(pk=settlement.pk, status=SettlementStatus.HELD).update(
        status=SettlementStatus.DRAFT, released_by=by, released_at=timezone.now()
    )
    if not updated:
        raise field_error(
            field="status", message="این تسویه نگه‌داشته نیست", code="settlement_not_held"
        )
    settlement.refresh_from_db()
    return settlement


@dataclass(frozen=True)
class ApprovalResult:
    approved: int
    amount_rial: int


def check_may_approve(*, officer: User) -> None:
    if not (officer.is_active and officer.has_perm(APPROVE_PERMISSION)):
        raise field_error(
            field="officer",
            message="تأیید تسویه فقط با کارشناس مالی یا سرپرست است",
            code="not_allowed_to_approve",
        )


@transaction.atomic
def approve_settlements(
    *, officer: User, settlement_ids: Iterable[int] | None = None
) -> ApprovalResult:
    """Mark drafts approved by ``officer`` (all drafts, or those of ``settlement_ids``).

    Held, carried or already approved settlements are left as they are."""
    check_may_approve(officer=officer)
    drafts = StoreSettlement.objects.filter(status=SettlementStatus.DRAFT)
    if settlement_ids is not None:
        drafts = drafts.filter(pk__in=list(settlement_ids))
    amount = drafts.aggregate(total=Sum("amount_rial"))["total"] or 0
    approved = drafts.update(
        status=SettlementStatus.APPROVED, approved_by=officer, approved_at=timezone.now()
    )
    return ApprovalResult(approved=approved, amount_rial=int(amount) if approved else 0)


# --- The payout file --------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _jalali_day(cutoff: dt.datetime) -> str:
    # A file's rows share a few cut-offs: converting each once keeps 100,000 rows fast.
    return format_jalali_date(timezone.localtime(cutoff), with_month_name=False)


def _description(store_id: int, cutoff: dt.datetime) -> str:
    return f"تسویه کالابرگ فروشگاه {store_id} تا {_jalali_day(cutoff)}"


def payout_lines(*, batch: PayoutBatch) -> Iterator[str]:
    """The payout file of ``batch``, line by line (header first), read in chunks from the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(row: Iterable[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(PAYOUT_HEADER)
    rows = (
        StoreSettlement.objects.filter(payout_batch=batch)
        .order_by("pk")
        .values_list("pk", "sheba", "owner_name", "amount_rial", "store_id", "cutoff")
    )
    for pk, sheba, owner_name, amount, store_id, cutoff in rows.iterator(
        chunk_size=EXPORT_READ_CHUNK
    ):
        yield line(
            (payout_reference(pk), sheba, owner_name, amount, _description(store_id, cutoff))
        )


def write_payout_file(*, batch: PayoutBatch, stream: TextIO) -> str:
    """Write ``batch``'s file to ``stream``; returns its SHA-256."""
    digest = hashlib.sha256()
    for text in payout_lines(batch=batch):
        digest.update(text.encode("utf-8"))
        stream.write(text)
    return digest.hexdigest()


class NothingToExport(Exception):
    """No approved settlement waits for a payout file."""


def export_payouts(*, out: Path, created_by: User | None = None, process: str = "") -> PayoutBatch:
    """Export every approved, not yet exported settlement with an amount above zero to ``out``.

    The rows are marked exported and the file written in one transaction (to a temporary file
    beside ``out``, renamed into place after the commit): a failure leaves nothing exported and
    no file. Two exports at once take the rows' locks in turn; the second finds none left."""
    temporary = out.with_name(f".{out.name}.partial")
    try:
        with transaction.atomic():
            batch = PayoutBatch.objects.create(
                file_name=out.name,
                rows=0,
                total_rial=0,
                sha256="",
                created_by=created_by,
                created_by_process=process[:64],
            )
            marked = StoreSettlement.objects.filter(
                status=SettlementStatus.APPROVED, amount_rial__gt=0, payout_batch__isnull=True
            ).update(
                status=SettlementStatus.EXPORTED, payout_batch=batch, exported_at=timezone.now()
            )
            if not marked:
                raise NothingToExport
            totals = StoreSettlement.objects.filter(payout_batch=batch).aggregate(
                rows=Count("pk"), total=Sum("amount_rial")
            )
            with temporary.open("w", encoding="utf-8", newline="") as stream:
                sha = write_payout_file(batch=batch, stream=stream)
                stream.flush()
                os.fsync(stream.fileno())
            PayoutBatch.objects.filter(pk=batch.pk).update(
                rows=totals["rows"], total_rial=totals["total"] or 0, sha256=sha
            )
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    temporary.replace(out)
    batch.refresh_from_db()
    return batch


# --- The bank's answer ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultRowError:
    line: int
    reference: str
    field: str
    code: str
    message: str


@dataclass
class ResultImport:
    rows_read: int = 0
    paid: int = 0
    failed: int = 0
    unchanged: int = 0
    errors: list[ResultRowError] = field(default_factory=list)

    @property
    def rows_applied(self) -> int:
        return self.paid + self.failed

    @property
    def rows_rejected(self) -> int:
        return len(self.errors)


class ResultFileError(Exception):
    """The file itself is unusable (its header): nothing was read."""


@dataclass(frozen=True)
class _Answer:
    line: int
    reference: str
    settlement_id: int
    status: str
    bank_reference: str
    reason: str


def _parse_row(line: int, row: list[str]) -> _Answer | ResultRowError:
    if len(row) != len(RESULT_HEADER):
        return ResultRowError(
            line,
            row[0] if row else "",
            "row",
            "columns_count",
            f"این ردیف باید {len(RESULT_HEADER)} ستون داشته باشد",
        )
    reference, status, bank_reference, reason = (
        normalize_text(to_latin_digits(value)) for value in row
    )
    match = REFERENCE_RE.match(reference)
    if match is None:
        return ResultRowError(
            line, reference, "reference", "reference_invalid", "شناسه پرداخت نامعتبر است"
        )
    if status not in ("paid", "failed"):
        return ResultRowError(
            line, reference, "status", "status_invalid", "وضعیت باید paid یا failed باشد"
        )
    if status == "paid" and not bank_reference:
        return ResultRowError(
            line,
            reference,
            "bank_reference",
            "bank_reference_required",
            "برای پرداخت موفق شماره پیگیری بانک لازم است",
        )
    if status == "failed" and not reason:
        return ResultRowError(
            line, reference, "reason", "reason_required", "دلیل ناموفق بودن پرداخت لازم است"
        )
    return _Answer(line, reference, int(match.group(1)), status, bank_reference[:64], reason[:500])


def import_payout_results(
    *, stream: TextIO, chunk_rows: int = RESULT_CHUNK_ROWS, process: str = ""
) -> ResultImport:
    """Apply the bank's answers (header exactly ``reference,status,bank_reference,reason``).

    Each row either applies (an exported payout becomes paid or failed), changes nothing (the
    same answer was applied before), or is rejected with its line: a reference that names no
    exported payout, a bad status, a missing bank reference or reason, a second answer that
    contradicts the first. Rows are applied a chunk per transaction."""
    reader = csv.reader(stream)
    header = next(reader, None)
    if header is None or tuple(cell.strip().lstrip("\ufeff") for cell in header) != RESULT_HEADER:
        raise ResultFileError("سرستون فایل باید دقیقاً reference,status,bank_reference,reason باشد")
    result = ResultImport()
    seen: dict[int, _Answer] = {}
    batch: list[_Answer] = []
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        result.rows_read += 1
        parsed = _parse_row(line, row)
        if isinstance(parsed, ResultRowError):
            result.errors.append(parsed)
            continue
        earlier = seen.get(parsed.settlement_id)
        if earlier is not None:
            if (earlier.status, earlier.bank_reference) != (parsed.status, parsed.bank_reference):
                result.errors.append(
                    ResultRowError(
                        line,
                        parsed.reference,
                        "reference",
                        "reference_repeated",
                        f"این شناسه در سطر {earlier.line} با پاسخ دیگری آمده است",
                    )
                )
            else:
                result.unchanged += 1
            continue
        seen[parsed.settlement_id] = parsed
        batch.append(parsed)
        if len(batch) >= chunk_rows:
            _apply_answers(batch, result, process)
            batch = []
    if batch:
        _apply_answers(batch, result, process)
    result.errors.sort(key=lambda error: error.line)
    return result


def lock_store_rows(*, store_ids: Iterable[int]) -> None:
    """The row locks of these stores, in id order (PostgreSQL), as the settlement chunks take them."""
    ids = sorted(set(store_ids))
    if not ids or connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM stores_store WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE", [ids]
        )


@transaction.atomic
def _apply_answers(answers: list[_Answer], result: ResultImport, process: str) -> None:
    ids = [answer.settlement_id for answer in answers]
    # A failure makes an amount wait for the store's next settlement: the same store locks as
    # the settlement chunks, taken first (in id order), so a chunk never half-sees it.
    lock_store_rows(
        store_ids=StoreSettlement.objects.filter(
            pk__in=[a.settlement_id for a in answers if a.status == "failed"],
            status=SettlementStatus.EXPORTED,
        ).values_list("store_id", flat=True)
    )
    settlements = {
        s.pk: s
        for s in StoreSettlement.objects.select_for_update()
        .filter(pk__in=ids)
        .order_by("pk")
        .only("pk", "status", "payout_batch_id", "bank_reference", "amount_rial", "store_id")
    }
    now = timezone.now()
    answered: list[StoreSettlement] = []
    for answer in answers:
        settlement = settlements.get(answer.settlement_id)
        if settlement is None or settlement.payout_batch_id is None:
            result.errors.append(
                ResultRowError(
                    answer.line,
                    answer.reference,
                    "reference",
                    "reference_unknown",
                    "پرداختی با این شناسه به بانک فرستاده نشده است",
                )
            )
            continue
        if settlement.status != SettlementStatus.EXPORTED:
            same = settlement.status == answer.status and (
                answer.status == "failed" or settlement.bank_reference == answer.bank_reference
            )
            if same:
                result.unchanged += 1
            else:
                result.errors.append(
                    ResultRowError(
                        answer.line,
                        answer.reference,
                        "status",
                        "already_answered",
                        f"پاسخ این پرداخت پیش‌تر «{settlement.get_status_display()}» ثبت شده است",
                    )
                )
            continue
        settlement.status = answer.status
        settlement.bank_reference = answer.bank_reference
        settlement.failure_reason = answer.reason if answer.status == "failed" else ""
        settlement.answered_at = now
        answered.append(settlement)
    _write_answers(answered, now=now)
    failed = [s.pk for s in answered if s.status == SettlementStatus.FAILED]
    result.paid += len(answered) - len(failed)
    result.failed += len(failed)
    if failed:
        _return_to_payables(settlement_ids=failed, process=process, now=now)


ANSWER_TABLE = "settlements_payout_answer"


def _write_answers(answered: list[StoreSettlement], *, now: dt.datetime) -> None:
    """One ``UPDATE … FROM`` a temporary table of the chunk's answers (Django's ``bulk_update``
    writes a ``CASE`` of every row for every row: quadratic in the chunk)."""
    if not answered:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {ANSWER_TABLE}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {ANSWER_TABLE} (id bigint PRIMARY KEY, status varchar(10) NOT NULL, "
            "bank_reference varchar(64) NOT NULL, failure_reason varchar(500) NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {ANSWER_TABLE} (id, status, bank_reference, failure_reason) VALUES "
            + ", ".join(["(%s, %s, %s, %s)"] * len(answered)),
            [
                value
                for s in answered
                for value in (s.pk, s.status, s.bank_reference, s.failure_reason)
            ],
        )
        cursor.execute(
            f"UPDATE settlements_storesettlement SET status = a.status, bank_reference = a.bank_reference, "
            f"failure_reason = a.failure_reason, answered_at = %s FROM {ANSWER_TABLE} a "
            "WHERE settlements_storesettlement.id = a.id AND settlements_storesettlement.status = 'exported'",
            [now],
        )


def _return_to_payables(*, settlement_ids: list[int], process: str, now: dt.datetime) -> None:
    """Failed payouts: each amount leaves clearing back to its store's payable (one entry each,
    both legs in one statement), to be taken by the store's next settlement."""
    clearing = system_account(kind=AccountKind.SETTLEMENT_CLEARING)
    in_list = ", ".join(["%s"] * len(settlement_ids))
    key = "'payout_returned:' || CAST(s.id AS varchar(20))"
    period = period_of(now)  # the settlements' status moves once, under their row locks
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO settlements_journalentry (kind, idempotency_key, created_by_process, memo, created_at, period) "
            f"SELECT %s, {key}, %s, SUBSTR('پرداخت ناموفق ' || s.failure_reason, 1, 200), %s, %s "
            f"FROM settlements_storesettlement s WHERE s.id IN ({in_list}) ORDER BY s.id",
            [EntryKind.PAYOUT_RETURNED, process[:64], now, period, *settlement_ids],
        )
        cursor.execute(
            "INSERT INTO settlements_posting (entry_id, account_id, amount_rial, period) "
            "SELECT e.id, a.id, s.amount_rial, e.period FROM settlements_storesettlement s "
            f"JOIN settlements_journalentry e ON e.idempotency_key = {key} AND e.period = %s "
            "JOIN settlements_account a ON a.store_id = s.store_id AND a.kind = 'store_payable' "
            f"WHERE s.id IN ({in_list}) UNION ALL "
            "SELECT e.id, %s, -s.amount_rial, e.period FROM settlements_storesettlement s "
            f"JOIN settlements_journalentry e ON e.idempotency_key = {key} AND e.period = %s WHERE s.id IN ({in_list})",
            [period, *settlement_ids, clearing.pk, period, *settlement_ids],
        )
