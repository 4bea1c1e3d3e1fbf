"""GET /v1/finance over HTTP: outstanding per fund from the books, aging buckets from dated postings (a reversal
taken off), the legs paged, CSV and XLSX that open and add up; scopes; bad input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from clearing_helpers import HOSPITAL, clearing, count_transfers, finalized, ledger_stream, reversal_of
from openpyxl import load_workbook

from onestop.common.testing import bearer, eventually

OPS = bearer("operator")


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url


def _days_ago(funds: dict[str, int], days: int, **kw: Any) -> Any:
    s = finalized(funds, **kw)
    return s.model_copy(update={"settled_at": datetime.now(UTC) - timedelta(days=days, hours=1)})


async def test_aging_exports_and_scopes(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    fresh = _days_ago({"basic": 100_00, "critical_illness": 10_00}, 5)
    month = _days_ago({"basic": 200_00}, 45)
    quarter = _days_ago({"basic": 300_00}, 75)
    old = _days_ago({"basic": 400_00}, 120)
    gone = _days_ago({"basic": 999_00}, 100)
    elsewhere = _days_ago({"basic": 7_00}, 10, hospital="H410000001", region="410000")
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        for e in (fresh, month, quarter, old, gone, reversal_of(gone), elsewhere):
            await ledger.publish(e)

        async def posted() -> bool:
            return await count_transfers(app) == 8
        await eventually(posted)

        hosp = bearer("hospital", hospital_code=HOSPITAL)
        r = await client.get("/v1/finance", headers=hosp)
        assert r.status_code == 200, r.text
        view = r.json()
        assert view["outstanding"] == [
            {"payer": "basic", "region_code": "150222", "outstanding": "1000.00"},
            {"payer": "critical_illness", "region_code": "150222", "outstanding": "10.00"}]
        assert view["aging"] == [{"bucket": "0-30", "count": 2, "amount": "110.00"},
                                 {"bucket": "31-60", "count": 1, "amount": "200.00"},
                                 {"bucket": "61-90", "count": 1, "amount": "300.00"},
                                 {"bucket": "90+", "count": 1, "amount": "400.00"}]
        assert [i["settlement_id"] for i in view["items"]] == [old.settlement_id, quarter.settlement_id,
                                                               month.settlement_id, fresh.settlement_id,
                                                               fresh.settlement_id]
        assert view["claims"] == [] and view["awaiting_past_deadline"] == [] and view["next_cursor"] is None
        # the aging adds up to what the funds owe (no claims yet: nothing is paid or rejected)
        assert sum(Decimal(a["amount"]) for a in view["aging"]) == sum(
            Decimal(o["outstanding"]) for o in view["outstanding"])

        first = (await client.get("/v1/finance", params={"limit": 3}, headers=hosp)).json()
        rest = (await client.get("/v1/finance", params={"limit": 3, "cursor": first["next_cursor"]},
                                 headers=hosp)).json()
        assert first["items"] + rest["items"] == view["items"] and rest["next_cursor"] is None

        r = await client.get("/v1/finance", params={"format": "csv"}, headers=hosp)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(r.text)))
        assert len(rows) == 5 and sum(Decimal(x["amount"]) for x in rows) == Decimal("1010.00")
        assert {x["bucket"] for x in rows} == {"0-30", "31-60", "61-90", "90+"}

        r = await client.get("/v1/finance", params={"format": "xlsx", "hospital_code": HOSPITAL}, headers=OPS)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
        wb = load_workbook(io.BytesIO(r.content))
        assert wb.sheetnames == ["outstanding", "aging", "unpaid"]
        aging = list(wb["aging"].iter_rows(min_row=2, values_only=True))
        unpaid = list(wb["unpaid"].iter_rows(min_row=2, values_only=True))
        assert sum(Decimal(a[2]) for a in aging) == sum(Decimal(u[6]) for u in unpaid) == Decimal("1010.00")

        other = bearer("hospital", hospital_code="H410000001")
        assert (await client.get("/v1/finance", params={"hospital_code": HOSPITAL}, headers=other)).status_code == 403
        bureau = bearer("bureau", region_code="410000")  # sees only what its region's funds owe that hospital
        assert (await client.get("/v1/finance", params={"hospital_code": HOSPITAL},
                                 headers=bureau)).json()["outstanding"] == []
        mine = bearer("bureau", region_code="150000")
        assert len((await client.get("/v1/finance", params={"hospital_code": HOSPITAL},
                                     headers=mine)).json()["outstanding"]) == 2
        fund = bearer("payer", payer="basic", region_code="150222")
        assert (await client.get("/v1/finance", params={"hospital_code": HOSPITAL}, headers=fund)).status_code == 403
        for params, field in (({}, "hospital_code"), ({"hospital_code": HOSPITAL, "format": "pdf"}, "format"),
                              ({"hospital_code": "H 1"}, "hospital_code"),
                              ({"hospital_code": HOSPITAL, "limit": "0"}, "limit")):
            r = await client.get("/v1/finance", params=params, headers=OPS)
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
            assert field in r.text
