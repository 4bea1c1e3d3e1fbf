"""The finance view as CSV (its unpaid legs, one a row) and XLSX (sheets: outstanding, aging, unpaid legs)."""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook

LEG_COLUMNS = ("settlement_id", "payer", "region_code", "settled_on", "days", "bucket", "amount")


def csv_of(view: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(LEG_COLUMNS)
    for i in view["items"]:
        w.writerow([i[c] for c in LEG_COLUMNS])
    return out.getvalue()


def xlsx_of(view: dict[str, Any]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    sheet.title = "outstanding"
    sheet.append(["payer", "region_code", "outstanding"])
    for o in view["outstanding"]:
        sheet.append([o["payer"], o["region_code"], o["outstanding"]])  # yuan strings: exact, never float
    aging = wb.create_sheet("aging")
    aging.append(["bucket", "count", "amount"])
    for a in view["aging"]:
        aging.append([a["bucket"], a["count"], a["amount"]])
    legs = wb.create_sheet("unpaid")
    legs.append(list(LEG_COLUMNS))
    for i in view["items"]:
        legs.append([i[c] for c in LEG_COLUMNS])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
