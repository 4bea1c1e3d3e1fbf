"""The ledger's `GET /v1/settlements` as a small ASGI app answering its contract (SettlementPage) from the
settlements a test says the ledger holds: the reconciliation's HTTP client, its paging and its scope parameters
are exercised for real, without running identity, rules and a ledger per test (the e2e test runs the real one).
It checks that clearing calls with its own `service` token."""

from __future__ import annotations

from typing import Any

import jwt
from fastapi import FastAPI, HTTPException, Request

from onestop.common.money import format_fen
from onestop.contracts.events.ledger import SettlementFinalized, SettlementReversed
from onestop.contracts.settlement_list import FundPaid, SettlementItem, SettlementPage, SettlementTotals


def item(s: SettlementFinalized | SettlementReversed, **override: Any) -> SettlementItem:
    """The ledger's list item of a settlement event (`override`: a ledger that says otherwise)."""
    funds = override.pop("funds", {f.payer: f.amount for f in s.funds})
    reverses = getattr(s, "reverses_settlement_id", None)
    fields: dict[str, Any] = dict(
        settlement_id=s.settlement_id, stay_id=s.stay_id, kind="reversal" if reverses else "final",
        part_index=s.part_index, final=s.final, reverses=reverses, reversed_by=None, person_ref=s.person_ref,
        newborn=None, hospital_code=s.hospital_code, hospital_region_code=s.hospital_region_code,
        region_code=s.region_code, period=s.discharged_on.strftime("%Y-%m"), starts_on=s.admitted_on,
        through=s.discharged_on, total=format_fen(s.total), fund_pay=format_fen(sum(funds.values())),
        self_pay=format_fen(s.self_pay), hosp_part_amt=format_fen(s.hosp_part_amt),
        funds=[FundPaid(payer=p, name=p, nhsa_code=None, amount=format_fen(a)) for p, a in funds.items()],
        settled_at=s.settled_at, lines=f"/v1/settlements/{s.settlement_id}/lines")
    return SettlementItem(**{**fields, **override})


def ledger_app(held: list[SettlementItem], calls: list[dict[str, str]]) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/settlements")
    async def settlements(request: Request) -> Any:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        claims = jwt.decode(token, options={"verify_signature": False})
        if claims.get("sub") != "service:clearing" or claims.get("aud") != "ledger":
            raise HTTPException(403)
        q = dict(request.query_params)
        calls.append(q)
        rows = [i for i in held if q.get("hospital_code") in (None, i.hospital_code)
                and q.get("period") in (None, i.period)
                and (q.get("payer") is None or any(f.payer == q["payer"] for f in i.funds))
                and i.region_code.startswith(q.get("region_code", "").rstrip("0")[:6])]
        start, limit = int(q.get("cursor", 0)), int(q.get("limit", 100))
        page = rows[start:start + limit]
        nxt = str(start + limit) if start + limit < len(rows) else None
        totals = SettlementTotals(count=len(rows), total="0", fund_pay="0", self_pay="0", hosp_part_amt="0",
                                  payers=[])
        return SettlementPage(items=page, totals=totals, next_cursor=nxt).model_dump(mode="json")

    return app
