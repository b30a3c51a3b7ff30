"""Units a table states once, written into its cells: 「地区生产总值 | 3968.4 | 4.6」 under the header
「指标 | 单位 | 2024年完成 | 比上年增长（%）」 and the unit cell 「亿元」 reads 「地区生产总值 | 3968.4亿元 | 4.6%」.

A figure must carry its unit wherever a passage states it: the answer quotes the row, and the number
checks compare figures with their units. Tables of statistics give the unit once instead — in a column
of its own (「单位」「计量单位」), in a column's header (「比上年增长（%）」「总量（亿元）」) or in a line
above the table (「单位：亿元」) — so each bare number of a row gets the unit that applies to it, and the
unit column goes (its content is now in the figures).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.normalize import CELL_SEPARATOR
from rag.text.numbers import is_unit

#: A header cell naming the column of units.
_UNIT_COLUMN_RE = re.compile(r"^(?:计量)?单位$")
#: A unit in brackets at the end of a header cell: 「比上年增长（%）」 「总量(亿元)」.
_HEADER_UNIT_RE = re.compile(r"[（(]\s*([^（()）]{1,6}?)\s*[）)]$")
#: A line giving the unit of a whole table: 「单位：亿元」 「（单位：亿元、%）」.
_TABLE_UNIT_RE = re.compile(r"^[（(]?\s*(?:计量)?单位\s*[:：]\s*([^、，,；;）)]{1,6})\s*[）)]?$")
#: A cell that is a bare number (a sign and thousands separators allowed).
_BARE_NUMBER_RE = re.compile(r"^[-+−]?\d+(?:,\d{3})*(?:\.\d+)?$")


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(CELL_SEPARATOR.strip())]


def _header_units(header: list[str]) -> tuple[int | None, dict[int, str]]:
    """The index of the unit column (if any) and the units the header's cells give their columns."""
    unit_column = next((i for i, c in enumerate(header) if _UNIT_COLUMN_RE.match(c)), None)
    units = {i: m.group(1) for i, c in enumerate(header) if (m := _HEADER_UNIT_RE.search(c)) and is_unit(m.group(1))}
    return unit_column, units


def _is_header(row: list[str], unit_column: int | None, units: dict[int, str]) -> bool:
    """Whether ``row`` (its :func:`_header_units` given) is a table's header row: it names its columns
    (a unit column or a unit in brackets) and states no bare figure."""
    return (unit_column is not None or bool(units)) and not any(_BARE_NUMBER_RE.match(c) for c in row)


def with_units(lines: Sequence[str]) -> list[str]:
    """``lines`` (paragraphs of a report, a table row one line with cells set apart by
    :data:`~rag.text.normalize.CELL_SEPARATOR`) with the units of each table's header or unit line written
    into its rows' bare numbers; everything else unchanged."""
    out: list[str] = []
    unit_column: int | None = None
    width = 0
    units: dict[int, str] = {}
    table_unit: str | None = None
    for line in lines:
        if CELL_SEPARATOR not in line:
            unit_column, units = None, {}  # a table ends where prose starts…
            stated = _TABLE_UNIT_RE.match(line.strip())
            table_unit = stated.group(1) if stated and is_unit(stated.group(1)) else None  # …or begins
            out.append(line)
            continue
        row = cells(line)
        header = _header_units(row)
        if _is_header(row, *header):
            unit_column, units = header
            width = len(row)
            out.append(line)
            continue
        if unit_column == 1 and len(row) == width - 1:
            row = _unit_split_off(row)
        stated_once = unit_column is not None or units or table_unit
        out.append(_row_with_units(row, unit_column, units, table_unit) if stated_once else line)
    return out


def _unit_split_off(row: list[str]) -> list[str]:
    """A row whose label ran into its unit cell in plain text (「城镇居民人均可支配收入 元    43685」 has
    one space where the columns meet, so the two read as one cell) with the unit split off again."""
    label = row[0]
    for size in range(min(4, len(label) - 1), 0, -1):
        if is_unit(label[-size:]):
            return [label[:-size], label[-size:], *row[1:]]
    return row


def _row_with_units(row: list[str], unit_column: int | None, units: dict[int, str], table_unit: str | None) -> str:
    """One data row with its bare numbers given their units (and its unit cell left out)."""
    row_unit = row[unit_column] if unit_column is not None and unit_column < len(row) else None
    if row_unit is not None and not is_unit(row_unit):
        row_unit = None
    written: list[str] = []
    for i, cell in enumerate(row):
        if i == unit_column and row_unit is not None:
            continue
        unit = units.get(i) or row_unit or table_unit
        written.append(cell + unit if unit and _BARE_NUMBER_RE.match(cell) else cell)
    return CELL_SEPARATOR.join(written)
