"""Shared by the ledger's API tests: registers imported into identity, hospital tokens, request bodies, the
outbox as the ledger wrote it. (Importable under --import-mode=importlib: conftest.py puts this folder on the path.)"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import text

from onestop.common.testing import bearer
from onestop.identity.domain.id_number import check_digit

HENAN, SHANZHOU_HOSPITAL = "411203", "H411203001"
QIDONG, QIDONG_PEOPLES, QIDONG_TCM = "320681", "H320681001", "H320681002"
HEADER = ["id_number", "name", "category", "region_code", "valid_from", "valid_to", "insurance", "disability",
          "household", "civil_servant", "subgroup", "guardian_name"]
NAME = "王秀英"


def fresh_id(region: str) -> str:
    born = date(1940, 1, 1) + timedelta(days=uuid.uuid4().int % 20_000)
    first17 = f"{region}{born:%Y%m%d}{uuid.uuid4().int % 1000:03d}"
    return first17 + check_digit(first17)


async def register(identity: Any, number: str, region: str, category: str | None, insurance: str) -> None:
    """The person on a register (poverty office) and insured (insurance bureau), as identity imports them."""
    _app, client = identity
    files = [("insurance", [number, NAME, "参保人员", region, "2024-01-01", "", insurance, "", "", "", "", ""])]
    if category:
        files.append(("poverty_office", [number, NAME, category, region, "2024-01-01", "", "", "", "农村", "", "",
                                         ""]))
    for source, row in files:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerows([HEADER, row])
        r = await client.post("/v1/imports", files={"file": ("r.csv", buf.getvalue().encode())},
                              data={"source": source}, headers={**bearer("operator"),
                                                                 "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201 and not r.json()["rejected"], r.text


def hospital(code: str) -> dict[str, str]:
    return {**bearer("hospital", hospital_code=code), "Idempotency-Key": str(uuid.uuid4())}


def agreement_body(number: str, region: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"id_number": number, "region_code": region, "hospital_code": code,
            "signer": {"name": NAME, "relation": "self"}, **extra}


def stay_body(agreement_id: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"agreement_id": agreement_id, "hospital_code": code, "admitted_at": "2026-03-10T09:30:00+08:00",
            **extra}


async def outbox(app: Any, entity_id: str) -> list[dict[str, Any]]:
    async with app.state.runtime.db.transaction() as s:
        rows = (await s.execute(text("SELECT subject, type, envelope FROM outbox WHERE envelope->>'subject' = :e "
                                     "ORDER BY id"), {"e": entity_id})).mappings().all()
    return [dict(r) for r in rows]
