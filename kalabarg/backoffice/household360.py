"""The household 360° page's sections, as the officer reads them: every row formatted once here
(Persian digits, rials, Jalali times, masked codes, links onward) from ``selectors``' reads.

The 360° page shows every section; an objection's decision page shows the essential ones
(``DECISION_SECTIONS``) beside its form. Nothing here queries the database but the selectors.
"""

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from households.models import BankCard, DecileAssignment, Household, Objection, Person
from kalabarg.backoffice import selectors
from kalabarg.lib import admin_display as show
from kalabarg.lib.identifiers import mask_card, mask_mobile, mask_national_code
from kalabarg.lib.persian import to_persian_digits
from notifications.models import SmsMessage
from settlements.models import Posting
from stores.models import PaymentMethod, Purchase, PurchaseStatus

ALL_SECTIONS = frozenset(
    {"members", "cards", "deciles", "wallet", "purchases", "bonuses", "objections", "sms"}
)
DECISION_SECTIONS = frozenset({"members", "deciles", "wallet", "purchases"})


def household_url(household_id: int, **params: Any) -> str:
    url = reverse("backoffice:household", args=[household_id])
    return f"{url}?{urlencode(params)}" if params else url


def purchases_url(household_id: int) -> str:
    return f"{reverse('admin:stores_purchase_changelist')}?{urlencode({'household': household_id})}"


def _link(url_name: str, pk: int, text: str) -> SafeString:
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[pk]), text)


def entry_link(entry_id: int | None) -> str:
    if entry_id is None:
        return "—"
    return _link(
        "admin:settlements_journalentry_change", entry_id, f"#{to_persian_digits(entry_id)}"
    )


def purchase_link(purchase_id: int) -> SafeString:
    return _link("admin:stores_purchase_change", purchase_id, f"#{to_persian_digits(purchase_id)}")


def card_text(purchase: Purchase) -> str:
    """The card paid with, masked (BIN and last four), or how else it was paid."""
    if purchase.paid_with == PaymentMethod.CARD and purchase.card_last4:
        return mask_card(purchase.card_bin or "??????", purchase.card_last4)
    return purchase.get_paid_with_display()


def purchase_status(purchase: Purchase) -> str:
    if purchase.status == PurchaseStatus.REVERSED:
        return f"{purchase.get_status_display()} ({show.when(purchase.reversed_at)})"
    return purchase.get_status_display()


@dataclass
class Sections:
    """What the template shows; a section left out is None."""

    household: Household
    head: Person | None = None
    current_decile: str = "—"
    members: list[dict[str, Any]] | None = None
    cards: list[dict[str, Any]] | None = None
    deciles: list[dict[str, Any]] | None = None
    wallet: dict[str, Any] | None = None
    purchases: dict[str, Any] | None = None
    bonuses: list[dict[str, Any]] | None = None
    objections: list[dict[str, Any]] | None = None
    sms: list[dict[str, Any]] | None = None
    full_page_url: str = ""
    notes: list[str] = field(default_factory=list)


def household_sections(
    *,
    household: Household,
    sections: frozenset[str] = ALL_SECTIONS,
    ledger_before: int | None = None,
    ledger_after: int | None = None,
) -> Sections:
    """The sections of ``household`` named in ``sections`` (``household`` as read by
    ``selectors.household``, with its current decile)."""
    people = selectors.members(household_id=household.pk)
    decile = getattr(household, "current_decile", None)
    shown = Sections(
        household=household,
        head=next((p for p in people if p.is_head), None),
        current_decile=to_persian_digits(decile) if decile else "—",
        full_page_url=household_url(household.pk),
    )
    if "members" in sections:
        shown.members = [_member(person) for person in people]
    if "cards" in sections:
        shown.cards = [_card(card) for card in selectors.cards(person_ids=[p.pk for p in people])]
    if "deciles" in sections:
        shown.deciles = [
            _decile(row) for row in selectors.decile_history(household_id=household.pk)
        ]
    if "wallet" in sections:
        shown.wallet = _wallet(household, before=ledger_before, after=ledger_after)
    if "purchases" in sections:
        found = selectors.recent_purchases(household_id=household.pk)
        shown.purchases = {
            "rows": [_purchase(p) for p in found[: selectors.PURCHASES_LIMIT]],
            "more": len(found) > selectors.PURCHASES_LIMIT,
            "all_url": purchases_url(household.pk),
        }
    if "bonuses" in sections:
        shown.bonuses = [_bonus(row) for row in selectors.bonuses(household_id=household.pk)]
    if "objections" in sections:
        shown.objections = [_objection(o) for o in selectors.objections(household_id=household.pk)]
    if "sms" in sections:
        shown.sms = [_sms(m) for m in selectors.sms_messages(person_ids=[p.pk for p in people])]
    return shown


def _member(person: Person) -> dict[str, Any]:
    return {
        "name": _link("admin:households_person_change", person.pk, person.full_name),
        "relation": person.get_relation_display(),
        "national_code": mask_national_code(person.national_code),
        "birth_date": show.day(person.birth_date),
        "mobile": mask_mobile(person.mobile) if person.mobile else "—",
        "is_head": person.is_head,
    }


def _card(card: BankCard) -> dict[str, Any]:
    return {
        "number": card.masked,
        "bank": card.bank,
        "status": card.get_status_display(),
        "holder": card.person.full_name,
        "registered_at": show.when(card.registered_at),
    }


def _decile(row: DecileAssignment) -> dict[str, Any]:
    return {
        "decile": to_persian_digits(row.decile),
        "effective_from": show.day(row.effective_from),
        "source": row.get_source_display(),
        "reason": row.reason or "—",
        "author": row.created_by.get_username() if row.created_by else "—",
        "created_at": show.when(row.created_at),
    }


def _wallet(household: Household, *, before: int | None, after: int | None) -> dict[str, Any]:
    account = selectors.wallet(household_id=household.pk)
    if account is None:
        return {"account": None}
    page = selectors.wallet_ledger(account_id=account.pk, before=before, after=after)
    return {
        "account": _link("admin:settlements_account_change", account.pk, "حساب کیف اعتبار"),
        "balance": show.rial(account.balance_rial),
        "rows": [_posting(posting) for posting in page.rows],
        "older_url": household_url(household.pk, ledger_before=page.older_than)
        if page.older_than
        else "",
        "newer_url": household_url(household.pk, ledger_after=page.newer_than)
        if page.newer_than
        else "",
        "newest_url": household_url(household.pk) if page.newer_than else "",
    }


def _posting(posting: Posting) -> dict[str, Any]:
    entry = posting.entry
    return {
        "entry": entry_link(entry.pk),
        "kind": entry.get_kind_display(),
        "cycle": to_persian_digits(entry.cycle.key) if entry.cycle_id and entry.cycle else "—",
        "memo": entry.memo or "—",
        "created_at": show.when(entry.created_at),
        "amount": show.rial(posting.amount_rial),
        "balance_after": show.rial(getattr(posting, "balance_after", None)),
        "purchase": purchase_link(entry.purchase_id) if entry.purchase_id else "—",
    }


def _purchase(purchase: Purchase) -> dict[str, Any]:
    return {
        "number": purchase_link(purchase.pk),
        "created_at": show.when(purchase.created_at),
        "store": purchase.store.name,
        "terminal": to_persian_digits(purchase.terminal.terminal_id),
        "card": card_text(purchase),
        "base_total": show.rial(purchase.base_total_rial),
        "current_total": show.rial(purchase.current_total_rial),
        "cash": show.rial(purchase.cash_rial),
        "credit": show.rial(purchase.credit_rial),
        "compensation": show.rial(purchase.compensation_rial),
        "status": purchase_status(purchase),
        "reversed": purchase.status == PurchaseStatus.REVERSED,
    }


def _bonus(row: selectors.BonusRow) -> dict[str, Any]:
    return {
        "entry": entry_link(row.entry_id),
        "cycle": to_persian_digits(row.cycle_key) if row.cycle_key else "—",
        "created_at": show.when(row.created_at),
        "amount": show.rial(row.amount_rial),
        "state": "برقرار" if row.in_force else "پس گرفته شد",
        "taken_back_by": entry_link(row.taken_back_by) if row.taken_back_by else "—",
    }


def _objection(objection: Objection) -> dict[str, Any]:
    decision = "—"
    if objection.new_decile:
        decision = format_html(
            "دهک {} از {}",
            to_persian_digits(objection.new_decile),
            show.day(objection.new_decile_from),
        )
    return {
        "number": _link(
            "admin:households_objection_change", objection.pk, f"#{to_persian_digits(objection.pk)}"
        ),
        "created_at": show.when(objection.created_at),
        "category": objection.get_category_display(),
        "filed_by": objection.filed_by.full_name,
        "decile_at_filing": to_persian_digits(objection.decile_at_filing)
        if objection.decile_at_filing
        else "—",
        "status": objection.get_status_display(),
        "decision": decision,
        "reason": objection.decision_reason or "—",
        "decided_by": objection.decided_by.get_username() if objection.decided_by else "—",
        "decided_at": show.when(objection.decided_at),
    }


def _sms(message: SmsMessage) -> dict[str, Any]:
    return {
        "number": _link(
            "admin:notifications_smsmessage_change", message.pk, to_persian_digits(message.pk)
        ),
        "kind": message.get_kind_display(),
        "mobile": mask_mobile(message.mobile),
        "status": message.get_status_display(),
        "created_at": show.when(message.created_at),
        "sent_at": show.when(message.sent_at),
        "body": message.body,
        "campaign": str(message.campaign) if message.campaign_id and message.campaign else "—",
    }
