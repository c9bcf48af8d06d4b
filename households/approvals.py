"""The registry's four-eyes changes (issue 15): what an officer asks for here is a request
(``approvals``) until a second officer approves it; nothing of it is in force before.

- ``decile_by_hand``: a household's decile set by an officer (the household page's history);
- ``person_mobile``: a person's registered mobile (the portal's login factor);
- ``person_card``: a bank card attached to a person (its keyed hash, BIN and last four only);
- ``registry_upload``: the welfare registry's household file uploaded in the admin;
- ``bank_card_upload``: the banks' card-owner file, kept in its hashed form (no card number).

Each kind checks a request with the owning service's rules when it is made, and applies it on
approval through the same services the admin used to call (``households.services``, the
importers). Registered in ``HouseholdsConfig.ready``; the admin proposes through the
``propose_*`` functions below, so each payload's shape lives in this one module.
"""

import datetime as dt
import io
from typing import TypeVar

from django.contrib.auth.models import User
from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from approvals.models import ChangeRequest
from approvals.proposing import pending_notice, propose
from approvals.registry import Applied, ChangeKind, register
from households import selectors, services
from households.card_import import HASHED_COLUMNS, HashedCardFile, import_hashed_cards
from households.importer import (
    ImportFileError,
    RowError,
    check_file,
    import_households,
    write_error_report,
)
from households.models import DecileSource, Household, ImportReport, Person
from kalabarg.lib import admin_display as show
from kalabarg.lib.errors import field_error
from kalabarg.lib.identifiers import BANKS_BY_BIN, mask_card

M = TypeVar("M", bound=Model)

DECILE = "decile_by_hand"
MOBILE = "person_mobile"
CARD = "person_card"
REGISTRY_UPLOAD = "registry_upload"
CARD_UPLOAD = "bank_card_upload"


def _target_pk(change: ChangeRequest) -> int:
    if not change.target_id.isdigit():
        raise field_error(
            field="target", message="رکورد این درخواست معلوم نیست", code="target_missing"
        )
    return int(change.target_id)


def _shown(model: type[M], change: ChangeRequest) -> M | None:
    """The request's row for its page, or None (no such row any more)."""
    if not change.target_id.isdigit():
        return None
    return model._default_manager.filter(pk=int(change.target_id)).first()


def _household(change: ChangeRequest) -> Household:
    household = Household.objects.filter(pk=_target_pk(change)).first()
    if household is None:
        raise field_error(field="target", message="این خانوار یافت نشد", code="target_missing")
    return household


def _person(change: ChangeRequest) -> Person:
    person = Person.objects.select_related("household").filter(pk=_target_pk(change)).first()
    if person is None:
        raise field_error(field="target", message="این فرد یافت نشد", code="target_missing")
    return person


def _person_rows(change: ChangeRequest) -> list[tuple[str, str]]:
    person = _shown(Person, change)
    if person is None:
        return [("فرد", "—")]
    return [("فرد", show.change_link(person, f"{person.full_name} ({person.national_code})"))]


# --- A decile set by hand ------------------------------------------------------------------------


def propose_decile(
    request: HttpRequest,
    *,
    household: Household,
    decile: int,
    effective_from: dt.date,
    reason: str,
) -> ChangeRequest | None:
    """Ask for ``decile`` from ``effective_from`` for ``household``; in force once approved."""
    return propose(
        request,
        kind=DECILE,
        summary=f"دهک {decile} برای خانوار {household.registry_code} از {effective_from.isoformat()}",
        payload={
            "decile": decile,
            "effective_from": effective_from.isoformat(),
            "reason": reason.strip(),
        },
        target=household,
        reason=reason,
    )


def _decile_fields(change: ChangeRequest) -> tuple[int, dt.date, str]:
    payload = change.payload
    try:
        return (
            int(payload["decile"]),
            dt.date.fromisoformat(str(payload["effective_from"])),
            str(payload.get("reason") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise field_error(
            field="payload", message="جزئیات درخواست دهک ناقص است", code="payload_invalid"
        ) from exc


def _check_decile(change: ChangeRequest) -> None:
    decile, effective_from, reason = _decile_fields(change)
    services.validate_decile(decile=decile)
    if not reason.strip():
        raise field_error(
            field="reason", message="دلیل تغییر دهک را بنویسید", code="reason_required"
        )
    household = _household(change)
    services.check_decile_decision(household_id=household.pk, effective_from=effective_from)


def _apply_decile(change: ChangeRequest, checker: User) -> Applied:
    decile, effective_from, reason = _decile_fields(change)
    household = _household(change)
    # The service's own signals run as for any decision: the closed-cycle refusal now, and on
    # commit the late charge of a household this decision newly covers.
    assignment = services.assign_decile(
        household=household,
        decile=decile,
        effective_from=effective_from,
        source=DecileSource.OFFICER,
        reason=reason,
        created_by=change.maker,
        approved_by=checker,
    )
    return Applied(
        result={"decile_assignment": assignment.pk},
        message=f"دهک {decile} از {effective_from.isoformat()} برای خانوار {household.registry_code} ثبت شد.",
    )


def _describe_decile(change: ChangeRequest) -> list[tuple[str, str]]:
    household = _shown(Household, change)
    rows: list[tuple[str, str]] = []
    if household is not None:
        current = selectors.decile_on(household_id=household.pk, on_date=timezone.localdate())
        rows += [
            ("خانوار", show.change_link(household, household.registry_code)),
            ("دهک کنونی", str(current or "—")),
        ]
    decile, effective_from, reason = _decile_fields(change)
    return [
        *rows,
        ("دهک تازه", str(decile)),
        ("از تاریخ", show.day(effective_from)),
        ("دلیل", reason),
    ]


# --- A person's mobile ----------------------------------------------------------------------------


def propose_mobile(request: HttpRequest, *, person: Person, mobile: str) -> ChangeRequest | None:
    """Ask for ``mobile`` as ``person``'s registered mobile (empty: none, for a member)."""
    return propose(
        request,
        kind=MOBILE,
        summary=f"شماره همراه {person.full_name} ({person.national_code})",
        payload={"mobile": mobile},
        target=person,
    )


def _check_mobile(change: ChangeRequest) -> None:
    person = _person(change)
    cleaned = services.clean_mobile_for(person=person, mobile=str(change.payload.get("mobile", "")))
    if cleaned == person.mobile:
        raise field_error(
            field="mobile", message="این شماره همان شماره ثبت‌شده است", code="mobile_unchanged"
        )


def _apply_mobile(change: ChangeRequest, checker: User) -> Applied:
    person = services.change_mobile(person=_person(change), mobile=str(change.payload["mobile"]))
    return Applied(
        result={"person": person.pk},
        message=f"شماره همراه {person.full_name} تغییر کرد؛ نشست‌های شماره پیشین بسته شد.",
    )


def _describe_mobile(change: ChangeRequest) -> list[tuple[str, str]]:
    person = _shown(Person, change)
    current = (person.mobile or "—") if person is not None else "—"
    return [
        *_person_rows(change),
        ("شماره کنونی", current),
        ("شماره تازه", str(change.payload.get("mobile") or "— (بدون شماره)")),
    ]


# --- A bank card attached to a person -------------------------------------------------------------


def propose_card(
    request: HttpRequest, *, person: Person, card: services.CardIdentity
) -> ChangeRequest | None:
    """Ask for ``card`` to be registered to ``person``: the request holds its keyed hash, BIN and
    last four, never the number."""
    return propose(
        request,
        kind=CARD,
        summary=f"کارت {card.masked} برای {person.full_name} ({person.national_code})",
        payload={"card_hash": card.card_hash, "bin": card.bin, "last4": card.last4},
        target=person,
    )


def _card(change: ChangeRequest) -> services.CardIdentity:
    payload = change.payload
    return services.CardIdentity(
        card_hash=str(payload.get("card_hash", "")),
        bin=str(payload.get("bin", "")),
        last4=str(payload.get("last4", "")),
    )


def _check_card(change: ChangeRequest) -> None:
    if services.check_card_for(person=_person(change), card=_card(change)) is not None:
        raise field_error(
            field="card_number",
            message="این کارت پیش‌تر برای همین فرد ثبت شده است",
            code="card_already_registered",
        )


def _apply_card(change: ChangeRequest, checker: User) -> Applied:
    card = services.register_card_identity(person=_person(change), card=_card(change))
    return Applied(result={"card": card.pk}, message=f"کارت {card.masked} ثبت شد.")


def _describe_card(change: ChangeRequest) -> list[tuple[str, str]]:
    card = _card(change)
    return [
        *_person_rows(change),
        ("کارت", mask_card(card.bin, card.last4)),
        ("بانک", BANKS_BY_BIN.get(card.bin, "بانک نامشخص")),
    ]


# --- Bulk uploads ---------------------------------------------------------------------------------


def propose_registry_upload(
    request: HttpRequest, *, file_name: str, text: str
) -> ChangeRequest | None:
    """Ask for the registry file ``text`` to be imported; its header and CSV shape are checked
    now, its rows when a second officer approves it."""
    lines = max(len(text.splitlines()) - 1, 0)
    return propose(
        request,
        kind=REGISTRY_UPLOAD,
        summary=f"بارگذاری فایل خانوارها «{file_name}» ({lines} سطر)",
        payload={"lines": lines, "bytes": len(text.encode())},
        attachment_name=file_name,
        attachment=text,
    )


def propose_card_upload(
    request: HttpRequest, *, file_name: str, hashed: HashedCardFile
) -> ChangeRequest | None:
    """Ask for the banks' file to be imported, in its hashed form (no card number is kept); the
    rows it could not read were reported to the maker and are kept for the final report."""
    return propose(
        request,
        kind=CARD_UPLOAD,
        summary=f"بارگذاری فایل کارت‌های بانکی «{file_name}» ({hashed.rows_kept} کارت)",
        payload={
            "file_name": file_name,
            "rows_read": hashed.rows_read,
            "rows_kept": hashed.rows_kept,
            "rejected_rows": [
                [row.line, row.national_code, row.field, row.code, row.message]
                for row in hashed.errors
            ],  # no card number: a row error names the line, the national code and the reason
        },
        attachment_name=f"{file_name} (درهم‌شده)",
        attachment=hashed.text,
    )


def _file_refused(exc: ImportFileError) -> Exception:
    return field_error(field="attachment", message=str(exc), code="import_file_invalid")


def _check_registry_upload(change: ChangeRequest) -> None:
    try:
        check_file(text=change.attachment)
    except ImportFileError as exc:
        raise _file_refused(exc) from exc


def _keep_report(change: ChangeRequest, name: str, rows: list[RowError]) -> ImportReport:
    report = io.StringIO()
    write_error_report(errors=rows, stream=report)  # every cell through safe_cell
    return services.keep_import_report(
        change_request=change, file_name=name, report_csv=report.getvalue(), rows=len(rows)
    )


def _report_link(report: ImportReport, text: str) -> str:
    url = reverse("admin:households_household_import_report", args=[report.change_request_id])
    return format_html('<a href="{}">{}</a>', url, text)


def _apply_registry_upload(change: ChangeRequest, checker: User) -> Applied:
    try:
        result = import_households(stream=io.StringIO(change.attachment, newline=""))
    except ImportFileError as exc:  # a broken row found only now: nothing is applied
        raise _file_refused(exc) from exc
    report = _keep_report(change, "import-errors.csv", result.errors)
    counts = (
        f"{result.rows_read} سطر خوانده شد، {result.rows_applied} سطر اعمال شد، "
        f"{result.rows_rejected} سطر رد شد"
    )
    return Applied(
        result={
            "rows_read": result.rows_read,
            "rows_applied": result.rows_applied,
            "rows_rejected": result.rows_rejected,
            "households_in_file": result.households_in_file,
        },
        message=format_html("{}. {}", counts, _report_link(report, "گزارش سطرهای ردشده (CSV)"))
        if result.errors
        else counts + ".",
    )


def _check_card_upload(change: ChangeRequest) -> None:
    if not change.attachment.startswith(",".join(HASHED_COLUMNS) + "\n"):
        raise field_error(
            field="attachment",
            message="فایل کارت‌ها باید در شکل درهم‌شده ثبت شود",
            code="import_file_invalid",
        )
    if not change.payload.get("rows_kept"):
        raise field_error(
            field="attachment",
            message="هیچ سطر درستی در این فایل نیست",
            code="import_file_empty",
        )


def _apply_card_upload(change: ChangeRequest, checker: User) -> Applied:
    try:
        result = import_hashed_cards(text=change.attachment)
    except ImportFileError as exc:
        raise _file_refused(exc) from exc
    earlier = [RowError(*row) for row in change.payload.get("rejected_rows", [])]
    rows = sorted([*earlier, *result.report_rows()], key=lambda row: row.line)
    report = _keep_report(change, "card-import-report.csv", rows)
    counts = (
        f"{change.payload.get('rows_read', 0)} سطر خوانده شد، {result.rows_applied} سطر اعمال شد، "
        f"{len(earlier) + result.rows_rejected} سطر رد شد، {len(result.moved)} کارت جابه‌جا شد"
    )
    return Applied(
        result={
            "rows_read": change.payload.get("rows_read", 0),
            "rows_rejected_at_request": len(earlier),
            "rows_applied": result.rows_applied,
            "rows_rejected": result.rows_rejected,
            "cards_moved": len(result.moved),
            "cards_changed": result.cards_changed,
        },
        message=format_html(
            "{}. {}", counts, _report_link(report, "گزارش سطرهای ردشده و کارت‌های جابه‌جاشده (CSV)")
        )
        if rows
        else counts + ".",
    )


def _file_link(change: ChangeRequest, text: str) -> str:
    url = reverse("admin:households_household_import_file", args=[change.pk])
    return format_html('<a href="{}">{}</a>', url, text)


def _describe_upload(change: ChangeRequest) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if change.kind == REGISTRY_UPLOAD:
        rows.append(("سطرها", show.number(int(change.payload.get("lines", 0)))))
        rows.append(("فایل", _file_link(change, "دریافت فایل بارگذاری‌شده")))
    else:
        rows += [
            ("نام فایل بانک", str(change.payload.get("file_name", ""))),
            ("سطرهای فایل", show.number(int(change.payload.get("rows_read", 0)))),
            ("سطرهای درست", show.number(int(change.payload.get("rows_kept", 0)))),
            (
                "سطرهای ردشده هنگام بارگذاری",
                show.number(len(change.payload.get("rejected_rows", []))),
            ),
            ("فایل", _file_link(change, "دریافت شکل درهم‌شده (بی‌شماره کارت)")),
        ]
    report = ImportReport.objects.filter(change_request=change).first()
    if report is not None:
        rows.append(
            ("گزارش", _report_link(report, f"دریافت گزارش ({show.number(report.rows)} سطر)"))
        )
    return rows


def pending_notices(target: Model, *kinds: str) -> str:
    """The pending requests of ``kinds`` about ``target``, one line each, for its admin page."""
    notices = [notice for kind in kinds if (notice := pending_notice(target, kind=kind))]
    if not notices:
        return "—"
    return format_html_join("", "<div>{}</div>", ((notice,) for notice in notices))


def register_kinds() -> None:
    """Make the registry's kinds known to ``approvals`` (``HouseholdsConfig.ready``)."""
    for kind in (
        ChangeKind(
            DECILE,
            "تعیین دهک به دست کارشناس",
            _apply_decile,
            check=_check_decile,
            describe=_describe_decile,
        ),
        ChangeKind(
            MOBILE,
            "تغییر شماره همراه",
            _apply_mobile,
            check=_check_mobile,
            describe=_describe_mobile,
        ),
        ChangeKind(
            CARD, "ثبت کارت بانکی برای فرد", _apply_card, check=_check_card, describe=_describe_card
        ),
        ChangeKind(
            REGISTRY_UPLOAD,
            "بارگذاری فایل خانوارها",
            _apply_registry_upload,
            check=_check_registry_upload,
            describe=_describe_upload,
        ),
        ChangeKind(
            CARD_UPLOAD,
            "بارگذاری فایل کارت‌های بانکی",
            _apply_card_upload,
            check=_check_card_upload,
            describe=_describe_upload,
        ),
    ):
        register(kind)
