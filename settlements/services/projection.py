"""What-if of a phase: the monthly cost of a rule before it is enacted, and the actual cost of
the last closed cycle to set it beside.

The model (docs/decisions.md, "What-if of a phase"), in one pass of set-based SQL each:

- **Covered**: every household whose decile on ``day`` (today) lies in one of the bands; its
  credit is the band's amount × its members counted as the credit run counts them (born on or
  before the day) for a per-member basis, × 1 per household.
- **Behaviour** comes from the last closed cycle: for each household charged in it, its basket
  difference ``D`` = Σ (credit + compensation) of its purchases made in that cycle and not
  reversed (a reversal reverses the whole purchase), and whether it bought (``D > 0``). Under the
  rule, it spends ``min(D, credit)`` of its credit, the rest of ``D`` is compensation, and it
  earns the bonus when that spend reaches the threshold (× members on a per-member basis).
- **Households covered now but not charged then** (a newly covered decile, a new household) get
  their decile's average behaviour: the share of its charged households that bought, and the
  mean ``D`` of those who did; a decile with no charged household gets the average of all of them.
  Their expected bonus and compensation are rounded once per decile, half up.
- **No closed cycle**: no behaviour to go by, so bonuses and compensation are 0 (and a note says so).

The actual cost of a cycle is what it really cost: the charges posted in it, the bonuses in force
(``selectors.BONUS_IN_FORCE_SQL``) and the compensation of its purchases net of reversals, by the
decile on the cycle's first day (the one its charge was decided by). The programme figures'
refresh computes it anyway and records it per decile (``CycleCost``); reading those ten rows
instead of the cycle's ledger keeps the what-if within seconds at national size. The projection
groups households by the decile on ``day``.

A purchase belongs to the cycle of its Tehran day (the checkout's ``jalali_month_key(today)``), so
the cycle's purchases are a ``created_at`` range of ``stores_purchase``; a purchase and its
reversal are always entered in the same cycle, so not-reversed purchases are the net.

One module (about 660 lines) on purpose: the model above, its statement and the figures
they fold into are read together; the admin's page and the command only format its results.
"""

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.db import connection
from django.utils import timezone

from households.selectors import DECILES_IN_RANGE_SQL
from kalabarg.lib.errors import field_error
from kalabarg.lib.persian import format_jalali_datetime, to_latin_digits, to_persian_digits
from settlements.models import CreditBasis, Cycle, CycleBasket, CycleCost, CycleStatus
from settlements.services.ledger import charge_period
from settlements.services.rules import BandRule, validate_bands

# Every household id: the decile window over the whole registry in one pass (a what-if is not
# chunked: it writes nothing, and one statement lets PostgreSQL hash-join the four sets).
_ALL_IDS = (0, 2**62)
_BASIS_WORDS = {
    "member": CreditBasis.PER_MEMBER,
    "household": CreditBasis.PER_HOUSEHOLD,
    CreditBasis.PER_MEMBER.value: CreditBasis.PER_MEMBER,
    CreditBasis.PER_HOUSEHOLD.value: CreditBasis.PER_HOUSEHOLD,
}
_NOT_RECORDED = (
    "هزینه واقعی دوره {key} هنوز در آمار برنامه ثبت نشده است (به‌روزرسانی ساعتی آمار، یا "
    "دستور refresh_figures)؛ فقط پیش‌بینی نشان داده می‌شود."
)
_DECILES = re.compile(r"^\s*(\d{1,2})\s*(?:[-–]\s*(\d{1,2})\s*)?$")


@dataclass(frozen=True)
class DecileCost:
    """One decile's figures. ``observed``: households whose own last-cycle behaviour was used
    (charged then); ``estimated``: households given their decile's average behaviour."""

    decile: int | None
    households: int
    members: int
    credit_rial: int
    bonus_rial: int
    compensation_rial: int
    observed: int = 0
    estimated: int = 0

    @property
    def total_rial(self) -> int:
        return self.credit_rial + self.bonus_rial + self.compensation_rial


@dataclass(frozen=True)
class Projection:
    """A month's cost: credit issued, bonuses, inflation compensation, households covered.

    The shape of both a projection (``actual`` False) and a cycle's actual cost (``actual``
    True); ``cycle_key`` is the cycle whose behaviour (or cost) it uses, None when none closed."""

    households: int
    members: int
    credit_rial: int
    bonus_rial: int
    compensation_rial: int
    total_rial: int
    deciles: tuple[DecileCost, ...]
    cycle_key: str | None
    basis: str
    bands: tuple[BandRule, ...]
    day: dt.date
    actual: bool = False
    notes: tuple[str, ...] = field(default=())

    def total_row(self) -> DecileCost:
        """The totals as one row (no decile), to print under the per-decile rows."""
        return DecileCost(
            decile=None,
            households=self.households,
            members=self.members,
            credit_rial=self.credit_rial,
            bonus_rial=self.bonus_rial,
            compensation_rial=self.compensation_rial,
            estimated=sum(row.estimated for row in self.deciles),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON (whole rials as integers): ``--json`` and a request's payload keep this."""
        return {
            "households": self.households,
            "members": self.members,
            "credit_rial": self.credit_rial,
            "bonus_rial": self.bonus_rial,
            "compensation_rial": self.compensation_rial,
            "total_rial": self.total_rial,
            "cycle": self.cycle_key,
            "basis": self.basis,
            "day": self.day.isoformat(),
            "actual": self.actual,
            "bands": [asdict(band) for band in self.bands],
            "deciles": [{**asdict(row), "total_rial": row.total_rial} for row in self.deciles],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Projection":
        """The projection a request recorded, read back as it was (never recomputed)."""
        return cls(
            households=int(data["households"]),
            members=int(data["members"]),
            credit_rial=int(data["credit_rial"]),
            bonus_rial=int(data["bonus_rial"]),
            compensation_rial=int(data["compensation_rial"]),
            total_rial=int(data["total_rial"]),
            deciles=tuple(
                DecileCost(**{k: v for k, v in row.items() if k != "total_rial"})
                for row in data.get("deciles", [])
            ),
            cycle_key=data.get("cycle"),
            basis=str(data.get("basis", "")),
            bands=tuple(BandRule(**band) for band in data.get("bands", [])),
            day=dt.date.fromisoformat(data["day"]),
            actual=bool(data.get("actual")),
            notes=tuple(data.get("notes", [])),
        )


@dataclass(frozen=True)
class WhatIf:
    """A projection and, beside it, the actual cost of the cycle its behaviour came from."""

    projection: Projection
    actual: Projection | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection.as_dict(),
            "actual": self.actual.as_dict() if self.actual is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "WhatIf":
        actual = data.get("actual")
        return cls(
            projection=Projection.from_dict(data["projection"]),
            actual=Projection.from_dict(actual) if actual else None,
        )


# --- Inputs -------------------------------------------------------------------------------------


def parse_deciles(*, text: str) -> tuple[int, int]:
    """``1-6`` → (1, 6), ``4`` → (4, 4); Persian digits too. Refused with the field ``deciles``."""
    match = _DECILES.match(to_latin_digits(str(text or "")))
    if match is None:
        raise field_error(
            field="deciles",
            message="دهک‌ها را به شکل «۱-۶» یا یک دهک مانند «۴» بنویسید",
            code="deciles_invalid",
        )
    low = int(match.group(1))
    high = int(match.group(2) or low)
    _check_deciles(low, high)
    return low, high


def _check_deciles(low: int, high: int) -> None:
    if not (_whole(low) and _whole(high) and 1 <= low <= 10 and 1 <= high <= 10):
        raise field_error(
            field="deciles", message="دهک باید عددی از ۱ تا ۱۰ باشد", code="deciles_out_of_range"
        )
    if low > high:
        raise field_error(
            field="deciles",
            message="دهک آغاز نباید از دهک پایان بزرگ‌تر باشد",
            code="deciles_reversed",
        )


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_basis(*, text: str) -> str:
    """``member`` / ``household`` (or the stored ``per_member`` / ``per_household``)."""
    basis = _BASIS_WORDS.get(str(text or "").strip().lower())
    if basis is None:
        raise field_error(
            field="basis",
            message="مبنا باید «member» (به ازای هر عضو) یا «household» (به ازای هر خانوار) باشد",
            code="basis_invalid",
        )
    return str(basis.value)


def _check_amounts(*, credit_rial: int, threshold_rial: int, bonus_rial: int) -> None:
    for name, amount in (
        ("credit_rial", credit_rial),
        ("threshold_rial", threshold_rial),
        ("bonus_rial", bonus_rial),
    ):
        if not _whole(amount) or amount < 0:
            raise field_error(
                field=name,
                message="مبلغ باید عدد صحیح نامنفی ریال باشد",
                code="amount_invalid",
            )
    if threshold_rial == 0:
        raise field_error(
            field="threshold_rial",
            message="آستانه اعتبار مضاعف باید بیشتر از صفر باشد",
            code="threshold_not_positive",
        )


# --- The projection -----------------------------------------------------------------------------


def last_closed_cycle() -> Cycle | None:
    """The cycle whose purchases the projection goes by: the latest closed one."""
    return (
        Cycle.objects.select_related("phase")
        .filter(status=CycleStatus.CLOSED)
        .order_by("-starts_on")
        .first()
    )


def project_phase(
    *,
    min_decile: int,
    max_decile: int,
    credit_rial: int,
    threshold_rial: int,
    bonus_rial: int,
    basis: str,
    day: dt.date | None = None,
) -> Projection:
    """The projected monthly cost of one band of deciles ``min_decile``..``max_decile`` with these
    amounts (per member or per household, ``basis``), from the registry on ``day`` (today) and
    the last closed cycle's purchases. Refuses bad input with the field at fault."""
    _check_deciles(min_decile, max_decile)
    _check_amounts(credit_rial=credit_rial, threshold_rial=threshold_rial, bonus_rial=bonus_rial)
    band = BandRule(
        min_decile=min_decile,
        max_decile=max_decile,
        credit_per_cycle_rial=credit_rial,
        bonus_threshold_rial=threshold_rial,
        bonus_amount_rial=bonus_rial,
    )
    return project_bands(bands=[band], basis=basis, day=day)


def project_bands(
    *, bands: Sequence[BandRule], basis: str, day: dt.date | None = None
) -> Projection:
    """The projected monthly cost of a phase's bands (summed over them) on ``basis``."""
    return _project(bands=bands, basis=basis, day=day, cycle=last_closed_cycle())


def what_if(*, bands: Sequence[BandRule], basis: str, day: dt.date | None = None) -> WhatIf:
    """The projection of ``bands`` and, beside it, the actual cost of the cycle it went by."""
    cycle = last_closed_cycle()
    projection = _project(bands=bands, basis=basis, day=day, cycle=cycle)
    return WhatIf(
        projection=projection, actual=actual_cost(cycle=cycle) if cycle is not None else None
    )


def actual_beside(*, projected: Projection) -> Projection | None:
    """The actual cost of the cycle whose behaviour ``projected`` went by (None if none)."""
    if projected.cycle_key is None:
        return None
    cycle = Cycle.objects.select_related("phase").filter(key=projected.cycle_key).first()
    return actual_cost(cycle=cycle) if cycle is not None else None


def _project(
    *, bands: Sequence[BandRule], basis: str, day: dt.date | None, cycle: Cycle | None
) -> Projection:
    validate_bands(bands=bands)
    basis = parse_basis(text=basis)
    day = day or timezone.localdate()
    rows = _household_groups(bands=bands, basis=basis, day=day, cycle=cycle)
    return _projection(bands=bands, basis=basis, day=day, cycle=cycle, rows=rows)


def _cycle_bounds(cycle: Cycle) -> tuple[Any, Any]:
    """The cycle's purchases' ``created_at`` range: Tehran midnight of its first day to the
    midnight after its last, adapted for the database."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(cycle.starts_on, dt.time(), tzinfo=zone)
    end = dt.datetime.combine(cycle.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    ops = connection.ops
    return ops.adapt_datetimefield_value(start), ops.adapt_datetimefield_value(end)


def _band_case(bands: Sequence[BandRule], column: str) -> tuple[str, list[int]]:
    """``CASE WHEN decile BETWEEN a AND b THEN amount … ELSE 0 END`` over ``bands``."""
    if not bands:
        return "0", []
    parts, params = [], []
    for band in bands:
        parts.append("WHEN hh.decile BETWEEN %s AND %s THEN %s")
        params += [band.min_decile, band.max_decile, getattr(band, column)]
    return "CASE " + " ".join(parts) + " ELSE 0 END", params


def _covered_case(bands: Sequence[BandRule]) -> tuple[str, list[int]]:
    if not bands:
        return "0", []
    return (
        "CASE WHEN "
        + " OR ".join("hh.decile BETWEEN %s AND %s" for _ in bands)
        + " THEN 1 ELSE 0 END",
        [value for band in bands for value in (band.min_decile, band.max_decile)],
    )


@dataclass(frozen=True)
class _Group:
    """Households of one decile, charged or not in the basis cycle, and (uncharged covered
    only) one factor: counts and sums the projection is assembled from."""

    decile: int | None
    charged: bool
    factor: int
    count: int
    covered: int
    members: int
    credit: int
    buyers: int
    difference: int
    compensation: int
    bonus: int


def _household_groups(
    *, bands: Sequence[BandRule], basis: str, day: dt.date, cycle: Cycle | None
) -> list[_Group]:
    """One statement: every household with a decile on ``day``, its members, whether the basis
    cycle charged it and its basket difference there; the rule applied to each; grouped by
    (decile, charged, factor of the uncharged covered)."""
    params: list[Any] = [*_ALL_IDS, day, day]
    if cycle is not None and CycleBasket.objects.filter(cycle=cycle).exists():
        # Recorded by the figures refresh: one row per charged household, joined by its key.
        behaviour = (
            ", bsk AS (SELECT household_id, difference_rial AS diff FROM settlements_cyclebasket "
            "WHERE cycle_id = %s)"
        )
        params += [cycle.pk]
        charged = "CASE WHEN b.household_id IS NULL THEN 0 ELSE 1 END"
        diff = "COALESCE(b.diff, 0)"
        joins = "LEFT JOIN bsk b ON b.household_id = d.household_id "
    elif cycle is not None:
        # Not recorded yet (the refresh after the closing run has not run): the same figures
        # from the cycle's charges and purchases, which takes longer.
        start, end = _cycle_bounds(cycle)
        behaviour = (
            # A cycle's charges are filed under its month: one partition read.
            ", chg AS (SELECT c.household_id FROM settlements_charge c "
            "WHERE c.cycle_id = %s AND c.period = %s), "
            "bsk AS (SELECT p.household_id, SUM(p.credit_rial + p.compensation_rial) AS diff "
            "FROM stores_purchase p WHERE p.status = 'completed' AND p.created_at >= %s "
            "AND p.created_at < %s GROUP BY p.household_id)"
        )
        params += [cycle.pk, charge_period(cycle=cycle), start, end]
        charged = "CASE WHEN c.household_id IS NULL THEN 0 ELSE 1 END"
        diff = "CASE WHEN c.household_id IS NULL THEN 0 ELSE COALESCE(b.diff, 0) END"
        joins = (
            "LEFT JOIN chg c ON c.household_id = d.household_id "
            "LEFT JOIN bsk b ON b.household_id = d.household_id "
        )
    else:
        behaviour, charged, diff, joins = "", "0", "0", ""
    factor = "hh.members" if basis == CreditBasis.PER_MEMBER else "1"
    covered, covered_params = _covered_case(bands)
    credit, credit_params = _band_case(bands, "credit_per_cycle_rial")
    threshold, threshold_params = _band_case(bands, "bonus_threshold_rial")
    bonus, bonus_params = _band_case(bands, "bonus_amount_rial")
    params += [*covered_params, *credit_params, *threshold_params, *bonus_params]
    # spend = min(D, credit); compensation = D − spend; bonus when spend ≥ threshold.
    spend = "CASE WHEN x.diff < x.credit THEN x.diff ELSE x.credit END"
    sql = (
        f"WITH dec AS (SELECT household_id, decile FROM ({DECILES_IN_RANGE_SQL}) w WHERE w.rn = 1), "
        "mem AS (SELECT household_id, COUNT(*) AS members FROM households_person "
        "WHERE birth_date IS NULL OR birth_date <= %s GROUP BY household_id)"
        f"{behaviour}, "
        f"hh AS (SELECT d.decile, COALESCE(m.members, 0) AS members, {charged} AS charged, "
        f"{diff} AS diff FROM dec d LEFT JOIN mem m ON m.household_id = d.household_id {joins}), "
        f"x AS (SELECT hh.decile, hh.members, hh.charged, hh.diff, {covered} AS covered, "
        f"{factor} AS factor, ({credit}) * {factor} AS credit, ({threshold}) * {factor} AS threshold, "
        f"({bonus}) * {factor} AS bonus FROM hh) "
        "SELECT x.decile, x.charged, CASE WHEN x.charged = 0 AND x.covered = 1 THEN x.factor ELSE 0 END, "
        "COUNT(*), SUM(x.covered), SUM(x.covered * x.members), SUM(x.covered * x.credit), "
        "SUM(CASE WHEN x.diff > 0 THEN 1 ELSE 0 END), SUM(x.diff), "
        f"SUM(CASE WHEN x.covered = 1 AND x.charged = 1 THEN x.diff - ({spend}) ELSE 0 END), "
        f"SUM(CASE WHEN x.covered = 1 AND x.charged = 1 AND ({spend}) >= x.threshold "
        "THEN x.bonus ELSE 0 END) "
        "FROM x GROUP BY 1, 2, 3"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        _Group(
            decile=None if row[0] is None else int(row[0]),
            charged=bool(row[1]),
            factor=int(row[2]),
            count=int(row[3]),
            covered=int(row[4] or 0),
            members=int(row[5] or 0),
            credit=int(row[6] or 0),
            buyers=int(row[7] or 0),
            difference=int(row[8] or 0),
            compensation=int(row[9] or 0),
            bonus=int(row[10] or 0),
        )
        for row in rows
    ]


def _half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for non-negative whole numbers."""
    return (2 * numerator + denominator) // (2 * denominator)


@dataclass
class _Behaviour:
    charged: int = 0
    buyers: int = 0
    difference: int = 0


def _projection(
    *,
    bands: Sequence[BandRule],
    basis: str,
    day: dt.date,
    cycle: Cycle | None,
    rows: list[_Group],
) -> Projection:
    by_decile: dict[int | None, _Behaviour] = {}
    everyone = _Behaviour()
    for row in rows:
        if row.charged:
            seen = by_decile.setdefault(row.decile, _Behaviour())
            for behaviour in (seen, everyone):
                behaviour.charged += row.count
                behaviour.buyers += row.buyers
                behaviour.difference += row.difference
    band_of = {
        decile: band for band in bands for decile in range(band.min_decile, band.max_decile + 1)
    }
    deciles: list[DecileCost] = []
    borrowed: list[int] = []
    for decile in sorted(band_of):
        mine = [row for row in rows if row.decile == decile and row.covered]
        estimated = [row for row in mine if not row.charged]
        own = by_decile.get(decile)
        source = own if own is not None and own.charged else everyone
        if estimated and cycle is not None and source is everyone:
            borrowed.append(decile)
        bonus = sum(row.bonus for row in mine if row.charged)
        compensation = sum(row.compensation for row in mine if row.charged)
        if estimated and source.buyers:
            extra_bonus, extra_compensation = _expected(
                band=band_of[decile], basis=basis, groups=estimated, behaviour=source
            )
            bonus += extra_bonus
            compensation += extra_compensation
        deciles.append(
            DecileCost(
                decile=decile,
                households=sum(row.covered for row in mine),
                members=sum(row.members for row in mine),
                credit_rial=sum(row.credit for row in mine),
                bonus_rial=bonus,
                compensation_rial=compensation,
                observed=sum(row.covered for row in mine if row.charged),
                estimated=sum(row.covered for row in estimated),
            )
        )
    notes = _notes(cycle=cycle, deciles=deciles, borrowed=borrowed, everyone=everyone)
    return _total(
        deciles=deciles, cycle=cycle, basis=basis, bands=bands, day=day, notes=notes, actual=False
    )


def _expected(
    *, band: BandRule, basis: str, groups: list[_Group], behaviour: _Behaviour
) -> tuple[int, int]:
    """Expected bonus and compensation of households with no behaviour of their own: each buys
    with the probability ``buyers / charged`` a basket of the buyers' mean difference; the sums
    are rounded once, half up."""
    mean = _half_up(behaviour.difference, behaviour.buyers)
    bonus = compensation = 0
    for group in groups:
        factor = group.factor if basis == CreditBasis.PER_MEMBER else 1
        credit = band.credit_per_cycle_rial * factor
        spend = min(mean, credit)
        compensation += group.count * (mean - spend)
        if spend >= band.bonus_threshold_rial * factor:
            bonus += group.count * band.bonus_amount_rial * factor
    return (
        _half_up(bonus * behaviour.buyers, behaviour.charged),
        _half_up(compensation * behaviour.buyers, behaviour.charged),
    )


def _notes(
    *,
    cycle: Cycle | None,
    deciles: list[DecileCost],
    borrowed: list[int],
    everyone: _Behaviour,
) -> tuple[str, ...]:
    if cycle is None:
        return (
            "هنوز هیچ دوره‌ای بسته نشده است؛ اعتبار مضاعف و جبران تورم پیش‌بینی نشد (صفر) "
            "و فقط اعتبار کالابرگ برآورد شده است.",
        )
    key = to_persian_digits(cycle.key)
    notes = (
        [] if CycleCost.objects.filter(cycle=cycle).exists() else [_NOT_RECORDED.format(key=key)]
    )
    notes += [
        f"رفتار خرید از دوره بسته {key}: خرید هر خانوار شارژشده (بدون خریدهای برگشتی) "
        "با قاعده تازه دوباره تقسیم شده است؛ فرض بر این است که خانوار همان سبد را می‌خرد."
    ]
    estimated = sum(row.estimated for row in deciles)
    if estimated:
        share = _half_up(100 * everyone.buyers, everyone.charged) if everyone.charged else 0
        notes.append(
            f"{to_persian_digits(estimated)} خانوار مشمول در دوره {key} شارژ نشده بودند؛ "
            "برای آن‌ها میانگین دهکشان به کار رفت (سهم خریداران و میانگین سبد آن‌ها)."
        )
        if borrowed:
            names = "، ".join(to_persian_digits(decile) for decile in borrowed)
            notes.append(
                f"دهک {names} در دوره {key} هیچ خانوار شارژشده‌ای نداشت؛ میانگین همه "
                f"خانوارهای شارژشده به کار رفت ({to_persian_digits(share)}٪ خرید کرده بودند)."
            )
    return tuple(notes)


def _total(
    *,
    deciles: list[DecileCost],
    cycle: Cycle | None,
    basis: str,
    bands: Sequence[BandRule],
    day: dt.date,
    notes: tuple[str, ...],
    actual: bool,
) -> Projection:
    credit = sum(row.credit_rial for row in deciles)
    bonus = sum(row.bonus_rial for row in deciles)
    compensation = sum(row.compensation_rial for row in deciles)
    return Projection(
        households=sum(row.households for row in deciles),
        members=sum(row.members for row in deciles),
        credit_rial=credit,
        bonus_rial=bonus,
        compensation_rial=compensation,
        total_rial=credit + bonus + compensation,
        deciles=tuple(deciles),
        cycle_key=cycle.key if cycle is not None else None,
        basis=basis,
        bands=tuple(bands),
        day=day,
        actual=actual,
        notes=notes,
    )


# --- The actual cost of a cycle -----------------------------------------------------------------


def actual_cost(*, cycle: Cycle) -> Projection | None:
    """What ``cycle`` really cost: credit charged in it, bonuses in force, and the compensation
    of its purchases net of reversals; by the decile on its first day, with members counted as
    its charge counted them. The same shape as a projection, to set beside one.

    Read from the cost the programme figures' refresh recorded (``CycleCost``; ten rows, not a
    scan of the cycle's ledger); None while none is recorded."""
    recorded = list(CycleCost.objects.filter(cycle=cycle).order_by("decile"))
    if not recorded:
        return None
    deciles = [
        DecileCost(
            decile=row.decile or None,
            households=row.households,
            members=row.members,
            credit_rial=row.credit_rial,
            bonus_rial=row.bonus_rial,
            compensation_rial=row.compensation_rial,
            observed=row.households,
        )
        for row in recorded
    ]
    deciles.sort(key=lambda row: (row.decile is None, row.decile or 0))
    phase = cycle.phase
    bands = tuple(
        BandRule(
            min_decile=band.min_decile,
            max_decile=band.max_decile,
            credit_per_cycle_rial=band.credit_per_cycle_rial,
            bonus_threshold_rial=band.bonus_threshold_rial,
            bonus_amount_rial=band.bonus_amount_rial,
            cash_subsidy_rial=band.cash_subsidy_rial,
        )
        for band in phase.bands.order_by("min_decile")
    )
    key = to_persian_digits(cycle.key)
    notes = (
        f"هزینه واقعی دوره {key} با قواعد «{phase.name}»: اعتبار شارژشده، اعتبار مضاعفی که "
        "پس گرفته نشده، و جبران تورم خریدهای برگشت‌نخورده؛ دهک هر خانوار در نخستین روز دوره؛ "
        f"از آمار برنامه به‌روزشده در {format_jalali_datetime(max(row.recorded_at for row in recorded))}.",
    )
    return _total(
        deciles=deciles,
        cycle=cycle,
        basis=phase.basis,
        bands=bands,
        day=cycle.starts_on,
        notes=notes,
        actual=True,
    )
