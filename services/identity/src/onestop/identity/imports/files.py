"""Reading register files (DESIGN §9.1): CSV (UTF-8, UTF-8-BOM, GB18030) and XLSX, streamed; the report as CSV.

`open_register` reads the header at once (so a bad file fails before any row is touched) and returns a
reader that yields one `RegisterRow` or `RowError` at a time (validated by domain/registers.py): a file
of a million rows is never held in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from typing import IO, Any, Literal

from onestop.identity.domain.registers import (
    UNREADABLE,
    RegisterFormatError,
    RegisterRow,
    RowError,
    RowValidator,
    blank,
    header_index,
    validate_rows,
)

_BLOCK = 64 * 1024

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
                 closers: list[Any], *, kind: str, encoding: str | None, today: date) -> None:
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
            yield from validate_rows(self._rows, self._validate)
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
            yield n, UNREADABLE
            continue
        yield n, cells


def _first_row(rows: Iterator[tuple[int, Sequence[Any]]]) -> Sequence[Any]:
    for _, cells in rows:
        if not blank(cells):
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


def _open_csv(stream: IO[bytes], closers: list[Any], today: date) -> RegisterReader:
    head = _read_block(stream)
    encoding = detect_encoding(head, complete=len(head) < _BLOCK)
    text = io.TextIOWrapper(io.BufferedReader(_Prefixed(head, stream)), encoding=encoding,
                            errors="replace", newline="")
    closers.append(text)
    first_line = head[:4096].split(b"\n", 1)[0]
    # Some offices export tab-separated text with a .csv name; a header with tabs and no commas says so.
    delimiter = "\t" if b"\t" in first_line and b"," not in first_line else ","
    rows = _csv_rows(csv.reader(text, delimiter=delimiter))
    index, ignored = header_index(_first_row(rows))
    return RegisterReader(index, ignored, rows, closers, kind="csv", encoding=encoding, today=today)


def _open_xlsx(stream: IO[bytes], closers: list[Any], today: date) -> RegisterReader:
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
    index, ignored = header_index(_first_row(rows))
    return RegisterReader(index, ignored, rows, closers, kind="xlsx", encoding=None, today=today)


def open_register(source: str | os.PathLike[str] | IO[bytes], *, kind: Literal["csv", "xlsx"] | None = None,
                  filename: str | None = None, today: date) -> RegisterReader:
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
