from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from identity_unit_helpers import TODAY, make_id

from onestop.contracts.enums import Category, Disability, Household, Insurance
from onestop.identity.domain.registers import (
    COLUMNS,
    INSURED,
    RegisterFormatError,
    RegisterRow,
    RowError,
)
from onestop.identity.imports.files import open_register, report_csv

EN = ["id_number", "name", "category", "region_code", "valid_from", "valid_to", "insurance", "disability",
      "household", "civil_servant", "subgroup", "disease_class", "labour", "card_no", "guardian_name"]
ZH = [COLUMNS[c] for c in EN]

GOOD_ID = make_id("653221", date(1975, 6, 1), 31)
URBAN_ID = make_id("653201", date(1960, 1, 1), 10)
GOOD_ROWS = [
    [GOOD_ID, "阿依古丽", "建档立卡贫困人口", "653221", "2019-01-01", "", "", "", "农村", "否", "", "A",
     "无", "HC0001", ""],
    [make_id("653221", date(2015, 2, 3), 42), "小明", "child_in_distress", "653221", "2020-05-01", "", "",
     "残疾儿童", "rural", "", "", "", "", "", "买买提"],
    [URBAN_ID, "王芳", "城镇特困人员", "653201", "2019-01-01", "2030-12-31", "", "",
     "城镇", "", "五保", "", "", "", ""],
    [URBAN_ID, "王芳", "参保人员", "653200", "2024-01-01", "", "城乡居民", "", "", "",
     "", "", "", "", ""],
]
LEGACY = "653221751231001"  # 15-digit number, converted on import
BAD_ROWS = [
    # checksum
    [GOOD_ID[:17] + ("1" if GOOD_ID[17] != "1" else "2"), "错号", "低保对象", "653221", "2019-01-01"],
    [make_id(), "无效地区", "低保对象", "12345", "2019-01-01"],  # region code
    [make_id(), "坏日期", "低保对象", "150222", "2019/01/01"],  # date format
    [make_id(), "倒序", "低保对象", "150222", "2020-01-01", "2019-01-01"],  # valid_to < valid_from
    [make_id(), "无险种", "参保人员", "150222", "2020-01-01"],  # insured without insurance
    [make_id(), "错细类", "低保对象", "150222", "2020-01-01", "", "", "", "", "", "五保"],  # subgroup
    [make_id(), "未知类", "贫困户", "150222", "2020-01-01"],  # unknown category
    [make_id(), "", "低保对象", "150222", "2020-01-01"],  # empty name
]


def _csv_bytes(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _read(path: Path) -> tuple[list[RegisterRow], list[RowError]]:
    rows: list[RegisterRow] = []
    errors: list[RowError] = []
    with open_register(path, today=TODAY) as reader:
        for item in reader:
            (rows if isinstance(item, RegisterRow) else errors).append(item)
    return rows, errors


def _check_good(rows: list[RegisterRow]) -> None:
    assert len(rows) == 5
    first = rows[0]
    assert first.row == 2 and first.id_number == GOOD_ID and first.name == "阿依古丽"
    assert first.category is Category.registered_poor and first.household is Household.rural
    assert first.civil_servant is False and first.disease_class == "A" and first.labour is False
    assert first.card_no == "HC0001" and first.birth_date == date(1975, 6, 1) and first.sex == "male"
    assert first.valid_from == date(2019, 1, 1) and first.valid_to is None
    child = rows[1]
    assert child.disability is Disability.disabled_child and child.guardian_name == "买买提"
    assert rows[2].category is Category.urban_special and rows[2].subgroup == "五保"
    assert rows[2].valid_to == date(2030, 12, 31)
    insured = rows[3]
    assert insured.category == INSURED and insured.insurance is Insurance.resident
    assert insured.region_code == "653200"
    legacy = rows[4]
    assert legacy.id_number == "65322119751231001" + legacy.id_number[17] and len(legacy.id_number) == 18


ALL_ROWS = GOOD_ROWS + [[LEGACY, "老号", "特困供养人员", "653221", "2019-01-01"]]


@pytest.mark.parametrize(("encoding", "header"), [("utf-8", EN), ("utf-8-sig", ZH), ("gb18030", ZH),
                                                  ("gb18030", EN), ("utf-8", ZH)])
def test_csv_encodings_and_headers(tmp_path: Path, encoding: str, header: list[str]) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(_csv_bytes(header, ALL_ROWS, encoding))
    if encoding == "gb18030":
        # Make sure the file really is not UTF-8, so detection is exercised.
        with pytest.raises(UnicodeDecodeError):
            path.read_bytes().decode("utf-8")
    rows, errors = _read(path)
    assert errors == []
    _check_good(rows)
    with open_register(path, today=TODAY) as reader:
        assert reader.encoding == {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030"}[encoding]
        assert reader.columns == EN


def test_xlsx_with_chinese_headers_and_excel_cells(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(ZH + ["备注"])
    for r in ALL_ROWS:
        ws.append(r)
    # Excel cells: a real date, a numeric region code, a 15-digit legacy number typed as a number.
    ws.append([make_id("411203", date(1990, 3, 4), 7), "张伟", "低保对象", 411203, datetime(2021, 3, 1), None,
               None, None, "农村", "否"])
    ws.append([float(LEGACY), "数字老号", "特困供养人员", 653221, date(2019, 1, 1)])
    ws.append([float(GOOD_ID[:17] + "0"), "数字新号", "特困供养人员", 653221, date(2019, 1, 1)])
    ws.append([None] * 5)  # blank row, skipped
    path = tmp_path / "register.xlsx"
    wb.save(path)
    rows, errors = _read(path)
    _check_good(rows[:5])
    assert rows[5].region_code == "411203" and rows[5].valid_from == date(2021, 3, 1)
    assert rows[5].category is Category.subsistence_allowance
    assert rows[6].id_number.startswith("6532211975123100")
    assert [(e.row, e.field) for e in errors] == [(9, "id_number")]
    assert "format the column as text" in errors[0].reason
    with open_register(path, today=TODAY) as reader:
        assert reader.ignored_columns == ["备注"]


def test_xlsx_from_a_stream_without_a_name(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(EN[:5])
    wb.active.append(ALL_ROWS[0][:5])
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with open_register(buf, today=TODAY) as reader:
        assert reader.kind == "xlsx"
        assert [type(x) for x in reader] == [RegisterRow]


def test_bad_rows_are_reported_and_good_rows_kept(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    rows_in = [ALL_ROWS[0]] + BAD_ROWS + [ALL_ROWS[1]]
    path.write_bytes(_csv_bytes(EN[:11], [r[:11] for r in rows_in], "utf-8"))
    rows, errors = _read(path)
    assert [r.row for r in rows] == [2, 11]
    got = [(e.row, e.field) for e in errors]
    assert got == [(3, "id_number"), (4, "region_code"), (5, "valid_from"), (6, "valid_to"), (7, "insurance"),
                   (8, "subgroup"), (9, "category"), (10, "name")]
    text = report_csv(errors)
    # The report names rows and fields, never an ID number or a name.
    for r in BAD_ROWS:
        assert r[0] not in text
        if r[1]:
            assert r[1] not in text
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == ["row", "field", "reason"] and parsed[1][:2] == ["3", "id_number"]
    assert len(parsed) == 1 + len(errors)
    assert report_csv(errors, excel=True).startswith("\ufeffrow,field,reason")


def test_one_row_with_several_bad_fields_reports_each(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_bytes(_csv_bytes(EN[:5], [["123", "", "nope", "x", "tomorrow"]], "utf-8"))
    rows, errors = _read(path)
    assert rows == []
    assert {e.field for e in errors} == {"id_number", "name", "category", "region_code", "valid_from"}
    assert {e.row for e in errors} == {2}


@pytest.mark.parametrize("missing", ["id_number", "name", "category", "region_code", "valid_from"])
def test_missing_required_column_fails_before_any_row(tmp_path: Path, missing: str) -> None:
    header = [c for c in ZH if c != COLUMNS[missing]]
    path = tmp_path / "missing.csv"
    path.write_bytes(_csv_bytes(header, [], "utf-8"))
    with pytest.raises(RegisterFormatError) as info:
        open_register(path, today=TODAY)
    assert info.value.field == missing and missing in info.value.reason


def test_duplicate_column(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_bytes(_csv_bytes(EN[:5] + ["姓名"], [], "utf-8"))
    with pytest.raises(RegisterFormatError, match="more than once"):
        open_register(path, today=TODAY)


@pytest.mark.parametrize(("data", "fragment"), [
    ("id_number,name\n".encode("utf-16"), "UTF-16"),
    (b"\xff\xff\xff\xff\x80\x80", "neither UTF-8 nor GB18030"),
    (b"PK\x03\x04rest", "XLSX"),
    (b"", "no header"),
])
def test_unreadable_csv_files(tmp_path: Path, data: bytes, fragment: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(RegisterFormatError, match=fragment):
        open_register(path, today=TODAY)


def test_not_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"id_number,name\n")
    with pytest.raises(RegisterFormatError, match="XLSX"):
        open_register(path, today=TODAY)


def test_invalid_bytes_after_the_first_block_become_row_errors(tmp_path: Path) -> None:
    # The first 64 KiB are plain UTF-8; a stray byte further down is reported on its row only.
    good = [ALL_ROWS[0]] * 800
    body = _csv_bytes(EN, good, "utf-8")
    assert len(body) > 64 * 1024
    tail = make_id().encode() + b",\xff" + "名,低保对象,150222,2020-01-01\r\n".encode()
    path = tmp_path / "late.csv"
    path.write_bytes(body + tail)
    rows, errors = _read(path)
    assert len(rows) == 800
    assert [(e.row, e.field) for e in errors] == [(802, "name")]


def test_rows_stream_lazily(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(_csv_bytes(EN[:5], [r[:5] for r in ALL_ROWS] * 2000, "utf-8"))
    with open_register(path, today=TODAY) as reader:
        it = iter(reader)
        first = next(it)
        assert isinstance(first, RegisterRow) and first.row == 2
        assert sum(1 for _ in it) == 5 * 2000 - 1


def test_tab_separated_export(tmp_path: Path) -> None:
    path = tmp_path / "tabs.csv"
    path.write_bytes(("\t".join(ZH[:5]) + "\n" + "\t".join(ALL_ROWS[0][:5]) + "\n").encode("gb18030"))
    rows, errors = _read(path)
    assert errors == [] and rows[0].id_number == GOOD_ID


def test_row_repr_hides_personal_data() -> None:
    row = next(iter(open_register(io.BytesIO(_csv_bytes(EN[:5], [ALL_ROWS[0][:5]], "utf-8")), today=TODAY)))
    assert isinstance(row, RegisterRow)
    assert GOOD_ID not in repr(row) and "阿依古丽" not in repr(row)


def test_unreadable_csv_record_is_reported_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    huge = "x" * (csv.field_size_limit() + 10)
    body = _csv_bytes(EN[:5], [ALL_ROWS[0][:5], [make_id(), huge, "低保对象", "150222", "2020-01-01"],
                               ALL_ROWS[1][:5]], "utf-8")
    path.write_bytes(body)
    rows, errors = _read(path)
    assert [r.row for r in rows] == [2, 4]
    assert [(e.row, e.field) for e in errors] == [(3, "row")]


def test_optional_value_forms(tmp_path: Path) -> None:
    path = tmp_path / "forms.csv"
    base = [make_id(), "某人", "urban_special", "150222", "2020-01-01", "", "employee", "severe", "URBAN",
            "是", "三无", "b", "有"]
    bad_subgroup = base[:10] + ["其他"] + base[11:]
    bad_class = base[:11] + ["E"] + base[12:]
    path.write_bytes(_csv_bytes(EN[:13], [base, bad_subgroup, bad_class], "utf-8"))
    rows, errors = _read(path)
    assert len(rows) == 1
    r = rows[0]
    assert (r.insurance, r.disability, r.household, r.civil_servant) == \
        (Insurance.employee, Disability.severe, Household.urban, True)
    assert (r.subgroup, r.disease_class, r.labour) == ("三无", "B", True)
    assert [(e.row, e.field) for e in errors] == [(3, "subgroup"), (4, "disease_class")]
