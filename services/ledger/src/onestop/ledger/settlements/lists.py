"""GET /v1/settlements (DESIGN §9.1): settlements for clearing's reconciliation, a fund's reviewer and bureaus.

Finals, mid-stay parts and reversals (a reversal's amounts negative), each with every fund's amount and a link to
its lines, in `seq` order (the order they were written: a cursor stays valid while settlements are added, and
later ones come after it; `seq` is drawn at insert, so one whose transaction commits after a walk passed its
number is seen by the next walk, not this one — a reconciliation reads as of a cut-off), with the totals over
the whole filtered set on every page (computed per request: they may grow between pages while settling goes on).

`period` (YYYY-MM) is the month of the settlement's `through` date: the discharge date of a final settlement, the
last day of a mid-stay part, in Asia/Shanghai — NHSA's 结算年月 `setlym`, the month clearing claims it in. A
reversal carries the `through` of the settlement it reverses, so it falls in that month too (clearing's
supplementary claim of the month takes it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from onestop.common.auth import Principal
from onestop.common.pagination import PageRequest
from onestop.common.service_app import Runtime
from onestop.contracts.money import format_fen
from onestop.contracts.settlement_list import FundPaid, PayerTotal, SettlementItem, SettlementPage, SettlementTotals
from onestop.ledger.settlements.scope import Asked, list_filter
from onestop.ledger.store import audit, settlement_lists

ENDPOINT = "GET /v1/settlements"


async def listing(runtime: Runtime, principal: Principal, asked: Asked, page: PageRequest) -> SettlementPage:
    flt = list_filter(principal, asked)
    after = page.after((int,))
    async with runtime.db.transaction() as session:
        rows = await settlement_lists.page(session, flt, after_seq=int(after[0]) if after else None,
                                           limit=page.limit + 1)
        sums, payers = await settlement_lists.totals(session, flt)
        funds = await settlement_lists.funds_of(session, [r["settlement_id"] for r in rows[: page.limit]])
        # one row per request naming the filter as asked (codes and a month: nothing personal)
        await audit.record(session, principal, ENDPOINT, detail=_filter_text(asked))
    items, next_cursor = page.of(rows, lambda r: (r["seq"],))
    return SettlementPage(
        items=[_item(r, funds[r["settlement_id"]]) for r in items],
        # the models' Yuan fields read a number as yuan: amounts in fen go in as yuan strings
        totals=SettlementTotals(count=sums["count"], total=format_fen(sums["total"]),  # type: ignore[arg-type]
                                fund_pay=format_fen(sums["fund_pay"]),  # type: ignore[arg-type]
                                self_pay=format_fen(sums["self_pay"]),  # type: ignore[arg-type]
                                hosp_part_amt=format_fen(sums["hosp_part"]),  # type: ignore[arg-type]
                                payers=[PayerTotal(payer=p, amount=format_fen(v)) for p, v in payers]),  # type: ignore[arg-type]
        next_cursor=next_cursor)


def _filter_text(asked: Asked) -> str:
    return urlencode({k: v for k, v in vars(asked).items() if v is not None})


def _item(r: dict[str, Any], funds: list[dict[str, Any]]) -> SettlementItem:
    return SettlementItem(
        settlement_id=r["settlement_id"], stay_id=r["stay_id"], kind=r["kind"], part_index=r["part_index"],
        final=r["final"], reverses=r["reverses"], reversed_by=r["reversed_by"], person_ref=r["person_ref"],
        newborn=r["newborn"] or None, hospital_code=r["hospital_code"],
        hospital_region_code=r["hospital_region_code"], region_code=r["insurance_region_code"],
        period=r["through"].strftime("%Y-%m"), starts_on=r["starts_on"], through=r["through"],
        total=format_fen(r["total_fen"]), fund_pay=format_fen(r["fund_pay_fen"]),  # type: ignore[arg-type]
        self_pay=format_fen(r["self_pay_fen"]), hosp_part_amt=format_fen(r["hosp_part_fen"]),  # type: ignore[arg-type]
        funds=[FundPaid(payer=f["payer"], name=f["name"], nhsa_code=f["nhsa_code"],
                        amount=format_fen(f["amount_fen"])) for f in funds],  # type: ignore[arg-type]
        settled_at=r["settled_at"], lines=f"/v1/settlements/{r['settlement_id']}/lines")
