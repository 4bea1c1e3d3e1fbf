"""Fund budgets (003 二(三)2: 医疗扶贫救助基金 gap_fill of 150222, 1045万元 for 2017–2020): consumption from
postings within the period, `clearing.budget.threshold_reached.v1` once at 80% and once at 100% on the real
nats-server, nothing refused above it; GET /v1/budgets within scope; bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import nats
import pytest
from clearing_helpers import count_transfers, finalized, ledger_stream

from onestop.clearing.app import create_app
from onestop.common.testing import bearer, eventually, running

OPS = bearer("operator")
BUDGET = 10_450_000_00  # 1045万元 in fen (003)


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url


def _gap_fill(fen: int, year: int = 2018) -> Any:
    s = finalized({"gap_fill": fen})
    return s.model_copy(update={"settled_at": datetime(year, 6, 1, 10, tzinfo=UTC)})


async def test_thresholds_once_each_and_nothing_refused(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    from onestop.rules.app import create_app as rules_app

    rules = rules_app(settings_for("rules"))
    async with running(rules):
        settings = settings_for("clearing", database_name=make_database("clearing"), nats=own_nats,
                                consumer_retry_max_s=0.5, budget_check_interval_s=0.1)
        app = create_app(settings, rules_transport=httpx.ASGITransport(rules))
        seen: list[dict[str, Any]] = []
        nc = await nats.connect(own_nats)

        async def got(msg: Any) -> None:
            seen.append({**json.loads(msg.data), "nats_subject": msg.subject})

        await nc.subscribe("onestop.clearing.budget.>", cb=got)
        try:
            async with ledger_stream(own_nats) as ledger, running(app) as client:
                async def posted(n: int) -> None:
                    async def done() -> bool:
                        return await count_transfers(app) == n
                    await eventually(done)

                async def quiet() -> None:  # several check rounds pass
                    await asyncio.sleep(0.5)

                await ledger.publish(_gap_fill(BUDGET * 80 // 100 - 1))
                await ledger.publish(_gap_fill(5_000_000_00, year=2021))  # outside the period: not consumed
                await posted(2)
                await quiet()
                assert seen == []
                r = await client.get("/v1/budgets", params={"region_code": "150222"}, headers=OPS)
                assert r.status_code == 200, r.text
                [b] = r.json()
                assert b["payer"] == "gap_fill" and b["budget"] == "10450000.00"
                assert b["consumed"] == "8359999.99" and b["thresholds_reached"] == []
                assert b["shares"] == {"city": 1, "county": 1} and b["period"] == {"start": "2017-01-01",
                                                                                  "end": "2020-12-31"}

                await ledger.publish(_gap_fill(1))  # exactly 80% (836万元)
                await posted(3)
                await eventually(lambda: _n(seen, 1))
                await ledger.publish(_gap_fill(BUDGET // 5 + 1_00))  # past 100%
                await posted(4)
                await eventually(lambda: _n(seen, 2))
                await ledger.publish(_gap_fill(3_00))  # above the budget: still posted, no third event
                await posted(5)
                await quiet()
                assert [(e["type"], e["data"]["threshold_percent"]) for e in seen] == [
                    ("clearing.budget.threshold_reached.v1", 80), ("clearing.budget.threshold_reached.v1", 100)]
                subject = "onestop.clearing.budget.threshold_reached.gap_fill.150000.150200.150222"
                assert seen[0]["nats_subject"] == subject
                assert seen[0]["data"]["consumed"] == "8360000.00" and seen[1]["data"]["consumed"] == "10450001.00"
                [b] = (await client.get("/v1/budgets", params={"region_code": "150222"}, headers=OPS)).json()
                assert b["thresholds_reached"] == [80, 100] and b["remaining"] == "-4.00"
                assert b["percent"] == "100.00"

                async def get(headers: dict[str, str], region: str = "150222") -> httpx.Response:
                    return await client.get("/v1/budgets", params={"region_code": region}, headers=headers)

                assert len((await get(bearer("bureau", region_code="150200"))).json()) == 1
                assert (await get(bearer("bureau", region_code="410000"))).status_code == 403
                assert len((await get(bearer("payer", payer="gap_fill", region_code="150222"))).json()) == 1
                assert (await get(bearer("payer", payer="basic", region_code="150222"))).json() == []
                assert (await get(bearer("hospital", hospital_code="H150222001"))).status_code == 403
                bad = await get(OPS, region="15022")
                assert bad.status_code == 422 and "region_code" in bad.text
                missing = await client.get("/v1/budgets", headers=OPS)
                assert missing.status_code == 422 and "region_code" in missing.text
        finally:
            await nc.close()


async def _n(seen: list[Any], n: int) -> bool:
    return len(seen) == n
