"""Helpers for identity's API tests: ID numbers, register files, tokens."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

from onestop.common.testing import mint
from onestop.identity.domain.id_number import check_digit

EN = ["id_number", "name", "category", "region_code", "valid_from", "valid_to", "insurance", "disability",
      "household", "civil_servant", "subgroup", "guardian_name"]
ZH = ["身份证号码", "姓名", "人员类别", "行政区划代码", "起始日期", "终止日期", "参保类型", "残疾等级",
      "户籍性质", "公职人员", "细类", "监护人"]
NAMES = ["王秀英", "李建国", "张桂兰", "刘志强"]


def make_id(region: str, seq: int, born: date = date(1970, 5, 17)) -> str:
    """A valid 18-character ID number; `seq` keeps numbers of one test apart."""
    first17 = f"{region}{born:%Y%m%d}{seq % 1000:03d}"
    return first17 + check_digit(first17)


def unique_seq() -> int:
    return uuid.uuid4().int % 1000


def fresh_ids(region: str, n: int) -> list[str]:
    """n ID numbers no other test uses: one random birth date (not the default) and sequences 0..n-1."""
    assert n <= 1000
    born = date(1930, 1, 1) + timedelta(days=uuid.uuid4().int % 14_000)
    if born == date(1970, 5, 17):
        born += timedelta(days=1)
    return [make_id(region, i, born) for i in range(n)]


def row(id_number: str, category: str, region: str, *, valid_from: str = "2024-01-01", valid_to: str = "",
        insurance: str = "", household: str = "", civil_servant: str = "", subgroup: str = "",
        name: str = "王秀英", disability: str = "", guardian: str = "") -> list[str]:
    return [id_number, name, category, region, valid_from, valid_to, insurance, disability, household,
            civil_servant, subgroup, guardian]


def csv_bytes(rows: list[list[str]], *, header: list[str] = ZH, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def auth(app: Any, role: str = "operator", **claims: Any) -> dict[str, str]:
    token = mint(role, **claims)
    return {"Authorization": f"Bearer {token}"}


def idem(app: Any, role: str = "operator", **claims: Any) -> dict[str, str]:
    return {**auth(app, role, **claims), "Idempotency-Key": str(uuid.uuid4())}


async def upload(client: Any, app: Any, content: bytes, *, filename: str = "register.csv",
                 source: str = "poverty_office", headers: dict[str, str] | None = None, **form: str) -> Any:
    return await client.post("/v1/imports", files={"file": (filename, content)},
                             data={"source": source, **form}, headers=headers or idem(app))


async def drained(app: Any) -> None:
    """Wait until identity's outbox has published everything (later tests count what is published)."""
    import asyncio

    from sqlalchemy import text

    for _ in range(300):
        async with app.state.runtime.db.transaction() as s:
            if not (await s.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))).scalar_one():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox did not drain")
