"""From draft to the store's bank account: approval, the payout file, the bank's answers, a failed
payout paid again; through the services and the management commands."""

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from settlements.models import (
    AccountKind,
    EntryKind,
    JournalEntry,
    PayoutBatch,
    Posting,
    SettlementStatus,
    StoreSettlement,
)
from settlements.services import payouts
from settlements.services.reconcile import reconcile
from stores import services as store_services
from stores.models import Terminal
from tests.approvals.factories import officer_with
from tests.households.factories import HouseholdFactory
from tests.settlements.factories import buy, charge, owed_rial, settle, this_month
from tests.stores.factories import make_terminal

pytestmark = pytest.mark.django_db

APPROVE = "settlements.approve_storesettlement"
PAYOUT_HEADER = "reference,sheba,owner_name,amount_rial,description"
RESULT_HEADER = "reference,status,bank_reference,reason"


@pytest.fixture
def finance() -> Any:
    return officer_with("finance", APPROVE)


@pytest.fixture
def two_stores() -> list[Terminal]:
    """Two stores with one purchase each, settled as drafts (3,000,000 and 2,000,000 rial)."""
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    terminals = [make_terminal(), make_terminal()]
    buy(household, cycle=cycle, base=100_000, current=3_100_000, terminal=terminals[0])
    buy(household, cycle=cycle, base=100_000, current=2_100_000, terminal=terminals[1])
    settle()
    return terminals


def _export(tmp_path: Path, name: str = "payouts.csv") -> Path:
    out = tmp_path / name
    call_command("export_payouts", "--out", str(out), stdout=io.StringIO())
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def _results(tmp_path: Path, *rows: str, name: str = "results.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([RESULT_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def _import(path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_payout_results", str(path), stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def _settlement(terminal: Terminal) -> StoreSettlement:
    return StoreSettlement.objects.filter(store=terminal.store).latest("pk")


def _payable(terminal: Terminal) -> int:
    return sum(
        Posting.objects.filter(
            account__kind=AccountKind.STORE_PAYABLE, account__store=terminal.store
        ).values_list("amount_rial", flat=True)
    )


# --- Approval ------------------------------------------------------------------------------------


def test_a_finance_officer_approves_every_draft_in_their_name(two_stores, finance):
    result = payouts.approve_settlements(officer=finance)
    approved = StoreSettlement.objects.filter(status=SettlementStatus.APPROVED)
    assert (result.approved, result.amount_rial) == (2, 5_000_000)
    assert set(approved.values_list("approved_by", flat=True)) == {finance.pk}


def test_an_officer_without_the_approval_permission_is_refused(two_stores):
    clerk = officer_with("clerk", "settlements.view_storesettlement")
    with pytest.raises(ValidationError) as refused:
        payouts.approve_settlements(officer=clerk)
    assert refused.value.error_dict["officer"][0].code == "not_allowed_to_approve"
    assert not StoreSettlement.objects.filter(status=SettlementStatus.APPROVED).exists()


def test_the_approve_command_names_the_officer(two_stores, finance):
    out = io.StringIO()
    call_command("approve_settlements", "--officer", "finance", stdout=out)
    assert "2 settlements approved by finance" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("approve_settlements", "--officer", "nobody", stdout=io.StringIO())


def test_a_held_settlement_is_not_approved_until_released(finance):
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    terminal = make_terminal()
    buy(household, cycle=cycle, base=100_000, current=600_000, terminal=terminal)
    store_services.suspend_store(store=terminal.store, reason="بازرسی", by=None)
    settle()
    held = _settlement(terminal)
    assert payouts.approve_settlements(officer=finance).approved == 0
    payouts.release_settlement(settlement=held, by=finance)
    assert payouts.approve_settlements(officer=finance).approved == 1
    held.refresh_from_db()
    assert (held.status, held.released_by) == (SettlementStatus.APPROVED, finance)


# --- The payout file -----------------------------------------------------------------------------


def test_the_payout_file_has_one_row_per_approved_settlement_with_its_sheba_and_amount(
    two_stores, finance, tmp_path
):
    payouts.approve_settlements(officer=finance)
    out = _export(tmp_path)
    header = out.read_text(encoding="utf-8").splitlines()[0]
    rows = _rows(out)
    expected = {
        s.reference: (s.sheba, s.owner_name, str(s.amount_rial))
        for s in StoreSettlement.objects.all()
    }
    assert header == PAYOUT_HEADER
    assert {
        r["reference"]: (r["sheba"], r["owner_name"], r["amount_rial"]) for r in rows
    } == expected
    assert set(StoreSettlement.objects.values_list("status", flat=True)) == {"exported"}


def test_export_prints_how_many_and_the_total(two_stores, finance, tmp_path):
    payouts.approve_settlements(officer=finance)
    out = io.StringIO()
    call_command("export_payouts", "--out", str(tmp_path / "p.csv"), stdout=out)
    assert "2 payouts exported, 5,000,000 rial" in out.getvalue()


def test_a_second_export_exports_nothing_already_exported(two_stores, finance, tmp_path):
    payouts.approve_settlements(officer=finance)
    _export(tmp_path, "first.csv")
    out = io.StringIO()
    call_command("export_payouts", "--out", str(tmp_path / "second.csv"), stdout=out)
    assert "0 payouts exported" in out.getvalue()
    assert not (tmp_path / "second.csv").exists()
    assert PayoutBatch.objects.count() == 1


def test_drafts_are_not_exported(two_stores, finance, tmp_path):
    payouts.approve_settlements(officer=finance, settlement_ids=[_settlement(two_stores[0]).pk])
    rows = _rows(_export(tmp_path))
    assert [r["reference"] for r in rows] == [_settlement(two_stores[0]).reference]
    assert _settlement(two_stores[1]).status == SettlementStatus.DRAFT


def test_the_file_is_written_again_byte_for_byte_from_its_rows(two_stores, finance, tmp_path):
    payouts.approve_settlements(officer=finance)
    out = _export(tmp_path)
    batch = PayoutBatch.objects.get()
    again = io.StringIO()
    sha = payouts.write_payout_file(batch=batch, stream=again)
    assert again.getvalue().encode("utf-8") == out.read_bytes()
    assert sha == batch.sha256


def test_a_failed_export_leaves_nothing_exported_and_no_file(two_stores, finance, tmp_path):
    payouts.approve_settlements(officer=finance)
    missing_dir = tmp_path / "no-such-dir" / "p.csv"
    with pytest.raises(FileNotFoundError):
        payouts.export_payouts(out=missing_dir)
    assert set(StoreSettlement.objects.values_list("status", flat=True)) == {"approved"}
    assert not PayoutBatch.objects.exists()


# --- The bank's answers --------------------------------------------------------------------------


@pytest.fixture
def exported(two_stores, finance, tmp_path) -> list[StoreSettlement]:
    payouts.approve_settlements(officer=finance)
    _export(tmp_path)
    return [_settlement(t) for t in two_stores]


def test_paid_and_failed_answers_are_recorded_with_the_banks_reference_and_reason(
    exported, tmp_path
):
    paid, failed = exported
    code, out, _ = _import(
        _results(
            tmp_path, f"{paid.reference},paid,BR-1,", f"{failed.reference},failed,,شبا بسته است"
        )
    )
    paid.refresh_from_db()
    failed.refresh_from_db()
    assert code == 0
    assert (paid.status, paid.bank_reference) == (SettlementStatus.PAID, "BR-1")
    assert (failed.status, failed.failure_reason) == (SettlementStatus.FAILED, "شبا بسته است")
    assert "1 paid, 1 failed" in out


def test_a_failed_payout_returns_its_amount_to_the_stores_payable(exported, tmp_path, two_stores):
    _, failed = exported
    assert _payable(two_stores[1]) == 0
    _import(_results(tmp_path, f"{failed.reference},failed,,حساب مسدود"))
    entry = JournalEntry.objects.get(idempotency_key=f"payout_returned:{failed.pk}")
    assert entry.kind == EntryKind.PAYOUT_RETURNED
    assert _payable(two_stores[1]) == failed.amount_rial
    assert reconcile(verify_digests=False).ok


def test_a_failed_payout_is_paid_in_the_next_settlement(exported, tmp_path, two_stores, finance):
    # Given a failed payout and, later, nothing new sold at that store
    _, failed = exported
    _import(_results(tmp_path, f"{failed.reference},failed,,حساب مسدود"))
    # When the stores are settled again, approved and exported
    settle()
    again = _settlement(two_stores[1])
    payouts.approve_settlements(officer=finance)
    rows = _rows(_export(tmp_path, "second.csv"))
    failed.refresh_from_db()
    # Then the new settlement carries the whole amount, under a new reference, in the new file
    assert (again.carried_in_rial, again.amount_rial, failed.carried_into_id) == (
        failed.amount_rial,
        failed.amount_rial,
        again.pk,
    )
    assert [(r["reference"], r["amount_rial"]) for r in rows] == [
        (again.reference, str(failed.amount_rial))
    ]
    assert _payable(two_stores[1]) == 0


def test_a_failed_payout_joins_the_stores_new_sales(exported, tmp_path, two_stores):
    _, failed = exported
    _import(_results(tmp_path, f"{failed.reference},failed,,حساب مسدود"))
    household = HouseholdFactory(decile=4)
    cycle = charge(this_month())
    new = buy(household, cycle=cycle, base=100_000, current=700_000, terminal=two_stores[1])
    settle()
    assert _settlement(two_stores[1]).amount_rial == failed.amount_rial + owed_rial(new)


def test_an_unknown_reference_or_bad_status_is_reported_by_line_and_exits_1(exported, tmp_path):
    paid, _ = exported
    code, _, err = _import(
        _results(
            tmp_path,
            f"{paid.reference},paid,BR-1,",
            "KB000099999999,paid,BR-2,",
            f"{paid.reference[:-1]}x,paid,BR-3,",
            f"{exported[1].reference},returned,,",
        )
    )
    paid.refresh_from_db()
    assert code == 1
    assert "line 3: KB000099999999: reference: reference_unknown" in err
    assert "line 4:" in err and "reference_invalid" in err
    assert "line 5:" in err and "status_invalid" in err
    assert paid.status == SettlementStatus.PAID  # the good row still applies


def test_a_draft_is_not_an_exported_payout(two_stores, tmp_path):
    draft = _settlement(two_stores[0])
    code, _, err = _import(_results(tmp_path, f"{draft.reference},paid,BR-1,"))
    draft.refresh_from_db()
    assert (code, draft.status) == (1, SettlementStatus.DRAFT)
    assert "reference_unknown" in err


def test_importing_the_same_file_twice_changes_nothing(exported, tmp_path):
    paid, failed = exported
    path = _results(
        tmp_path, f"{paid.reference},paid,BR-1,", f"{failed.reference},failed,,حساب مسدود"
    )
    _import(path)
    entries = JournalEntry.objects.count()
    code, out, _ = _import(path)
    assert code == 0
    assert "0 paid, 0 failed, 2 unchanged" in out
    assert JournalEntry.objects.count() == entries


def test_a_contradicting_second_answer_is_rejected(exported, tmp_path):
    paid, _ = exported
    _import(_results(tmp_path, f"{paid.reference},paid,BR-1,"))
    code, _, err = _import(_results(tmp_path, f"{paid.reference},failed,,اشتباه", name="b.csv"))
    paid.refresh_from_db()
    assert (code, paid.status) == (1, SettlementStatus.PAID)
    assert "already_answered" in err


def test_a_paid_row_needs_the_banks_reference_and_a_failed_row_its_reason(exported, tmp_path):
    paid, failed = exported
    code, _, err = _import(
        _results(tmp_path, f"{paid.reference},paid,,", f"{failed.reference},failed,,")
    )
    assert code == 1
    assert "bank_reference_required" in err and "reason_required" in err
    assert set(StoreSettlement.objects.values_list("status", flat=True)) == {"exported"}


def test_a_file_with_the_wrong_header_is_refused_whole(exported, tmp_path):
    paid, _ = exported
    path = tmp_path / "bad.csv"
    path.write_text(
        f"ref,status,bank_reference,reason\n{paid.reference},paid,BR-1,\n", encoding="utf-8"
    )
    with pytest.raises(CommandError, match="reference,status,bank_reference,reason"):
        call_command("import_payout_results", str(path), stdout=io.StringIO())
    paid.refresh_from_db()
    assert paid.status == SettlementStatus.EXPORTED


def test_the_rejected_rows_are_written_to_the_error_report(exported, tmp_path):
    errors = tmp_path / "rejected.csv"
    path = _results(tmp_path, "KB000099999999,paid,BR-2,")
    with pytest.raises(SystemExit):
        call_command(
            "import_payout_results",
            str(path),
            "--errors",
            str(errors),
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert _rows(errors) == [
        {
            "line": "2",
            "reference": "KB000099999999",
            "field": "reference",
            "code": "reference_unknown",
            "message": "پرداختی با این شناسه به بانک فرستاده نشده است",
        }
    ]
