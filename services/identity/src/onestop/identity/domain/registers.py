"""Register rows (DESIGN §9.1): the header, and each row's cells validated into a `RegisterRow` or `RowError`s.

Pure: cells in, rows out, `today` passed in by the caller. Reading the file itself (CSV in UTF-8, UTF-8-BOM or
GB18030, XLSX) is `onestop.identity.imports.files`. Reasons are plain sentences that never repeat a cell's
value, so neither an ID number nor a name can leak into a report or a log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeAlias

from onestop.contracts.enums import Category, Disability, Household, Insurance
from onestop.identity.domain import id_number as idn

INSURED: Literal["insured"] = "insured"
RegisterCategory: TypeAlias = Category | Literal["insured"]

# English header -> Chinese header, in the order of DESIGN §9.1.
COLUMNS: dict[str, str] = {
    "id_number": "身份证号码", "name": "姓名", "category": "人员类别", "region_code": "行政区划代码",
    "valid_from": "起始日期", "valid_to": "终止日期", "insurance": "参保类型", "disability": "残疾等级",
    "household": "户籍性质", "civil_servant": "公职人员", "subgroup": "细类", "disease_class": "疾病分类",
    "labour": "劳动能力", "card_no": "健康扶贫卡号", "guardian_name": "监护人",
}
REQUIRED: tuple[str, ...] = ("id_number", "name", "category", "region_code", "valid_from")
_HEADER = {en: en for en in COLUMNS} | {zh: en for en, zh in COLUMNS.items()}

_CATEGORY: dict[str, RegisterCategory] = {c.value: c for c in Category} | {
    INSURED: INSURED,
    "建档立卡贫困人口": Category.registered_poor, "特困供养人员": Category.extreme_poverty,
    "低保对象": Category.subsistence_allowance, "困境儿童": Category.child_in_distress,
    "贫困残疾人": Category.poor_disabled, "防返贫监测对象": Category.monitored,
    "城镇特困人员": Category.urban_special, "参保人员": INSURED,
}
_INSURANCE = {"resident": Insurance.resident, "employee": Insurance.employee,
              "城乡居民": Insurance.resident, "职工": Insurance.employee,
              "城乡居民医保": Insurance.resident, "职工医保": Insurance.employee}
_DISABILITY: dict[str, Disability | None] = {
    "": None, "无": None, "severe": Disability.severe, "重度": Disability.severe,
    "disabled_child": Disability.disabled_child, "残疾儿童": Disability.disabled_child,
}
_HOUSEHOLD = {"rural": Household.rural, "urban": Household.urban,
              "农村": Household.rural, "城镇": Household.urban}
_BOOL = {"yes": True, "no": False, "true": True, "false": False, "y": True, "n": False}
_YES_NO = {"是": True, "否": False} | _BOOL
# 002 writes labour as 有/无, and marks households with no labour "+" and with labour "-".
_LABOUR = {"有": True, "无": False, "-": True, "+": False} | _BOOL
SUBGROUPS: tuple[str, ...] = ("低保", "五保", "三无", "城镇孤儿")
DISEASE_CLASSES: tuple[str, ...] = ("A", "B", "C", "D")
_SUBGROUP = {s: s for s in SUBGROUPS}
_DISEASE_CLASS = {c.lower(): c for c in DISEASE_CLASSES} | {c: c for c in DISEASE_CLASSES}
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(?: 00:00:00)?$")  # ASCII digits: date() wants them
_MAX_NAME = 50
_MAX_CARD = 32


class RegisterFormatError(ValueError):
    """The file as a whole cannot be imported (encoding, format, header); nothing is imported."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one row: the row number as a spreadsheet shows it (header = row 1)."""

    row: int
    field: str
    reason: str


# Not frozen: a frozen dataclass's __init__ costs 2.5x, paid once per row of a million-row import.
@dataclass(slots=True, repr=False)
class RegisterRow:
    """A validated, normalised register row."""

    row: int
    id_number: str
    name: str
    category: RegisterCategory
    region_code: str
    valid_from: date
    valid_to: date | None
    birth_date: date
    sex: idn.Sex
    insurance: Insurance | None = None
    disability: Disability | None = None
    household: Household | None = None
    civil_servant: bool | None = None
    subgroup: str | None = None
    disease_class: str | None = None
    labour: bool | None = None
    card_no: str | None = None
    guardian_name: str | None = None

    def __repr__(self) -> str:
        # Rows end up in debug logs; keep the number masked and the names out.
        return f"RegisterRow(row={self.row}, id={idn.mask(self.id_number)}, category={self.category!s})"


class _Bad(Exception):
    """A cell that fails validation, with the reason (raised and caught inside this module only)."""


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _id_cell(value: Any) -> str:
    if isinstance(value, float):
        # Excel keeps 15 significant digits: an 18-digit number typed as a number has lost its tail.
        if value.is_integer() and value < 1e15:
            return str(int(value))
        raise _Bad("ID number was stored as a number and lost digits; format the column as text")
    return _text(value)


def _date_cell(value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    if not _DATE.match(text):
        raise _Bad("date must be written YYYY-MM-DD")
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _Bad("date is not a real calendar date") from None


def _lookup(value: Any, table: dict[str, Any], expected: str) -> Any:
    text = _text(value)
    key = text if text in table else text.lower()
    if key not in table:
        raise _Bad(f"must be one of: {expected}")
    return table[key]


def _optional_text(value: Any, limit: int) -> str | None:
    text = _text(value)
    if len(text) > limit:
        raise _Bad(f"is longer than {limit} characters")
    return text or None


class RowValidator:
    """Turns the cells of one row into a RegisterRow or a list of RowErrors."""

    def __init__(self, index: dict[str, int], *, today: date) -> None:
        self._today = today
        checks: dict[str, tuple[Any, tuple[Any, ...]]] = {
            "id_number": (self._id, ()),
            "name": (self._name, ()),
            "category": (_lookup, (_CATEGORY, "a category id, insured, or its Chinese name")),
            "region_code": (self._region, ()),
            "valid_from": (self._required_date, ()),
            "valid_to": (_date_cell, ()),
            "insurance": (self._optional, (_INSURANCE, "resident, employee (城乡居民, 职工)")),
            "disability": (_lookup, (_DISABILITY, "empty, severe (重度), disabled_child (残疾儿童)")),
            "household": (self._optional, (_HOUSEHOLD, "rural, urban (农村, 城镇)")),
            "civil_servant": (self._optional, (_YES_NO, "是 or 否")),
            "subgroup": (self._optional, (_SUBGROUP, "、".join(SUBGROUPS))),
            "disease_class": (self._optional, (_DISEASE_CLASS, "A, B, C, D")),
            "labour": (self._optional, (_LABOUR, "有 or 无")),
            "card_no": (_optional_text, (_MAX_CARD,)),
            "guardian_name": (_optional_text, (_MAX_NAME,)),
        }
        # Only the file's columns are checked per row; absent optional columns are simply None.
        self._plan = [(name, index[name], fn, args) for name, (fn, args) in checks.items() if name in index]
        self._absent = {name: None for name in checks if name not in index and name != "id_number"}

    def __call__(self, rowno: int, cells: Sequence[Any]) -> RegisterRow | list[RowError]:
        """Validate one row's cells (in file order)."""
        n = len(cells)
        errors: list[RowError] = []
        out: dict[str, Any] = dict(self._absent)
        for name, i, fn, args in self._plan:
            value = cells[i] if i < n else None
            try:
                if isinstance(value, str) and "\ufffd" in value:
                    raise _Bad("contains bytes not valid in the file's encoding")
                out[name] = fn(value, *args)
            except _Bad as bad:
                errors.append(RowError(rowno, name, str(bad)))
            except idn.InvalidIdNumber as bad:
                errors.append(RowError(rowno, name, bad.reason))
        if not errors:
            self._cross_check(rowno, out, errors)
        if errors:
            return errors
        ident: idn.IdNumber = out.pop("id_number")
        return RegisterRow(row=rowno, id_number=ident.number, birth_date=ident.birth_date, sex=ident.sex,
                           **out)

    def _id(self, value: Any) -> idn.IdNumber:
        text = _id_cell(value)
        if not text:
            raise _Bad("ID number is empty")
        return idn.parse(text, today=self._today)

    @staticmethod
    def _name(value: Any) -> str:
        text = _text(value)
        if not text:
            raise _Bad("name is empty")
        if len(text) > _MAX_NAME:
            raise _Bad(f"name is longer than {_MAX_NAME} characters")
        return text

    @staticmethod
    def _region(value: Any) -> str:
        text = _text(value)
        if not text:
            raise _Bad("region code is empty")
        return idn.check_region_code(text)

    @staticmethod
    def _required_date(value: Any) -> date:
        d = _date_cell(value)
        if d is None:
            raise _Bad("start date is empty")
        return d

    @staticmethod
    def _optional(value: Any, table: dict[str, Any], expected: str) -> Any:
        return None if _text(value) == "" else _lookup(value, table, expected)

    @staticmethod
    def _cross_check(rowno: int, out: dict[str, Any], errors: list[RowError]) -> None:
        if out["valid_to"] is not None and out["valid_to"] < out["valid_from"]:
            errors.append(RowError(rowno, "valid_to", "end date is before the start date"))
        if out["category"] == INSURED and out["insurance"] is None:
            errors.append(RowError(rowno, "insurance", "insurance type is required for insured rows"))
        if out["subgroup"] is not None and out["category"] != Category.urban_special:
            errors.append(RowError(rowno, "subgroup", "a subgroup is only allowed for urban_special rows"))


def header_index(cells: Sequence[Any]) -> tuple[dict[str, int], list[str]]:
    index: dict[str, int] = {}
    ignored: list[str] = []
    for i, cell in enumerate(cells):
        label = _text(cell).lstrip("\ufeff").strip()
        if not label:
            continue
        key = _HEADER.get(label) or _HEADER.get(label.lower())
        if key is None:
            ignored.append(label)
            continue
        if key in index:
            raise RegisterFormatError(key, f"column {key} ({COLUMNS[key]}) appears more than once")
        index[key] = i
    for key in REQUIRED:
        if key not in index:
            raise RegisterFormatError(key, f"required column {key} ({COLUMNS[key]}) is missing")
    return index, ignored


def blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


# Sentinel for a record the file's reader could not read (a CSV stray quote): compared by identity.
UNREADABLE: list[Any] = []


def validate_rows(rows: Iterable[tuple[int, Sequence[Any]]],
                  validate: RowValidator) -> Iterator[RegisterRow | RowError]:
    """Each numbered data row as a RegisterRow or one RowError per bad field; blank rows skipped."""
    for rowno, cells in rows:
        if cells is UNREADABLE:
            yield RowError(rowno, "row", "row cannot be read as CSV (a stray quote or a huge field)")
            continue
        if blank(cells):
            continue
        result = validate(rowno, cells)
        if isinstance(result, list):
            yield from result
        else:
            yield result
