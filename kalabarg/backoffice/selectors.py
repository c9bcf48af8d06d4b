"""Every read of the officers' back office: the household 360° page, the purchases list and the
objection queue.

Each read is one set-based statement over an index, with a LIMIT: a household's rows are found
through its own indexes (members, cards, deciles, wallet postings, purchases, entries,
objections, messages), never by scanning a national table, and nothing counts a whole table.
The money rules are composed, not copied: a bonus in force is ``settlements.selectors``'
``BONUS_IN_FORCE_SQL``, a decile on a date ``households.selectors.decile_on``.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import Exact
from django.utils import timezone

from households import selectors as household_selectors
from households.models import BankCard, DecileAssignment, Household, Objection, Person
from notifications.models import SmsCampaign, SmsMessage
from settlements.models import Account, AccountKind, EntryKind, JournalEntry, Posting
from settlements.selectors import BONUS_IN_FORCE_SQL
from stores.models import Purchase, PurchaseLine, Store, Terminal

# How many rows each section of the household page shows (a household has a few dozen at most;
# the purchases list and the ledger page through the rest).
MEMBERS_LIMIT = 30
DECILES_LIMIT = 50
LEDGER_PAGE = 20
PURCHASES_LIMIT = 20
BONUSES_LIMIT = 50
OBJECTIONS_LIMIT = 20
SMS_LIMIT = 30
# A household search by a mobile may match several households; at most this many are listed.
SEARCH_LIMIT = 50
# A store name matching more stores than this asks for a more exact name.
STORE_NAME_MATCHES = 20


# --- Finding a household ------------------------------------------------------------------------


def households_matching(*, term: str) -> list[Household]:
    """Households with a member whose national code or mobile is ``term`` (Persian digits too),
    or whose registry code is ``term``: exact, through the unique and mobile indexes."""
    term = term.strip()
    if not term:
        return []
    ids = set(household_selectors.household_ids_matching(term=term))
    ids.update(Household.objects.filter(registry_code=term).values_list("pk", flat=True)[:1])
    return list(
        Household.objects.filter(pk__in=sorted(ids)[:SEARCH_LIMIT])
        .select_related("province", "city")
        .prefetch_related("members")
        .order_by("pk")
    )


def household(*, household_id: int) -> Household | None:
    return (
        Household.objects.select_related("province", "city")
        .annotate(
            current_decile=household_selectors.decile_on_subquery(on_date=timezone.localdate())
        )
        .filter(pk=household_id)
        .first()
    )


# --- The household's sections -------------------------------------------------------------------


def members(*, household_id: int) -> list[Person]:
    return list(
        Person.objects.filter(household_id=household_id).order_by("-is_head", "birth_date", "id")[
            :MEMBERS_LIMIT
        ]
    )


def cards(*, person_ids: list[int]) -> list[BankCard]:
    """The members' cards (``households_bankcard_person_id``), newest first."""
    return list(
        BankCard.objects.filter(person_id__in=person_ids)
        .select_related("person")
        .order_by("-registered_at", "-id")[: MEMBERS_LIMIT * 4]
    )


def decile_history(*, household_id: int) -> list[DecileAssignment]:
    """The decile history newest first, with who wrote each row (``decile_household_effective_idx``)."""
    return list(household_selectors.decile_history(household_id=household_id)[:DECILES_LIMIT])


def wallet(*, household_id: int) -> Account | None:
    return Account.objects.filter(kind=AccountKind.WALLET, household_id=household_id).first()


@dataclass(frozen=True)
class LedgerPage:
    """One page of a wallet's postings, newest first, each with the wallet's balance after it.

    Keyset paging on the posting id (``posting_account_idx``): ``older_than`` / ``newer_than``
    are the ids the next and previous pages start from (None: there is none)."""

    rows: Sequence[Posting]
    older_than: int | None
    newer_than: int | None


def wallet_ledger(
    *, account_id: int, before: int | None = None, after: int | None = None
) -> LedgerPage:
    """A page of the wallet's postings and their entries: the newest, or those older than
    ``before``, or newer than ``after``. Each row's ``balance_after`` is the wallet's balance less
    every later posting, read in the same statement as the page (one snapshot)."""
    later = (
        Posting.objects.filter(account_id=OuterRef("account_id"), id__gt=OuterRef("id"))
        .values("account_id")
        .annotate(total=Sum("amount_rial"))
        .values("total")
    )
    queryset = (
        Posting.objects.filter(account_id=account_id)
        .select_related("entry", "entry__cycle")
        .annotate(
            balance_after=F("account__balance_rial")
            - Coalesce(Subquery(later), Value(0), output_field=BigIntegerField())
        )
    )
    if after is not None:
        rows = list(queryset.filter(id__gt=after).order_by("id")[: LEDGER_PAGE + 1])
        more_newer = len(rows) > LEDGER_PAGE
        rows = list(reversed(rows[:LEDGER_PAGE]))
        return LedgerPage(
            rows=rows,
            older_than=rows[-1].pk if rows else None,
            newer_than=rows[0].pk if rows and more_newer else None,
        )
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset.order_by("-id")[: LEDGER_PAGE + 1])
    more_older = len(rows) > LEDGER_PAGE
    rows = rows[:LEDGER_PAGE]
    return LedgerPage(
        rows=rows,
        older_than=rows[-1].pk if rows and more_older else None,
        newer_than=rows[0].pk if rows and before is not None else None,
    )


def recent_purchases(*, household_id: int) -> list[Purchase]:
    """The newest purchases (``purchase_household_recent_idx``); one more than shown, so the
    page knows whether to link to the rest."""
    return list(
        Purchase.objects.filter(household_id=household_id)
        .select_related("store", "terminal")
        .order_by("-created_at", "-id")[: PURCHASES_LIMIT + 1]
    )


@dataclass(frozen=True)
class BonusRow:
    entry_id: int
    cycle_key: str | None
    created_at: dt.datetime
    amount_rial: int | None
    in_force: bool
    taken_back_by: int | None


# The household's bonus entries (``entry_household_cycle_one_charge``), each with its wallet posting,
# whether it is in force (the money core's own fragment) and the entry that took it back.
_BONUSES_SQL = f"""
SELECT e.id, c.key, e.created_at,
  (SELECT po.amount_rial FROM settlements_posting po JOIN settlements_account a
     ON a.id = po.account_id AND a.kind = 'wallet' WHERE po.entry_id = e.id),
  CASE WHEN {BONUS_IN_FORCE_SQL} THEN 1 ELSE 0 END,
  (SELECT MIN(r.id) FROM settlements_journalentry r WHERE r.reverses_id = e.id)
FROM settlements_journalentry e
LEFT JOIN settlements_cycle c ON c.id = e.cycle_id
WHERE e.household_id = %s AND e.kind = 'bonus'
ORDER BY e.id DESC
LIMIT %s
"""  # noqa: S608 - composed of constants


def bonuses(*, household_id: int) -> list[BonusRow]:
    """The household's bonuses, newest first: in force, or taken back by a reversal."""
    with connection.cursor() as cursor:
        cursor.execute(_BONUSES_SQL, [household_id, BONUSES_LIMIT])
        rows = cursor.fetchall()
    return [
        BonusRow(
            entry_id=row[0],
            cycle_key=row[1],
            created_at=_aware(row[2]),
            amount_rial=row[3],
            in_force=bool(row[4]),
            taken_back_by=row[5],
        )
        for row in rows
    ]


def objections(*, household_id: int) -> list[Objection]:
    """The household's objections, newest first, with who filed and who decided
    (``objection_household_idx``)."""
    return list(
        Objection.objects.filter(household_id=household_id)
        .select_related("filed_by", "decided_by")
        .order_by("-created_at", "-id")[:OBJECTIONS_LIMIT]
    )


def sms_messages(*, person_ids: list[int]) -> list[SmsMessage]:
    """The messages to these people, newest first: their personal ones through
    ``sms_message_personal_idx``, and their campaign ones through the (campaign, person) unique
    index, probed campaign by campaign (campaigns are a small table; the outbox has no index that
    leads with the person, and a national campaign's insert should not pay for one)."""
    if not person_ids:
        return []
    personal = list(
        SmsMessage.objects.filter(person_id__in=person_ids, campaign__isnull=True)
        .select_related("campaign")
        .order_by("-created_at", "-id")[:SMS_LIMIT]
    )
    campaign_ids = list(SmsCampaign.objects.order_by("-id").values_list("pk", flat=True)[:1000])
    from_campaigns = list(
        SmsMessage.objects.filter(campaign_id__in=campaign_ids, person_id__in=person_ids)
        .select_related("campaign")
        .order_by("-created_at", "-id")[:SMS_LIMIT]
    )
    merged = sorted(personal + from_campaigns, key=lambda m: (m.created_at, m.pk), reverse=True)
    return merged[:SMS_LIMIT]


# --- A purchase --------------------------------------------------------------------------------


def purchase_lines(*, purchase_id: int) -> QuerySet[PurchaseLine]:
    return (
        PurchaseLine.objects.filter(purchase_id=purchase_id)
        .select_related("item")
        .order_by("item__display_order", "item__code")
    )


def purchase_entries(*, purchase_id: int) -> list[JournalEntry]:
    """The purchase's ledger entry and its reversal (``entry_purchase_idx``)."""
    return list(
        JournalEntry.objects.filter(
            purchase_id=purchase_id, kind__in=[EntryKind.PURCHASE, EntryKind.REVERSAL]
        ).order_by("id")[:10]
    )


# --- The purchases list's searches -------------------------------------------------------------


def stores_named(*, text: str) -> list[int]:
    """Ids of the stores whose name contains ``text`` (at most ``STORE_NAME_MATCHES`` + 1, so the
    caller knows when there are too many). The stores table is small next to the purchases."""
    return list(
        Store.objects.filter(name__icontains=text)
        .order_by("id")
        .values_list("pk", flat=True)[: STORE_NAME_MATCHES + 1]
    )


def terminal_pk(*, terminal_id: str) -> int | None:
    return Terminal.objects.filter(terminal_id=terminal_id).values_list("pk", flat=True).first()


def purchases_condition(
    *,
    store_ids: list[int] | None = None,
    terminal_pks: list[int] | None = None,
    card_bin: str = "",
    card_last4: str = "",
    household_ids: list[int] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Q:
    """The purchases list's search as one condition; each criterion leads an index of
    ``stores_purchase`` (store, terminal, card's last four, household, each with the time), so
    the list reads one index range, newest first."""
    condition = Q()
    if store_ids is not None:
        condition &= Q(store_id__in=store_ids)
    if terminal_pks is not None:
        condition &= Q(terminal_id__in=terminal_pks)
    if card_last4:
        condition &= Q(card_last4=card_last4)
    if card_bin:
        condition &= Q(card_bin=card_bin)
    if household_ids is not None:
        condition &= Q(household_id__in=household_ids)
    if since is not None:
        condition &= Q(created_at__gte=since)
    if until is not None:
        condition &= Q(created_at__lt=until)
    return condition


# --- The objection queue -----------------------------------------------------------------------


def in_province(*, province_id: int) -> Exact:
    """Objections of households in the province, as a per-row look-up of each objection's
    household by its primary key (a scalar subquery PostgreSQL never turns into a join): the
    queue reads a few thousand objections, while a join would read every household of the
    province (hundreds of thousands in Tehran) to count them."""
    province_of = Subquery(
        Household.objects.filter(pk=OuterRef("household_id")).values("province_id")[:1]
    )
    return Exact(province_of, province_id)


def objection_queue_ordering(*, open_only: bool) -> list[str]:
    """Open objections oldest first (``objection_open_idx``); otherwise newest filed first, by id
    (the primary key's order is the filing order, and no index of every objection by time is
    kept: a decided list joined to the households must not sort them all)."""
    return ["created_at", "id"] if open_only else ["-id"]


def _aware(value: Any) -> dt.datetime:
    """A raw query's timestamp as an aware datetime (SQLite hands back text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt.UTC)
    return value
