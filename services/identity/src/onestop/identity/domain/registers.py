"""Streaming parsers for register files (DESIGN §9.1): CSV (UTF-8, UTF-8-BOM, GB18030) and XLSX.

`open_register` reads the header at once (so a bad file fails before any row is touched) and
returns a reader that yields one `RegisterRow` or `RowError` at a time: a file of a million rows
is never held in memory. Reasons are plain sentences that never repeat a cell's value, so neither
an ID number nor a name can leak into a report or a log.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Literal, TypeAlias

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
_BLOCK = 64 * 1024


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

    def __init__(self, index: dict[str, int], *, today: date | None = None) -> None:
        self._today = today or idn.today_shanghai()
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


def _header_index(cells: Sequence[Any]) -> tuple[dict[str, int], list[str]]:
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


def _blank(cells: Sequence[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def detect_encoding(head: bytes, *, complete: bool = False) -> str:
    """The codec to read a CSV with, from its first block: 'utf-8-sig', 'utf-8' or 'gb18030'."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise RegisterFormatError("file", "file is encoded in UTF-32; save it as UTF-8 or GB18030")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RegisterFormatError("file", "file is encoded in UTF-16; save it as UTF-8 or GB18030")
    if head.startswith(b"PK\x03\x04"):
        raise RegisterFormatError("file", "file is a ZIP/XLSX archive, not a CSV text file")
    if b"\x00" in head:
        raise RegisterFormatError("file", "file contains NUL bytes (UTF-16 or binary?); save it as UTF-8")
    for codec in ("utf-8", "gb18030"):
        try:
            # Incremental so a character cut at the block's end is not taken for an error.
            codecs.getincrementaldecoder(codec)("strict").decode(head, final=complete)
        except UnicodeDecodeError:
            continue
        return codec
    raise RegisterFormatError("file", "file encoding is unknown: neither UTF-8 nor GB18030")


class _Prefixed(io.RawIOBase):
    """A readable stream that replays the already read head before the rest of `stream`."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._stream.read(len(b))
        b[: len(data)] = data
        return len(data)


class RegisterReader:
    """An opened register: `columns` found, `ignored_columns`, and iteration over rows (once)."""

    def __init__(self, index: dict[str, int], ignored: list[str], rows: Iterator[tuple[int, Sequence[Any]]],
                 closers: list[Any], *, kind: str, encoding: str | None, today: date | None) -> None:
        self.columns = sorted(index, key=index.__getitem__)
        self.ignored_columns = ignored
        self.kind = kind
        self.encoding = encoding
        self._rows = rows
        self._closers = closers
        self._validate = RowValidator(index, today=today)

    def __iter__(self) -> Iterator[RegisterRow | RowError]:
        """Yield each data row as a RegisterRow or one RowError per bad field; blank rows skipped."""
        try:
            for rowno, cells in self._rows:
                if cells is _UNREADABLE:
                    yield RowError(rowno, "row", "row cannot be read as CSV (a stray quote or a huge field)")
                    continue
                if _blank(cells):
                    continue
                result = self._validate(rowno, cells)
                if isinstance(result, list):
                    yield from result
                else:
                    yield result
        finally:
            self.close()

    def close(self) -> None:
        """Release the workbook or file handles (idempotent)."""
        while self._closers:
            self._closers.pop().close()

    def __enter__(self) -> RegisterReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _numbered(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, Sequence[Any]]]:
    return ((i, r) for i, r in enumerate(rows, start=1))


# Sentinel for a CSV record the csv module refused: a distinct object, compared by identity.
_UNREADABLE: list[Any] = []


def _csv_rows(reader: Iterator[list[str]]) -> Iterator[tuple[int, Sequence[Any]]]:
    # One malformed record (a field over the size limit, a stray quote) must not end the import.
    n = 0
    while True:
        n += 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            yield n, _UNREADABLE
            continue
        yield n, cells


def _first_row(rows: Iterator[tuple[int, Sequence[Any]]]) -> Sequence[Any]:
    for _, cells in rows:
        if not _blank(cells):
            return cells
    raise RegisterFormatError("file", "file has no header row")


def _read_block(stream: IO[bytes]) -> bytes:
    # read() may return less than asked before the end; detection needs to know if it saw the whole file.
    parts: list[bytes] = []
    size = 0
    while size < _BLOCK and (chunk := stream.read(_BLOCK - size)):
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _open_csv(stream: IO[bytes], closers: list[Any], today: date | None) -> RegisterReader:
    head = _read_block(stream)
    encoding = detect_encoding(head, complete=len(head) < _BLOCK)
    text = io.TextIOWrapper(io.BufferedReader(_Prefixed(head, stream)), encoding=encoding,
                            errors="replace", newline="")
    closers.append(text)
    first_line = head[:4096].split(b"\n", 1)[0]
    # Some offices export tab-separated text with a .csv name; a header with tabs and no commas says so.
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    rows = _csv_rows(csv.reader(text, delimiter=delimiter))
    index, ignored = _header_index(_first_row(rows))
    return RegisterReader(index, ignored, rows, closers, kind="csv", encoding=encoding, today=today)


def _open_xlsx(stream: IO[bytes], closers: list[Any], today: date | None) -> RegisterReader:
    import openpyxl  # imported here so CSV-only callers do not pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    if not stream.seekable():
        # A workbook is a ZIP archive and needs random access; spool an unseekable upload to disk.
        spooled = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        closers.append(spooled)
        while chunk := stream.read(_BLOCK):
            spooled.write(chunk)
        spooled.seek(0)
        stream = spooled  # type: ignore[assignment]
    try:
        wb = openpyxl.load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise RegisterFormatError("file", "file is not a readable XLSX workbook") from None
    closers.append(wb)
    if not wb.worksheets:
        raise RegisterFormatError("file", "workbook has no sheet")
    sheet = wb.worksheets[0]
    # Exporters often write a wrong <dimension> (e.g. "A1"); read-only mode would trust it and drop cells.
    sheet.reset_dimensions()  # type: ignore[union-attr]
    rows = _numbered(sheet.iter_rows(values_only=True))
    index, ignored = _header_index(_first_row(rows))
    return RegisterReader(index, ignored, rows, closers, kind="xlsx", encoding=None, today=today)


def open_register(source: str | os.PathLike[str] | IO[bytes], *, kind: Literal["csv", "xlsx"] | None = None,
                  filename: str | None = None, today: date | None = None) -> RegisterReader:
    """Open a register file (path or binary stream), check its encoding and header, return a row reader."""
    closers: list[Any] = []
    if isinstance(source, str | os.PathLike):
        filename = filename or os.fspath(source)
        stream: IO[bytes] = open(source, "rb")  # noqa: SIM115 - closed by the reader
        closers.append(stream)
    else:
        stream = source
    try:
        if kind is None:
            suffix = os.path.splitext(filename or "")[1].lower()
            if suffix in (".xlsx", ".xlsm"):
                kind = "xlsx"
            elif suffix in (".csv", ".txt"):
                kind = "csv"
            elif suffix == "" and stream.seekable():
                # No name to go by: a ZIP signature means a workbook, anything else is read as CSV.
                pos = stream.tell()
                kind = "xlsx" if stream.read(4) == b"PK\x03\x04" else "csv"
                stream.seek(pos)
            elif suffix == "":
                kind = "csv"
            else:
                raise RegisterFormatError("file", "file type must be CSV or XLSX")
        return _open_csv(stream, closers, today) if kind == "csv" else _open_xlsx(stream, closers, today)
    except BaseException:
        for c in reversed(closers):
            c.close()
        raise


def report_csv(errors: Iterable[RowError], *, excel: bool = False) -> str:
    """The downloadable row-level report: a CSV with columns row, field, reason."""
    buf = io.StringIO()
    if excel:
        # Excel only reads a UTF-8 CSV as UTF-8 when it starts with a BOM.
        buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["row", "field", "reason"])
    for e in errors:
        w.writerow([e.row, e.field, e.reason])
    return buf.getvalue()
