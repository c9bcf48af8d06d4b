"""A table of figures, as the page shows it and as its CSV gives it.

One definition serves both: each column has a stable English snake_case key (the CSV's header)
and a Persian label (the page's), and a kind that says how its values are shown — counts with
Persian digits and a thousands separator, money in the page's unit (rials for officers, toman
for the public), percentages with one decimal place. The CSV gives the raw values: whole rials,
percentages as ``62.5``, nothing where a figure does not exist or is not shown.

A suppressed value (the public page) is a ``Hidden``: the page shows its words («کمتر از ۱۰»),
the CSV an empty cell and, in the row's ``status`` column, why.
"""

import csv
import io
from dataclasses import dataclass
from html import escape
from typing import Any

from django.utils.safestring import SafeString, mark_safe

from kalabarg.lib.money import format_money, group_thousands
from kalabarg.lib.persian import to_persian_digits

# Kinds of column.
LABEL = "label"  # the row's name: the row header on the page
TEXT = "text"
COUNT = "count"
RIAL = "rial"
PERCENT = "percent"
YES_NO = "yes_no"

# Why a row or a cell of a public table is not shown (the CSV's ``status``).
SHOWN = "shown"
FEWER_THAN_TEN = "fewer_than_10"  # it counts fewer than 10 households
WITHHELD = "withheld"  # hidden too, so that a small cell cannot be worked out from the totals

FEWER_THAN_TEN_TEXT = "کمتر از ۱۰"
WITHHELD_TEXT = "محرمانه"
HIDDEN_FIGURE_TEXT = "پنهان"  # a hidden row's other figures (its money, its percentages)
NOTHING = "—"
NUMERIC = ' class="num"'
TOTAL_ROW = ' class="figures-total"'


@dataclass(frozen=True)
class Hidden:
    """A value not shown: its words on the page, nothing in the CSV."""

    status: str
    text: str


def hidden_count(status: str) -> Hidden:
    """A hidden count of households: «کمتر از ۱۰», or «محرمانه» for a complementary cell."""
    return Hidden(status, FEWER_THAN_TEN_TEXT if status == FEWER_THAN_TEN else WITHHELD_TEXT)


def hidden_figure(status: str) -> Hidden:
    return Hidden(status, HIDDEN_FIGURE_TEXT)


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header: English snake_case, stable
    label: str  # the page's header, Persian
    kind: str = COUNT
    on_page: bool = True
    in_csv: bool = True

    @property
    def numeric(self) -> bool:
        return self.kind in (COUNT, RIAL, PERCENT)


@dataclass(frozen=True)
class Row:
    values: tuple[Any, ...]
    total: bool = False


@dataclass(frozen=True)
class Table:
    """``name`` is the CSV's ``table=``; ``money`` the page's unit (``rial`` or ``toman``)."""

    name: str
    caption: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    money: str | None = "rial"  # None: the display unit people see (settings)
    csv_table: "Table | None" = None  # another shape for the CSV (the grid's long form)

    def html(self) -> SafeString:
        """The table as the page shows it, in a region that scrolls on its own if it must (on a
        phone the rows stack instead: static/css/figures.css). Built here rather than in a
        template: a province table is ~500 cells, which a template loop renders ten times slower.
        """
        name = escape(self.name)
        shown = [(index, column) for index, column in enumerate(self.columns) if column.on_page]
        head = "".join(
            f'<th scope="col"{NUMERIC if column.numeric else ""}>{escape(column.label)}</th>'
            for _, column in shown
        )
        # Each column's opening tag, once: the row's name is its header cell; every cell carries
        # its column's name for the stacked layout on phones.
        opening = {
            index: (
                f'<th scope="row" data-label="{escape(column.label)}">'
                if column.kind == LABEL
                else f'<td data-label="{escape(column.label)}"{NUMERIC if column.numeric else ""}>',
                f'<td data-label="{escape(column.label)}" class="num suppressed">',
                "</th>" if column.kind == LABEL else "</td>",
            )
            for index, column in shown
        }
        rows = []
        for row in self.rows:
            cells = []
            for index, column in shown:
                value = row.values[index]
                tag, hidden_tag, closing = opening[index]
                text = escape(show(value, column.kind, money=self.money))
                cells.append(f"{hidden_tag if isinstance(value, Hidden) else tag}{text}{closing}")
            rows.append(f"<tr{TOTAL_ROW if row.total else ''}>{''.join(cells)}</tr>")
        return mark_safe(  # noqa: S308 - every value in it is escaped above
            f'<div class="figures-table-wrap" role="region" aria-labelledby="{name}-caption" '
            f'tabindex="0"><table class="figures-table"><caption id="{name}-caption">'
            f"{escape(self.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    def csv_text(self) -> str:
        """The table as CSV: a header of the columns' keys, one line per row, raw values."""
        table = self.csv_table or self
        columns = [(index, c) for index, c in enumerate(table.columns) if c.in_csv]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([column.key for _, column in columns])
        for row in table.rows:
            writer.writerow([raw(row.values[index], column.kind) for index, column in columns])
        return out.getvalue()


def show(value: Any, kind: str, *, money: str | None) -> str:
    """A value as the page shows it."""
    if isinstance(value, Hidden):
        return value.text
    if value is None:
        return NOTHING
    if kind == COUNT:
        return to_persian_digits(group_thousands(int(value)))
    if kind == RIAL:
        return format_money(int(value), unit=money)
    if kind == PERCENT:
        return to_persian_digits(str(value)).replace(".", "٫") + "٪"
    if kind == YES_NO:
        return "بله" if value else "خیر"
    return to_persian_digits(value)


def raw(value: Any, kind: str) -> str:
    """A value as the CSV gives it: whole rials, ``62.5``, ``true``; empty if none or hidden."""
    if value is None or isinstance(value, Hidden):
        return ""
    if kind == YES_NO:
        return "true" if value else "false"
    return str(value)
