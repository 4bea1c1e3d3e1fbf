"""A settlement and its reversal made over the ledger's HTTP API reach clearing through the ledger's outbox and
the real nats-server: each fund's leg is posted once, with the ledger's amounts, and the reversal nets it."""

from __future__ import annotations

import uuid

from clearing_helpers import clearing, rows
from e2e_helpers import settled
from ledger_api_helpers import SHANZHOU_HOSPITAL

from onestop.common.testing import bearer, eventually
from onestop.contracts.money import parse_yuan

H = SHANZHOU_HOSPITAL


async def test_the_ledgers_settlement_and_reversal_are_posted_per_fund(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, settings_for, make_database, ledger_nats_url) -> None:
    _app, client = ledger
    async with clearing(settings_for, make_database("clearing"), ledger_nats_url) as (app, http):
        first = await settled(client, ledger_identity)
        funds = {f["payer"]: parse_yuan(f["amount"]) for f in first["funds"] if parse_yuan(f["amount"])}
        assert funds, first

        async def legs(code: str, n: int) -> bool:
            return len(await rows(app, "SELECT id FROM transfer WHERE code = :c AND settlement_id = ANY(:s)",
                                  c=code, s=[first["settlement_id"], *reversal_ids])) == n

        reversal_ids: list[str] = []
        # generous waits: in the whole suite the session's ledger stream holds every ledger test's events first
        await eventually(lambda: legs("advance", len(funds)), timeout=90)
        advance = {r.payer: int(r.amount) for r in await rows(
            app, "SELECT payer, amount FROM transfer WHERE settlement_id = :s", s=first["settlement_id"])}
        assert advance == funds
        r = await client.post(f"/v1/settlements/{first['settlement_id']}/reversal", json={"reason": "录错"},
                              headers={**bearer("hospital", hospital_code=H), "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 201, r.text
        reversal_ids.append(r.json()["settlement_id"])
        await eventually(lambda: legs("reversal", len(funds)), timeout=90)
        # (other tests' settlements at this hospital may be on the session's stream: compare this one's legs)
        pairs = await rows(app, "SELECT o.payer, o.amount AS advanced, c.amount AS corrected, c.credit_account_id "
                                "= o.debit_account_id AS back_out_of_advance FROM transfer c JOIN transfer o "
                                "ON o.id = c.corrects_id WHERE c.settlement_id = :s", s=reversal_ids[0])
        assert {p.payer: (int(p.advanced), int(p.corrected)) for p in pairs} == {k: (v, v) for k, v in funds.items()}
        assert all(p.back_out_of_advance for p in pairs)
        assert (await http.get("/v1/invariants", headers=bearer("operator"))).json()["ok"]
