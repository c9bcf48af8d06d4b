"""Programme rules as data: which phase and band apply to a household on a date, and cycles."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import jdatetime
from django.db import IntegrityError, transaction

from households.selectors import decile_on
from kalabarg.lib.errors import field_error
from kalabarg.lib.persian import normalize_text, to_latin_digits, to_persian_digits
from settlements.models import (
    CreditBasis,
    Cycle,
    CycleStatus,
    JournalEntry,
    Phase,
    PhaseBand,
    UnspentPolicy,
)


def phase_on(*, day: dt.date, prefetch_bands: bool = False) -> Phase | None:
    """The phase in force on ``day``: the latest one started on or before it, unless that one has
    ended (then none: a phase that starts later supersedes an earlier one even if the earlier one
    has no end date). The one home of this rule; ``prefetch_bands`` reads its bands with it."""
    phases = Phase.objects.filter(starts_on__lte=day).order_by("-starts_on")
    if prefetch_bands:
        phases = phases.prefetch_related("bands")
    phase = phases.first()
    if phase is None or (phase.ends_on is not None and phase.ends_on < day):
        return None
    return phase


def band_for(*, phase: Phase, decile: int | None) -> PhaseBand | None:
    if decile is None:
        return None
    # A phase's bands are read once per phase object (a checkout asks several times).
    bands = phase.__dict__.get("_bands")
    if bands is None:
        bands = phase.__dict__["_bands"] = list(phase.bands.all())
    return next((band for band in bands if band.min_decile <= decile <= band.max_decile), None)


def members_on(*, household_id: int, day: dt.date) -> int:
    """Members counted for per-member amounts: current members born on or before ``day``.

    The registry keeps no membership history, so a member who joined later is counted from
    their birth; see docs/decisions.md."""
    from django.db.models import Q

    from households.models import Person

    return (
        Person.objects.filter(household_id=household_id)
        .filter(Q(birth_date__isnull=True) | Q(birth_date__lte=day))
        .count()
    )


@dataclass(frozen=True)
class Entitlement:
    """What a household is entitled to in a cycle, with the rule that says so."""

    phase: Phase
    band: PhaseBand
    decile: int
    members: int
    credit_rial: int
    bonus_threshold_rial: int
    bonus_rial: int
    cash_subsidy_rial: int


def entitlement(
    *,
    household_id: int,
    cycle: Cycle,
    decile_on_start: int | None = None,
    as_of: dt.date | None = None,
) -> Entitlement | None:
    """The household's amounts for ``cycle``, under the cycle's phase: by its decile on the cycle's
    first day or, when that one is not covered, by its decile on ``as_of`` (a later day of the
    cycle: a household covered during it is charged then, ``services.coverage``).

    ``decile_on_start`` spares the look-up when the caller already knows that decile."""
    decile = (
        decile_on_start
        if decile_on_start is not None
        else decile_on(household_id=household_id, on_date=cycle.starts_on)
    )
    band = band_for(phase=cycle.phase, decile=decile)
    if band is None and as_of is not None and as_of > cycle.starts_on:
        decile = decile_on(household_id=household_id, on_date=min(as_of, cycle.ends_on))
        band = band_for(phase=cycle.phase, decile=decile)
    if band is None or decile is None:
        return None
    members = members_on(household_id=household_id, day=cycle.starts_on)
    factor = members if cycle.phase.basis == CreditBasis.PER_MEMBER else 1
    return Entitlement(
        phase=cycle.phase,
        band=band,
        decile=decile,
        members=members,
        credit_rial=band.credit_per_cycle_rial * factor,
        bonus_threshold_rial=band.bonus_threshold_rial * factor,
        bonus_rial=band.bonus_amount_rial * factor,
        cash_subsidy_rial=band.cash_subsidy_rial * factor,
    )


def jalali_month_bounds(*, key: str) -> tuple[dt.date, dt.date]:
    """``1402-06`` → (2023-08-23, 2023-09-22): the Gregorian first and last day of that Jalali month."""
    try:
        year_text, month_text = to_latin_digits(key).strip().split("-")
        year, month = int(year_text), int(month_text)
        if not 1300 <= year <= 1499:
            raise ValueError(year)
        first = jdatetime.date(year, month, 1)
    except (ValueError, TypeError) as exc:
        raise field_error(
            field="cycle", message="دوره باید به شکل ۱۴۰۲-۰۶ باشد", code="cycle_key_invalid"
        ) from exc
    following = (
        jdatetime.date(year + 1, 1, 1) if month == 12 else jdatetime.date(year, month + 1, 1)
    )
    return first.togregorian(), following.togregorian() - dt.timedelta(days=1)


def ensure_cycle(*, key: str) -> Cycle:
    """The cycle for Jalali month ``key``, created (planned) under the phase in force on its first day."""
    starts_on, ends_on = jalali_month_bounds(key=key)
    year_text, month_text = to_latin_digits(key).strip().split("-")
    key = f"{int(year_text):04d}-{int(month_text):02d}"
    existing = Cycle.objects.filter(key=key).select_related("phase").first()
    if existing:
        return existing
    phase = phase_on(day=starts_on)
    if phase is None:
        raise field_error(
            field="cycle",
            message="در این ماه هیچ مرحله‌ای از طرح فعال نیست",
            code="no_phase_for_cycle",
        )
    try:
        with transaction.atomic():
            return Cycle.objects.create(
                key=key,
                starts_on=starts_on,
                ends_on=ends_on,
                phase=phase,
                status=CycleStatus.PLANNED,
            )
    except IntegrityError:
        return Cycle.objects.select_related("phase").get(key=key)


def cycle_on(*, day: dt.date) -> Cycle | None:
    return (
        Cycle.objects.select_related("phase").filter(starts_on__lte=day, ends_on__gte=day).first()
    )


def phase_has_moved_money(*, phase: Phase) -> bool:
    """A phase that money moved under is pinned: change it by a new phase from a date."""
    return phase.pk is not None and JournalEntry.objects.filter(phase=phase).exists()


# --- Writing a phase and its bands (four-eyes: on approval of a ``phase`` request) ---------------

PHASE_PINNED = (
    "پس از جابه‌جایی پول با قواعد این مرحله، تغییر آن ممکن نیست؛ مرحله تازه‌ای از تاریخ دیگری بسازید"
)


@dataclass(frozen=True)
class BandRule:
    """The amounts of a phase for deciles ``min_decile``..``max_decile`` (whole rials)."""

    min_decile: int
    max_decile: int
    credit_per_cycle_rial: int
    bonus_threshold_rial: int
    bonus_amount_rial: int
    cash_subsidy_rial: int = 0


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_bands(*, bands: Sequence[BandRule]) -> None:
    """Deciles 1..10, low before high, whole non-negative amounts, a threshold above zero, and no
    decile in two bands (a household's rule must be one band)."""
    taken: list[BandRule] = []
    for band in bands:
        if not all(_whole(value) for value in (band.min_decile, band.max_decile)) or not (
            1 <= band.min_decile <= 10 and 1 <= band.max_decile <= 10
        ):
            raise field_error(
                field="bands", message="دهک باید عددی از ۱ تا ۱۰ باشد", code="decile_out_of_range"
            )
        if band.min_decile > band.max_decile:
            raise field_error(
                field="bands",
                message="«تا دهک» نباید از «از دهک» کوچک‌تر باشد",
                code="band_deciles_reversed",
            )
        amounts = (
            band.credit_per_cycle_rial,
            band.bonus_threshold_rial,
            band.bonus_amount_rial,
            band.cash_subsidy_rial,
        )
        if not all(_whole(amount) and amount >= 0 for amount in amounts):
            raise field_error(
                field="bands",
                message="مبلغ باید عدد صحیح نامنفی ریال باشد",
                code="band_amount_invalid",
            )
        if band.bonus_threshold_rial <= 0:
            raise field_error(
                field="bands",
                message="آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
                code="band_threshold_not_positive",
            )
        clash = next(
            (
                other
                for other in taken
                if band.min_decile <= other.max_decile and other.min_decile <= band.max_decile
            ),
            None,
        )
        if clash is not None:
            raise field_error(
                field="bands",
                message=(
                    f"بازه دهک {to_persian_digits(band.min_decile)} تا "
                    f"{to_persian_digits(band.max_decile)} با بازه دهک "
                    f"{to_persian_digits(clash.min_decile)} تا {to_persian_digits(clash.max_decile)} "
                    "هم‌پوشانی دارد؛ هر دهک فقط در یک بازه باشد"
                ),
                code="band_overlap",
            )
        taken.append(band)


def validate_phase(
    *,
    phase: Phase | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    basis: str,
    unspent_policy: str,
    min_distinct_items: int,
    bands: Sequence[BandRule],
) -> None:
    """Every rule of ``save_phase`` without the write (asked again when it writes): a phase that
    money moved under is not changed, dates in order, one phase per start date, sane bands."""
    if phase is not None and phase_has_moved_money(phase=phase):
        raise field_error(field="phase", message=PHASE_PINNED, code="phase_pinned")
    if not normalize_text(name):
        raise field_error(field="name", message="نام مرحله را وارد کنید", code="name_required")
    if ends_on is not None and ends_on < starts_on:
        raise field_error(
            field="ends_on",
            message="پایان مرحله نباید پیش از آغاز آن باشد",
            code="phase_ends_before_start",
        )
    others = Phase.objects.filter(starts_on=starts_on)
    if phase is not None:
        others = others.exclude(pk=phase.pk)
    other = others.first()
    if other is not None:
        raise field_error(
            field="starts_on",
            message=f"مرحله «{other.name}» از همین تاریخ آغاز می‌شود؛ تاریخ دیگری برگزینید",
            code="phase_start_taken",
        )
    if basis not in CreditBasis.values:
        raise field_error(field="basis", message="مبنای اعتبار معتبر نیست", code="basis_invalid")
    if unspent_policy not in UnspentPolicy.values:
        raise field_error(
            field="unspent_policy",
            message="سیاست اعتبار خرج‌نشده معتبر نیست",
            code="unspent_policy_invalid",
        )
    if not _whole(min_distinct_items) or not 0 <= min_distinct_items <= 32767:
        raise field_error(
            field="min_distinct_items",
            message="حداقل تعداد اقلام باید عدد صحیح نامنفی باشد",
            code="min_distinct_items_invalid",
        )
    validate_bands(bands=bands)


@transaction.atomic
def save_phase(
    *,
    phase: Phase | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    basis: str,
    unspent_policy: str,
    min_distinct_items: int,
    bands: Sequence[BandRule],
) -> Phase:
    """Create a phase (``phase`` None) or rewrite one that no money moved under, with exactly
    ``bands`` as its bands, in one transaction. Four-eyes: the admin records a ``phase`` request
    (``settlements.approvals``) and this runs when a second officer approves it."""
    if phase is not None:
        phase = Phase.objects.select_for_update().get(pk=phase.pk)
    validate_phase(
        phase=phase,
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        basis=basis,
        unspent_policy=unspent_policy,
        min_distinct_items=min_distinct_items,
        bands=bands,
    )
    phase = phase or Phase()
    phase.name = normalize_text(name)
    phase.starts_on = starts_on
    phase.ends_on = ends_on
    phase.basis = basis
    phase.unspent_policy = unspent_policy
    phase.min_distinct_items = min_distinct_items
    try:
        with transaction.atomic():
            phase.save()
    except IntegrityError:  # another phase took the start date since the check
        raise field_error(
            field="starts_on",
            message="مرحله دیگری از همین تاریخ آغاز می‌شود؛ تاریخ دیگری برگزینید",
            code="phase_start_taken",
        ) from None
    phase.bands.all().delete()
    PhaseBand.objects.bulk_create(
        PhaseBand(
            phase=phase,
            min_decile=band.min_decile,
            max_decile=band.max_decile,
            credit_per_cycle_rial=band.credit_per_cycle_rial,
            bonus_threshold_rial=band.bonus_threshold_rial,
            bonus_amount_rial=band.bonus_amount_rial,
            cash_subsidy_rial=band.cash_subsidy_rial,
        )
        for band in sorted(bands, key=lambda band: band.min_decile)
    )
    return phase


def validate_phase_deletion(*, phase: Phase) -> None:
    """A phase goes only while nothing refers to it: no money moved under it and no cycle."""
    if phase_has_moved_money(phase=phase):
        raise field_error(field="phase", message=PHASE_PINNED, code="phase_pinned")
    if phase.cycles.exists() or phase.runs.exists():
        raise field_error(
            field="phase",
            message="دوره‌ای با قواعد این مرحله ساخته شده است؛ این مرحله حذف نمی‌شود",
            code="phase_has_cycles",
        )


@transaction.atomic
def delete_phase(*, phase: Phase) -> None:
    """Delete a phase and its bands that nothing refers to yet (four-eyes, as ``save_phase``)."""
    phase = Phase.objects.select_for_update().get(pk=phase.pk)
    validate_phase_deletion(phase=phase)
    phase.delete()
