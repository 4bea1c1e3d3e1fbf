"""Helpers shared by the rules API tests (a uniquely named module: tests run with --import-mode=importlib,
where two folders' `conftest` would shadow each other)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from onestop.common.testing import mint


def bearer(app: Any, role: str = "operator", **claims: Any) -> dict[str, str]:
    claims.setdefault("subject", f"{role}:{uuid.uuid4().hex[:8]}")
    return {"Authorization": f"Bearer {mint(role, **claims)}"}


def idem(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or str(uuid.uuid4())}


def pinned_body(region: str = "150222", **over: Any) -> dict[str, Any]:
    """The DESIGN §9.1 body, with a few more lines so every payer has something to pay."""
    body: dict[str, Any] = {
        "region_code": region,
        "date": "2026-03-10",
        "person": {"categories": ["registered_poor"], "insurance": "resident", "disability": None},
        "stay": {"kind": "inpatient", "hospital_level": "county", "disease_code": None},
        "accumulators": {},
        "lines": [
            {"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A", "amount": "35.00"},
            {"line_id": "L2", "code": "110200001", "name": "住院诊查费", "class": "A", "amount": "8600.00"},
            {"line_id": "L3", "code": "XB01ABA001", "name": "低分子肝素钙注射液", "class": "B", "amount": "1250.40"},
            {"line_id": "L4", "code": "ZZ0000001", "name": "营养餐", "class": "C", "amount": "180.00"},
            {"line_id": "L5", "code": "LOCAL0001", "name": "本地项目", "class": "B", "amount": "64.10"},
        ],
    }
    body.update(over)
    return body


def shipped_text(region: str) -> str:
    from onestop.rules.settings import SHIPPED_POLICIES

    return (SHIPPED_POLICIES / region / "policy.v1.yaml").read_text(encoding="utf-8")


def with_version(text: str, version: int) -> str:
    return re.sub(r"(?m)^version: \d+", f"version: {version}", text, count=1)


async def latest_version(client: httpx.AsyncClient, app: Any, policy_id: str) -> int:
    from onestop.common.testing import all_items

    versions = await all_items(client, "/v1/policies", headers=bearer(app))
    return max(v["version"] for v in versions if v["policy_id"] == policy_id)
