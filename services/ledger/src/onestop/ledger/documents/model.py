"""A printed document as blocks (pure; no I/O): the context builders make one, the HTML templates and the PDF
renderer each lay the same blocks out, so the two formats never say different things.

Amounts are yuan strings with 2 places ("1234.50"), dates Chinese ("2026年3月20日"): what the patient reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from onestop.common.clock import as_shanghai
from onestop.contracts.money import format_fen, parse_yuan

Align = Literal["L", "C", "R"]


@dataclass(frozen=True)
class Column:
    label: str
    width: int = 1  # relative share of the line
    align: Align = "L"


@dataclass(frozen=True)
class Table:
    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    foot: tuple[tuple[str, ...], ...] = ()  # totals, set apart under the rows
    caption: str | None = None
    empty: str = "（无）"  # shown when there is no row

    def __post_init__(self) -> None:
        for r in (*self.rows, *self.foot):
            if len(r) != len(self.columns):
                raise ValueError(f"a row of {len(r)} cells in a table of {len(self.columns)} columns")


@dataclass(frozen=True)
class Fields:
    """Label–value pairs, laid out two to a line."""

    items: tuple[tuple[str, str], ...]
    caption: str | None = None


@dataclass(frozen=True)
class Paragraph:
    text: str
    emphasis: bool = False


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Signatures:
    """Lines to sign on, each with a date line."""

    lines: tuple[str, ...]


Block = Table | Fields | Paragraph | Heading | Signatures


@dataclass(frozen=True)
class Document:
    kind: str
    title: str
    hospital_name: str
    header: Fields  # who and which stay: the patient's name, masked ID number, dates
    blocks: tuple[Block, ...]
    printed_on: date
    number: str = ""  # the document's own reference (a stay or settlement id), printed small
    copies: tuple[str, ...] = ("",)  # 一式两份: one label per copy, the content repeated under each
    seed: str = ""  # which seed the wording follows (shown in the HTML source only)
    notes: tuple[str, ...] = field(default_factory=tuple)  # small print under the blocks


def zh_date(d: date | datetime | str | None) -> str:
    """2026-03-20 -> '2026年3月20日' (an instant is read in Asia/Shanghai); None -> ''."""
    if d is None or d == "":
        return ""
    value = (datetime.fromisoformat(d) if "T" in d else date.fromisoformat(d)) if isinstance(d, str) else d
    day = as_shanghai(value).date() if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日"


def zh_time(at: datetime | str) -> str:
    """An instant as '2026年3月20日 10:00' in Asia/Shanghai."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    local = as_shanghai(at)
    return f"{zh_date(local)} {local:%H:%M}"


def yuan(value: str | int) -> str:
    """A yuan string or an int of fen, as the document prints it: 2 places, no float on the way."""
    return format_fen(value) if isinstance(value, int) else format_fen(parse_yuan(value))
