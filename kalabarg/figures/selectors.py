"""Every read of the programme dashboard and the transparency page, from the summary tables only.

A cycle has at most a few hundred ``CycleFigure`` rows (31 provinces × 11 deciles), a few dozen
``StoreFigure`` rows and ``TOP_STORES`` ``TopStore`` rows, whatever the size of the registry: each
read below is one query over the cycle's rows (the unique constraints' indexes lead with the
cycle), summed in Python. Nothing here touches the purchases, the ledger or the registry.

The derived figures have their one home here (``Figures``):

- *eligible* households: those of the deciles the cycle's phase covers (``CycleFigure.covered``);
- *participation*: households that bought at least once in the cycle ÷ households charged;
- *average basket*: the baskets' value at current prices ÷ purchases;
- *stores paying out*: stores paid for the cycle's sales ÷ stores that sold in it.

Money is whole rials (``int``); an average is rounded once, half up, to the rial. A percentage is
a ``Decimal`` with one decimal place, rounded half up (``62.5``); ``None`` where its denominator is
zero (nothing to divide by is not 0 %).
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef

from kalabarg.figures.models import (
    CycleFigure,
    FiguresRefresh,
    RefreshStatus,
    StoreFigure,
    TopStore,
)
from kalabarg.lib.money import round_rial
from kalabarg.lib.persian import to_persian_digits
from settlements.models import Cycle, CycleStatus

# The public page offers this many of the last closed cycles.
PUBLIC_CYCLES = 3
ONE_PLACE = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """``part`` as a percentage of ``whole``, one decimal place, half up; None when whole is 0."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def average_rial(total_rial: int, count: int) -> int | None:
    """``total_rial`` ÷ ``count``, rounded once, half up, to the rial; None when count is 0."""
    if count <= 0:
        return None
    return round_rial(Decimal(total_rial) / Decimal(count))


# --- The figures of a group of households (a decile, a province, a cell or all) ----------------


@dataclass(frozen=True)
class Figures:
    """Sums over some ``CycleFigure`` rows, and what is derived from them."""

    households: int = 0
    eligible: int = 0  # households of covered deciles
    members: int = 0
    charged: int = 0
    credit_issued_rial: int = 0
    participating: int = 0
    purchases: int = 0
    basket_rial: int = 0
    credit_spent_rial: int = 0
    compensation_rial: int = 0
    bonuses: int = 0
    bonus_rial: int = 0
    sms_sent: int = 0
    sms_failed: int = 0

    @property
    def smallest_count(self) -> int:
        """The smallest count of households these figures publish (covered, charged, buying,
        holding a bonus): a count under 10 makes the line too small to show."""
        return min(self.households, self.charged, self.participating, self.bonuses)

    @property
    def participation_percent(self) -> Decimal | None:
        return percent(self.participating, self.charged)

    @property
    def average_basket_rial(self) -> int | None:
        return average_rial(self.basket_rial, self.purchases)

    def __add__(self, other: "Figures") -> "Figures":
        return Figures(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


SUMMED = [f.name for f in fields(Figures) if f.name != "eligible"]
HOUSEHOLDS = SUMMED.index("households")
HOUSEHOLD_COUNTS = [
    SUMMED.index(name) for name in ("households", "charged", "participating", "bonuses")
]


def _figures(sums: list[int]) -> Figures:
    """``Figures`` from running sums: eligible first, then ``SUMMED``."""
    return Figures(eligible=sums[0], **dict(zip(SUMMED, sums[1:], strict=True)))


def total(figures: Iterable[Figures]) -> Figures:
    return sum(figures, Figures())


@dataclass(frozen=True)
class Line:
    """One line of a table: a decile, a province or the total, with its figures."""

    key: str  # the decile ("0"–"10"), the province's code, or "total"
    label: str
    figures: Figures
    covered: bool | None = None  # a decile's line: whether the cycle's phase covers it


@dataclass(frozen=True)
class Grid:
    """Households of covered deciles per province (rows) and covered decile (columns)."""

    provinces: list[Line] = field(default_factory=list)  # the rows' labels (and their sums)
    deciles: list[int] = field(default_factory=list)
    households: list[list[int]] = field(default_factory=list)
    # Per cell, the smallest count of households it publishes (households, charged, buying,
    # holding a bonus): what small-cell suppression must judge, since each is a count of people.
    smallest: list[list[int]] = field(default_factory=list)


@dataclass(frozen=True)
class CycleFigures:
    """A cycle's figures: all of them, by decile, by province, and the province × decile grid."""

    total: Figures
    by_decile: list[Line]
    by_province: list[Line]
    grid: Grid


def decile_label(decile: int) -> str:
    return f"دهک {to_persian_digits(decile)}" if decile else "بدون دهک"


# --- Refreshes and cycles ----------------------------------------------------------------------


def last_refresh() -> FiguresRefresh | None:
    """The last completed refresh (its moment is what the pages say); None before the first."""
    return (
        FiguresRefresh.objects.filter(status=RefreshStatus.COMPLETED)
        .order_by("-finished_at", "-id")
        .first()
    )


def running_refresh(*, since: dt.datetime) -> FiguresRefresh | None:
    """A refresh started after ``since`` and not finished yet (the dashboard says so)."""
    return (
        FiguresRefresh.objects.filter(status=RefreshStatus.RUNNING, started_at__gte=since)
        .order_by("-started_at")
        .first()
    )


def cycles_with_figures(*, closed_only: bool = False, limit: int | None = None) -> list[Cycle]:
    """Cycles that have figures, newest first (closed ones only for the public page)."""
    cycles = Cycle.objects.filter(Exists(CycleFigure.objects.filter(cycle=OuterRef("pk"))))
    if closed_only:
        cycles = cycles.filter(status=CycleStatus.CLOSED)
    cycles = cycles.order_by("-starts_on")
    return list(cycles[:limit] if limit is not None else cycles)


def public_cycles() -> list[Cycle]:
    """The last ``PUBLIC_CYCLES`` closed cycles with figures: what the transparency page offers."""
    return cycles_with_figures(closed_only=True, limit=PUBLIC_CYCLES)


# --- A cycle's figures -------------------------------------------------------------------------


def cycle_figures(*, cycle: Cycle, covered_only: bool = False) -> CycleFigures:
    """The cycle's figures in one query over its rows. ``covered_only`` keeps the households of
    covered deciles alone (the public page: the programme's households)."""
    rows = CycleFigure.objects.filter(cycle=cycle)
    if covered_only:
        rows = rows.filter(covered=True)
    values = rows.values_list("province__code", "province__name", "decile", "covered", *SUMMED)
    # Running sums as plain lists (in ``FIELDS`` order: eligible, then the summed columns), made
    # into ``Figures`` once at the end: a few hundred rows, summed twice each.
    deciles: dict[int, list[int]] = {}
    covered_deciles: dict[int, bool] = {}
    provinces: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    cells: dict[tuple[str, int], int] = {}
    smallest: dict[tuple[str, int], int] = {}
    for code, name, decile, covered, *numbers in values:
        households = numbers[HOUSEHOLDS]
        row = [households if covered else 0, *numbers]
        for sums in (deciles.setdefault(decile, [0] * len(row)),
                     provinces.setdefault(code, [0] * len(row))):  # fmt: skip
            for index, value in enumerate(row):
                sums[index] += value
        covered_deciles[decile] = covered_deciles.get(decile, False) or covered
        names[code] = name
        if covered:
            cells[(code, decile)] = households
            smallest[(code, decile)] = min(numbers[index] for index in HOUSEHOLD_COUNTS)
    by_decile = [
        Line(
            key=str(decile),
            label=decile_label(decile),
            figures=_figures(deciles[decile]),
            covered=covered_deciles[decile],
        )
        for decile in sorted(deciles)
    ]
    # Provinces in the registry's order (their codes follow the alphabet), the same on every
    # database whatever its collation.
    by_province = [
        Line(key=code, label=names[code], figures=_figures(provinces[code]))
        for code in sorted(provinces)
    ]
    grid_deciles = sorted(decile for decile, covered in covered_deciles.items() if covered)
    grid = Grid(
        provinces=by_province,
        deciles=grid_deciles,
        households=[
            [cells.get((line.key, decile), 0) for decile in grid_deciles] for line in by_province
        ],
        smallest=[
            [smallest.get((line.key, decile), 0) for decile in grid_deciles] for line in by_province
        ],
    )
    return CycleFigures(
        total=total(line.figures for line in by_decile),
        by_decile=by_decile,
        by_province=by_province,
        grid=grid,
    )


# --- Stores ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreCounts:
    connected: int = 0
    selling: int = 0
    paid_out: int = 0
    paid_out_rial: int = 0

    @property
    def paying_out_percent(self) -> Decimal | None:
        """Stores paid for the cycle's sales, of the stores that sold in it."""
        return percent(self.paid_out, self.selling)

    def __add__(self, other: "StoreCounts") -> "StoreCounts":
        return StoreCounts(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


@dataclass(frozen=True)
class StoreLine:
    key: str  # the province's code, or "total"
    label: str
    counts: StoreCounts


@dataclass(frozen=True)
class CycleStores:
    by_province: list[StoreLine]
    total: StoreCounts


def store_figures(*, cycle: Cycle) -> CycleStores:
    """Stores per province in the cycle: connected, selling, paid for it (and how much)."""
    rows = StoreFigure.objects.filter(cycle=cycle).values_list(
        "province__code", "province__name", "connected", "selling", "paid_out", "paid_out_rial"
    )
    lines = [
        StoreLine(
            key=code,
            label=name,
            counts=StoreCounts(
                connected=connected, selling=selling, paid_out=paid_out, paid_out_rial=paid_rial
            ),
        )
        for code, name, connected, selling, paid_out, paid_rial in rows
    ]
    lines.sort(key=lambda line: line.key)
    return CycleStores(by_province=lines, total=sum((x.counts for x in lines), StoreCounts()))


@dataclass(frozen=True)
class TopStoreLine:
    rank: int
    store_id: int
    name: str
    province: str
    city: str
    purchases: int
    basket_rial: int
    owed_rial: int

    @property
    def average_basket_rial(self) -> int | None:
        return average_rial(self.basket_rial, self.purchases)


def top_stores(*, cycle: Cycle) -> list[TopStoreLine]:
    """The cycle's best-selling stores (basket value at current prices), by rank."""
    rows = (
        TopStore.objects.filter(cycle=cycle)
        .order_by("rank")
        .values_list(
            "rank",
            "store_id",
            "store__name",
            "store__province__name",
            "store__city__name",
            "purchases",
            "basket_rial",
            "owed_rial",
        )
    )
    return [TopStoreLine(*row) for row in rows]


def cycle_by_key(cycles: Sequence[Cycle], key: str | None) -> Cycle | None:
    """The cycle of ``cycles`` whose key is ``key``; the first (newest) when ``key`` is empty."""
    if not key:
        return cycles[0] if cycles else None
    return next((cycle for cycle in cycles if cycle.key == key), None)
