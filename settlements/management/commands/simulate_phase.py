"""``manage.py simulate_phase --deciles 1-6 --credit-rial 2000000 --threshold-rial 2000000
--bonus-rial 1200000 --basis member [--json]``: what a rule would cost a month, before it is
enacted, next to what the last closed cycle actually cost (``settlements.services.projection``)."""

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from kalabarg.lib.money import RIALS_PER_TOMAN
from kalabarg.lib.persian import to_latin_digits
from settlements.services import projection
from settlements.services.projection import DecileCost, Projection


def _refusal(error: ValidationError) -> str:
    """``credit_rial: <message> [code]`` for each refused field."""
    if not hasattr(error, "error_dict"):
        return "; ".join(error.messages)
    return "; ".join(
        f"{field}: {item.message} [{item.code}]"
        for field, items in error.error_dict.items()
        for item in items
    )


def _whole(text: str, field: str) -> int:
    """A whole number of rials as typed (Persian digits and thousands separators allowed)."""
    cleaned = to_latin_digits(text).replace(",", "").replace("٬", "").replace("_", "").strip()
    if not cleaned.lstrip("-").isdigit():
        raise CommandError(f"{field}: مبلغ باید عدد صحیح ریال باشد [amount_invalid]")
    return int(cleaned)


def _money(rial: int) -> str:
    return f"{rial // RIALS_PER_TOMAN:,}" + (f".{rial % RIALS_PER_TOMAN}" if rial % 10 else "")


class Command(BaseCommand):
    help = (
        "Project the monthly cost of a rule (credit, expected bonuses and inflation compensation, "
        "households covered) from today's registry and the last closed cycle's purchases."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deciles", required=True, help="a range, e.g. 1-6, or one decile")
        parser.add_argument("--credit-rial", required=True, help="credit per cycle, rial")
        parser.add_argument("--threshold-rial", required=True, help="bonus threshold, rial")
        parser.add_argument("--bonus-rial", required=True, help="bonus amount, rial")
        parser.add_argument("--basis", default="member", help="member (the default) or household")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            low, high = projection.parse_deciles(text=options["deciles"])
            projected = projection.project_phase(
                min_decile=low,
                max_decile=high,
                credit_rial=_whole(options["credit_rial"], "credit_rial"),
                threshold_rial=_whole(options["threshold_rial"], "threshold_rial"),
                bonus_rial=_whole(options["bonus_rial"], "bonus_rial"),
                basis=options["basis"],
            )
        except ValidationError as exc:
            raise CommandError(_refusal(exc)) from exc
        figures = projection.WhatIf(
            projection=projected, actual=projection.actual_beside(projected=projected)
        )
        if options["json"]:
            self.stdout.write(json.dumps(self._json(figures), ensure_ascii=False))
            return
        self._table(figures)

    @staticmethod
    def _json(figures: projection.WhatIf) -> dict[str, Any]:
        """The projection's figures at the top (whole rials), the actual cost under ``actual``."""
        shown = figures.projection.as_dict()
        shown["actual"] = figures.actual.as_dict() if figures.actual is not None else None
        return shown

    def _table(self, figures: projection.WhatIf) -> None:
        projected, actual = figures.projection, figures.actual
        band = projected.bands[0]
        basis = "per member" if projected.basis == "per_member" else "per household"
        self.stdout.write(
            f"What-if: deciles {band.min_decile}-{band.max_decile}, {basis}: credit "
            f"{band.credit_per_cycle_rial:,} rial, bonus {band.bonus_amount_rial:,} rial at "
            f"{band.bonus_threshold_rial:,} rial of credit spent"
        )
        self.stdout.write(
            f"Registry on {projected.day}; purchase behaviour of the last closed cycle: "
            f"{projected.cycle_key or 'none (no cycle has closed)'}"
        )
        self.stdout.write("")
        heading = "Projected monthly cost, toman"
        if actual is not None:
            heading += f" | actual cost of {actual.cycle_key}, toman"
        self.stdout.write(heading)
        header = (
            f"{'decile':>6} {'households':>11} {'members':>11} {'credit':>16} {'bonus':>15} "
            f"{'compensation':>15} {'total':>16} {'estimated':>10}"
        )
        if actual is not None:
            header += f" | {'households':>11} {'total':>16}"
        self.stdout.write(header)
        actual_by = {row.decile: row for row in actual.deciles} if actual is not None else {}
        deciles = sorted(
            {row.decile for row in projected.deciles} | set(actual_by),
            key=lambda decile: (decile is None, decile or 0),
        )
        projected_by = {row.decile: row for row in projected.deciles}
        for decile in deciles:
            self.stdout.write(
                self._row(
                    "-" if decile is None else str(decile),
                    projected_by.get(decile),
                    actual_by.get(decile) if actual is not None else None,
                    with_actual=actual is not None,
                )
            )
        self.stdout.write(
            self._row(
                "total",
                projected.total_row(),
                actual.total_row() if actual is not None else None,
                with_actual=actual is not None,
            )
        )
        self.stdout.write(
            "estimated: households covered now but not charged in that cycle, given their "
            "decile's average behaviour"
        )
        self.stdout.write("")
        self._totals(projected, actual)
        notes = list(projected.notes) + (list(actual.notes) if actual is not None else [])
        if notes:
            self.stdout.write("")
            for note in notes:
                self.stdout.write(f"- {note}")

    @staticmethod
    def _row(
        label: str, row: DecileCost | None, actual: DecileCost | None, *, with_actual: bool
    ) -> str:
        if row is None:
            line = f"{label:>6} {0:>11,} {0:>11,} {'0':>16} {'0':>15} {'0':>15} {'0':>16} {0:>10,}"
        else:
            line = (
                f"{label:>6} {row.households:>11,} {row.members:>11,} "
                f"{_money(row.credit_rial):>16} {_money(row.bonus_rial):>15} "
                f"{_money(row.compensation_rial):>15} {_money(row.total_rial):>16} "
                f"{row.estimated:>10,}"
            )
        if with_actual:
            households = actual.households if actual is not None else 0
            total = actual.total_rial if actual is not None else 0
            line += f" | {households:>11,} {_money(total):>16}"
        return line

    def _totals(self, projected: Projection, actual: Projection | None) -> None:
        columns = [("projected", projected)] + ([("actual", actual)] if actual else [])
        self.stdout.write(
            f"{'':<13}"
            + "".join(f" {name + ', rial':>20} {name + ', toman':>20}" for name, _ in columns)
        )
        for label, attribute in (
            ("households", "households"),
            ("credit", "credit_rial"),
            ("bonus", "bonus_rial"),
            ("compensation", "compensation_rial"),
            ("total", "total_rial"),
        ):
            cells = []
            for _, figures in columns:
                value = getattr(figures, attribute)
                if attribute == "households":
                    cells.append(f" {value:>20,} {value:>20,}")
                else:
                    cells.append(f" {value:>20,} {_money(value):>20}")
            self.stdout.write(f"{label:<13}" + "".join(cells))
