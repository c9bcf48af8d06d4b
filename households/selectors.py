"""Reads of the registry used by views, APIs, admin and tasks."""

import contextlib
import datetime as dt

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery

from households.models import BankCard, DecileAssignment, Household, Person
from kalabarg.lib.identifiers import (
    IdentifierError,
    card_hash,
    normalize_mobile,
    normalize_national_code,
)


def decile_assignment_on(*, household_id: int, on_date: dt.date) -> DecileAssignment | None:
    """The decile assignment in force on ``on_date`` (latest effective_from ≤ date, ties to the later row)."""
    return (
        DecileAssignment.objects.filter(household_id=household_id, effective_from__lte=on_date)
        .order_by("-effective_from", "-id")
        .first()
    )


# The same rule in SQL, for set-based runs and the checkout's one-statement read: the latest row
# not after the date, ties to the later row (the order of ``decile_assignment_on``; index
# decile_household_effective_idx).
def decile_on_sql(*, household: str, on_date: str) -> str:
    """A correlated subquery: the decile of the household ``household`` (an SQL expression) on
    ``on_date`` (an SQL expression or placeholder)."""
    return (
        f"(SELECT dd.decile FROM households_decileassignment dd WHERE dd.household_id = {household} "
        f"AND dd.effective_from <= {on_date} "
        "ORDER BY dd.effective_from DESC, dd.id DESC LIMIT 1)"
    )


# Every household of an id range with its decile on a date (``rn = 1``); parameters: low, high,
# the date. For chunks of national runs, where one window pass beats a subquery per household.
DECILES_IN_RANGE_SQL = (
    "SELECT household_id, decile, ROW_NUMBER() OVER (PARTITION BY household_id "
    "ORDER BY effective_from DESC, id DESC) "
    "AS rn FROM households_decileassignment "
    "WHERE household_id >= %s AND household_id < %s AND effective_from <= %s"
)


def decile_on(*, household_id: int, on_date: dt.date) -> int | None:
    assignment = decile_assignment_on(household_id=household_id, on_date=on_date)
    return assignment.decile if assignment else None


def decile_on_subquery(*, on_date: dt.date, household_ref: str = "pk") -> Subquery:
    """A correlated subquery giving each household's decile on ``on_date`` (for annotations)."""
    return Subquery(
        DecileAssignment.objects.filter(
            household_id=OuterRef(household_ref), effective_from__lte=on_date
        )
        .order_by("-effective_from", "-id")
        .values("decile")[:1]
    )


def decile_history(*, household_id: int) -> QuerySet[DecileAssignment]:
    return (
        DecileAssignment.objects.filter(household_id=household_id)
        .select_related("created_by")
        .order_by("-effective_from", "-id")
    )


def household_head(*, household_id: int) -> Person | None:
    return Person.objects.filter(household_id=household_id, is_head=True).first()


def person_by_national_code(*, national_code: str) -> Person | None:
    try:
        code = normalize_national_code(national_code)
    except IdentifierError:
        return None
    return Person.objects.select_related("household").filter(national_code=code).first()


def card_by_number(*, card_number: str) -> BankCard | None:
    """The registered card with this full number (looked up by its keyed hash), active or closed:
    the caller decides what a closed card may do (the till refuses it, see ``card_closed``)."""
    return (
        BankCard.objects.select_related("person__household")
        .filter(card_hash=card_hash(card_number, key=settings.CARD_HASH_KEY))
        .first()
    )


def household_ids_matching(*, term: str) -> list[int]:
    """Households with a member whose national code or mobile is ``term`` (exact, indexed)."""
    ids: set[int] = set()
    # A term is tried as each kind of identifier; one that is not that kind simply matches nothing.
    with contextlib.suppress(IdentifierError):
        code = normalize_national_code(term)
        ids.update(Person.objects.filter(national_code=code).values_list("household_id", flat=True))
    with contextlib.suppress(IdentifierError):
        mobile = normalize_mobile(term)
        ids.update(
            Person.objects.filter(mobile=mobile).values_list("household_id", flat=True)[:100]
        )
    return sorted(ids)


def households_with_members(*, household_ids: list[int]) -> QuerySet[Household]:
    return (
        Household.objects.filter(pk__in=household_ids)
        .select_related("province", "city")
        .prefetch_related("members")
    )
