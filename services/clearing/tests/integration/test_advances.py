"""GET /v1/advances over HTTP: what each fund owes each hospital from the posted books, within each caller's
scope (hospital, payer of a fund, bureau of a region, operator), a reversal taken off, paged on request."""

from __future__ import annotations

import pytest
from clearing_helpers import HOSPITAL, clearing, count_transfers, finalized, ledger_stream, reversal_of

from onestop.common.testing import bearer, eventually

OTHER = "H410000001"


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url


async def test_advances_per_hospital_and_fund_within_scope(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 600_00, "critical_illness": 100_00})
    b = finalized({"basic": 50_00})
    c = finalized({"basic": 7_00}, hospital=OTHER, region="410000")
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        for e in (a, b, c, reversal_of(b)):
            await ledger.publish(e)

        async def posted() -> bool:
            return await count_transfers(app) == 5

        await eventually(posted)

        async def get(role: str, **params: str) -> tuple[int, object]:
            claims = {k: params.pop(k) for k in ("hospital_code_claim", "payer_claim", "region_claim") if k in params}
            token = {"hospital_code": claims.get("hospital_code_claim"), "payer": claims.get("payer_claim"),
                     "region_code": claims.get("region_claim")}
            r = await client.get("/v1/advances", params=params,
                                 headers=bearer(role, **{k: v for k, v in token.items() if v}))
            return r.status_code, r.json()

        everything = [{"hospital_code": HOSPITAL, "payer": "basic", "region_code": "150222", "outstanding": "600.00"},
                      {"hospital_code": HOSPITAL, "payer": "critical_illness", "region_code": "150222",
                       "outstanding": "100.00"},
                      {"hospital_code": OTHER, "payer": "basic", "region_code": "410000", "outstanding": "7.00"}]
        assert await get("operator") == (200, everything)
        assert await get("hospital", hospital_code_claim=HOSPITAL) == (200, everything[:2])
        assert (await get("hospital", hospital_code_claim=HOSPITAL, hospital_code=OTHER))[0] == 403
        assert await get("payer", payer_claim="basic", region_claim="150222") == (200, everything[:1])
        assert (await get("payer", payer_claim="basic", region_claim="150222", payer="charity"))[0] == 403
        assert await get("payer", payer_claim="basic", region_claim="410000") == (200, everything[2:])
        assert await get("bureau", region_claim="150000") == (200, everything[:2])
        assert (await get("bureau", region_claim="150222", region_code="410000"))[0] == 403
        first = await client.get("/v1/advances", params={"limit": 2}, headers=bearer("operator"))
        assert first.json() == everything[:2] and first.headers["Next-Cursor"]
        rest = await client.get("/v1/advances", params={"limit": 2, "cursor": first.headers["Next-Cursor"]},
                                headers=bearer("operator"))
        assert rest.json() == everything[2:] and "Next-Cursor" not in rest.headers
        for bad in ({"cursor": "bm90IG9uZQ"}, {"region_code": "15022"}, {"payer": "Basic"}, {"limit": "0"}):
            r = await client.get("/v1/advances", params=bad, headers=bearer("operator"))
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
            assert r.json()["errors"][0]["field"] in {"cursor", "region_code", "payer", "limit"}, r.json()
