"""The money core's changes that wait for a second officer (four-eyes, the ``approvals`` app).

- ``phase``: a new phase with its bands, or a change of a phase no money moved under and of its
  bands: the payload holds the phase's fields and the full list of bands (and, for a change,
  what they were when asked). Applied with ``rules.save_phase`` in the approval's transaction;
  until then ``rules.phase_on`` cannot see it. Deleting a phase nothing refers to yet is a
  ``phase`` request too (``{"delete": true}``, applied with ``rules.delete_phase``).
- ``run_start``: starting a cycle's charge or a phase's expiry from the admin. Applied with
  ``runs.launch_run``: the chunks are queued when the approval commits, or run at once when
  Celery is eager (the embedded demo). Resuming a run that was started is not a new request.

Registered when the app starts (``SettlementsConfig.ready``); the admin proposes, never writes.
"""

import datetime as dt
from typing import Any

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.utils.html import format_html, format_html_join

from approvals.models import ChangeRequest
from approvals.registry import Applied, ChangeKind, register
from kalabarg.lib import admin_display as show
from kalabarg.lib.errors import field_error
from kalabarg.lib.persian import JALALI_MONTHS, jalali, to_persian_digits
from settlements.models import (
    CreditBasis,
    CreditRun,
    Cycle,
    Phase,
    RunKind,
    RunStatus,
    UnspentPolicy,
)
from settlements.services import rules, runs
from settlements.services.projection import WhatIf
from settlements.what_if_display import cost_table
from stores.approvals import log_applied

PHASE = "phase"
RUN_START = "run_start"

BAND_FIELDS = (
    "min_decile",
    "max_decile",
    "credit_per_cycle_rial",
    "bonus_threshold_rial",
    "bonus_amount_rial",
    "cash_subsidy_rial",
)
RESULT_PHASE = "مرحله"
RESULT_RUN = "اجرا"


# --- A phase and its bands ------------------------------------------------------------------------


def band_rows(bands: Any) -> list[dict[str, int]]:
    """Bands (rows or dicts) as the payload keeps them, by their first decile."""
    rows = [
        {
            field: int(band[field] if isinstance(band, dict) else getattr(band, field) or 0)
            for field in BAND_FIELDS
        }
        for band in bands
    ]
    return sorted(rows, key=lambda row: row["min_decile"])


def _phase_fields(phase: Phase) -> dict[str, Any]:
    return {
        "name": phase.name,
        "starts_on": phase.starts_on.isoformat(),
        "ends_on": phase.ends_on.isoformat() if phase.ends_on else None,
        "basis": phase.basis,
        "unspent_policy": phase.unspent_policy,
        "min_distinct_items": phase.min_distinct_items,
        "bands": band_rows(phase.bands.all()),
    }


def phase_payload(
    *,
    phase: Phase | None,
    fields: dict[str, Any],
    bands: list[dict[str, Any]],
    projection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """What a ``phase`` request keeps: the phase's fields as asked, every band, (for a change)
    the phase as it was when asked, so the request's page says from what to what, and the
    what-if the maker saw (``projection.WhatIf.as_dict``), which the approver sees unchanged."""
    ends_on = fields.get("ends_on")
    what_if = {"projection": projection} if projection is not None else {}
    return {
        **what_if,
        "name": fields["name"],
        "starts_on": fields["starts_on"].isoformat(),
        "ends_on": ends_on.isoformat() if ends_on else None,
        "basis": fields["basis"],
        "unspent_policy": fields["unspent_policy"],
        "min_distinct_items": int(fields.get("min_distinct_items") or 0),
        "bands": band_rows(bands),
        "before": _phase_fields(phase) if phase is not None and phase.pk else None,
    }


def deletion_payload(*, phase: Phase) -> dict[str, Any]:
    """What a request to delete ``phase`` keeps: the phase as it was when asked."""
    return {"delete": True, "before": _phase_fields(phase)}


def _phase_of(change: ChangeRequest) -> Phase | None:
    if not change.target_id:
        return None
    phase = Phase.objects.filter(pk=change.target_id).first()
    if phase is None:
        raise field_error(field="phase", message="این مرحله پیدا نشد", code="no_target")
    return phase


def _phase_arguments(change: ChangeRequest) -> dict[str, Any]:
    payload = change.payload
    return {
        "name": payload["name"],
        "starts_on": dt.date.fromisoformat(payload["starts_on"]),
        "ends_on": dt.date.fromisoformat(payload["ends_on"]) if payload.get("ends_on") else None,
        "basis": payload["basis"],
        "unspent_policy": payload["unspent_policy"],
        "min_distinct_items": payload["min_distinct_items"],
        "bands": [rules.BandRule(**band) for band in payload.get("bands", [])],
    }


def _check_phase(change: ChangeRequest) -> None:
    phase = _phase_of(change)
    if change.payload.get("delete"):
        if phase is None:
            raise field_error(field="phase", message="این مرحله پیدا نشد", code="no_target")
        rules.validate_phase_deletion(phase=phase)
        return
    rules.validate_phase(phase=phase, **_phase_arguments(change))


def _apply_phase(change: ChangeRequest, checker: User) -> Applied:
    before = _phase_of(change)
    if change.payload.get("delete") and before is not None:
        LogEntry.objects.log_actions(
            user_id=checker.pk,
            queryset=[before],
            action_flag=DELETION,
            change_message=f"تأیید درخواست شماره {to_persian_digits(change.pk)} — "
            f"درخواست‌دهنده: {change.maker.get_username()}",
            single_object=True,
        )
        rules.delete_phase(phase=before)
        return Applied(result={"مرحله حذف‌شده": before.name})
    phase = rules.save_phase(phase=before, **_phase_arguments(change))
    if before is None:
        LogEntry.objects.log_actions(
            user_id=checker.pk,
            queryset=[phase],
            action_flag=ADDITION,
            change_message=f"تأیید درخواست شماره {to_persian_digits(change.pk)} — "
            f"درخواست‌دهنده: {change.maker.get_username()}",
            single_object=True,
        )
    else:
        log_applied(checker=checker, obj=phase, change=change)
    return Applied(result={RESULT_PHASE: phase.pk})


def _bands_table(bands: list[dict[str, int]]) -> str:
    if not bands:
        return "هیچ بازه‌ای (هیچ دهکی مشمول نیست)"
    return format_html(
        '<table class="proposed-bands"><thead><tr><th>از دهک</th><th>تا دهک</th>'
        "<th>اعتبار هر دوره</th><th>آستانه اعتبار مضاعف</th><th>اعتبار مضاعف</th>"
        "<th>یارانه نقدی نمایشی</th></tr></thead><tbody>{}</tbody></table>",
        format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    to_persian_digits(band["min_decile"]),
                    to_persian_digits(band["max_decile"]),
                    show.rial(band["credit_per_cycle_rial"]),
                    show.rial(band["bonus_threshold_rial"]),
                    show.rial(band["bonus_amount_rial"]),
                    show.rial(band["cash_subsidy_rial"]),
                )
                for band in bands
            ),
        ),
    )


def _phase_values(fields: dict[str, Any]) -> list[tuple[str, str]]:
    ends_on = fields.get("ends_on")
    return [
        ("نام", fields["name"]),
        ("از تاریخ", show.day(dt.date.fromisoformat(fields["starts_on"]))),
        (
            "تا تاریخ",
            show.day(dt.date.fromisoformat(ends_on)) if ends_on else "تا آغاز مرحله بعد",
        ),
        ("مبنای اعتبار", str(CreditBasis(fields["basis"]).label)),
        ("اعتبار خرج‌نشده", str(UnspentPolicy(fields["unspent_policy"]).label)),
        ("حداقل اقلام متفاوت در هر خرید", to_persian_digits(fields["min_distinct_items"])),
        ("بازه‌های دهک", _bands_table(fields.get("bands", []))),
    ]


def _describe_phase(change: ChangeRequest) -> list[tuple[str, str]]:
    """The proposed phase and its bands; for a change, each value that differs beside the old."""
    before = change.payload.get("before")
    phase = Phase.objects.filter(pk=change.target_id).first() if change.target_id else None
    gone = f"«{before['name']}» (دیگر نیست)" if before else "مرحله تازه"
    rows: list[tuple[str, str]] = [
        ("مرحله", show.change_link(phase, phase.name) if phase else gone)
    ]
    if phase is None and change.result.get(RESULT_PHASE):
        made = Phase.objects.filter(pk=change.result[RESULT_PHASE]).first()
        if made is not None:
            rows = [("مرحله", show.change_link(made, made.name))]
    if change.payload.get("delete"):
        rows.append(("درخواست", "حذف این مرحله و بازه‌های دهک آن"))
        return rows + (_phase_values(before) if before else [])
    proposed = _phase_values(change.payload)
    # The what-if as computed when the change was asked, never recomputed: what the maker saw
    # is what the approver sees.
    recorded = change.payload.get("projection")
    cost = (
        [("هزینه ماهانه پیش‌بینی‌شده (هنگام درخواست)", cost_table(WhatIf.from_dict(recorded)))]
        if recorded
        else []
    )
    if not before:
        return rows + proposed + cost
    old = dict(_phase_values(before))
    for label, value in proposed:
        if str(old.get(label)) == str(value):
            rows.append((label, value))
        else:
            rows.append(
                (
                    label,
                    format_html(
                        '<div class="proposed"><strong>پیشنهادی:</strong> {}</div>'
                        '<div class="before"><strong>پیشین:</strong> {}</div>',
                        value,
                        old.get(label, "—"),
                    ),
                )
            )
    return rows + cost


# --- Starting a run -------------------------------------------------------------------------------


def month_name(cycle: Cycle) -> str:
    month = jalali(cycle.starts_on)
    return f"{JALALI_MONTHS[month.month - 1]} {to_persian_digits(month.year)}"


def run_target_label(*, cycle: Cycle | None, phase: Phase | None) -> str:
    if cycle is not None:
        return f"{to_persian_digits(cycle.key)} ({month_name(cycle)})"
    return f"«{phase.name}»" if phase is not None else ""


def run_payload(*, kind: str, cycle: Cycle | None, phase: Phase | None) -> dict[str, Any]:
    return {
        "run_kind": kind,
        "cycle": cycle.pk if cycle is not None else None,
        "phase": phase.pk if phase is not None else None,
    }


def _run_arguments(change: ChangeRequest) -> tuple[str, Cycle | None, Phase | None]:
    payload = change.payload
    kind = payload.get("run_kind")
    if kind not in RunKind.values:
        raise field_error(field="run_kind", message="نوع اجرا معتبر نیست", code="run_kind_invalid")
    cycle = (
        Cycle.objects.select_related("phase").filter(pk=payload["cycle"]).first()
        if payload.get("cycle")
        else None
    )
    phase = Phase.objects.filter(pk=payload["phase"]).first() if payload.get("phase") else None
    return kind, cycle, phase


def _check_run(change: ChangeRequest) -> None:
    kind, cycle, phase = _run_arguments(change)
    runs.validate_run(kind=kind, cycle=cycle, phase=phase)


def _apply_run(change: ChangeRequest, checker: User) -> Applied:
    from settlements import tasks  # the caller passes the queue: services never import tasks

    kind, cycle, phase = _run_arguments(change)
    label = str(RunKind(kind).label)
    target = run_target_label(cycle=cycle, phase=phase)
    resumed = CreditRun.objects.filter(
        kind=kind,
        cycle=cycle,
        phase=phase,
        status__in=[RunStatus.PENDING, RunStatus.RUNNING, RunStatus.FAILED],
    ).exists()
    failed = False
    try:
        run = runs.launch_run(
            kind=kind,
            cycle=cycle,
            phase=phase,
            started_by=change.maker,
            enqueue=tasks.enqueue_chunks,
        )
    except DatabaseError:
        # Eager Celery ran a chunk here and it failed: the run records it (resume it later).
        run = CreditRun.objects.filter(kind=kind, cycle=cycle, phase=phase).latest("pk")
        failed = True
    LogEntry.objects.log_actions(
        user_id=checker.pk,
        queryset=[run],
        action_flag=CHANGE if resumed else ADDITION,
        change_message=(
            f"{'ادامه' if resumed else 'آغاز'} {label} {target} — دلیل: {change.maker_reason} — "
            f"درخواست‌دهنده: {change.maker.get_username()}، تأیید درخواست شماره "
            f"{to_persian_digits(change.pk)}"
        ),
        single_object=True,
    )
    if failed:
        message = (
            f"{label} {target} آغاز شد اما بخشی از آن ناموفق ماند؛ خطا در صفحه اجرا آمده است. "
            "پس از رفع مشکل، با اقدام «ادامه اجرا» آن را ادامه دهید."
        )
    elif run.status == RunStatus.COMPLETED:
        message = (
            f"{label} {target} انجام شد: {show.number(run.entries_created)} خانوار، "
            f"جمعاً {show.rial(run.amount_rial)}."
        )
    else:
        message = f"{label} {target} آغاز شد؛ پیشرفت آن در صفحه اجرا دیده می‌شود."
    return Applied(result={RESULT_RUN: run.pk}, message=message)


def _describe_run(change: ChangeRequest) -> list[tuple[str, str]]:
    kind = change.payload.get("run_kind", "")
    cycle = Cycle.objects.filter(pk=change.payload.get("cycle") or 0).first()
    phase = Phase.objects.filter(pk=change.payload.get("phase") or 0).first()
    rows: list[tuple[str, str]] = [
        ("نوع اجرا", str(RunKind(kind).label) if kind in RunKind.values else kind)
    ]
    if cycle is not None:
        rows.append(("دوره", run_target_label(cycle=cycle, phase=None)))
        rows.append(("مرحله دوره", cycle.phase.name))
    if phase is not None:
        rows.append(("مرحله", show.change_link(phase, phase.name)))
    run = CreditRun.objects.filter(pk=change.result.get(RESULT_RUN) or 0).first()
    if run is not None:
        rows.append(
            (
                "اجرا",
                format_html("{} — {}", show.change_link(run, str(run)), run.get_status_display()),
            )
        )
    return rows


def register_kinds() -> None:
    """Called once from ``SettlementsConfig.ready``."""
    register(
        ChangeKind(
            code=PHASE,
            label="مرحله و بازه‌های دهک",
            check=_check_phase,
            apply=_apply_phase,
            describe=_describe_phase,
        )
    )
    register(
        ChangeKind(
            code=RUN_START,
            label="آغاز اجرای دسته‌ای (شارژ یا ابطال)",
            check=_check_run,
            apply=_apply_run,
            describe=_describe_run,
        )
    )
