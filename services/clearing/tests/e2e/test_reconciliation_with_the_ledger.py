"""Reconciliation against the real ledger: clearing asks `GET /v1/settlements` with its own `service` token (the
ledger's grant), and a settlement made over the ledger's HTTP API and posted from its outbox's event reconciles:
its legs are in the totals of both sides and in no mismatch; a cut-off before it leaves it out of both."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from clearing_helpers import rows
from e2e_helpers import settled
from ledger_api_helpers import SHANZHOU_HOSPITAL

from onestop.clearing.app import create_app
from onestop.common.testing import bearer, eventually, running
from onestop.contracts.money import parse_yuan

H = SHANZHOU_HOSPITAL


async def test_a_ledger_settlement_reconciles(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, settings_for, make_database, ledger_nats_url) -> None:
    ledger_app, client = ledger
    settings = settings_for("clearing", database_name=make_database("clearing"), nats=ledger_nats_url,
                            consumer_retry_max_s=0.5, reconciliation_lag_s=0)
    app = create_app(settings, ledger_transport=httpx.ASGITransport(ledger_app))
    async with running(app) as http:
        first = await settled(client, ledger_identity)
        funds = {f["payer"]: parse_yuan(f["amount"]) for f in first["funds"] if parse_yuan(f["amount"])}

        async def posted() -> bool:
            return len(await rows(app, "SELECT id FROM transfer WHERE settlement_id = :s",
                                  s=first["settlement_id"])) == len(funds)

        await eventually(posted, timeout=90)
        period = first.get("period") or "2026-03"
        # just before the ledger committed it (other tests' settlements at this hospital may be just before too)
        before = datetime.fromisoformat(first["settled_at"]) - timedelta(microseconds=1)
        r = await http.get("/v1/reconciliation", params={"hospital_code": H, "period": period},
                           headers=bearer("operator"))
        assert r.status_code == 200, r.text  # the ledger answered clearing's service token
        body: dict[str, Any] = r.json()
        assert all(m["settlement_id"] != first["settlement_id"] for m in body["mismatches"]), body["mismatches"]
        mine = {g["payer"]: g for g in body["groups"] if g["hospital_code"] == H and g["period"] == period}
        assert set(funds) <= set(mine)
        for payer in funds:
            assert mine[payer]["ledger"]["count"] >= 1 and mine[payer]["clearing"]["count"] >= 1
        r = await http.get("/v1/reconciliation", params={"hospital_code": H, "period": period,
                                                         "cutoff": before.isoformat()}, headers=bearer("operator"))
        assert r.status_code == 200
        assert all(m["settlement_id"] != first["settlement_id"] for m in r.json()["mismatches"])
        counts = {g["payer"]: g["ledger"]["count"] for g in r.json()["groups"] if g["period"] == period}
        for payer in funds:
            assert counts.get(payer, 0) == mine[payer]["ledger"]["count"] - 1
