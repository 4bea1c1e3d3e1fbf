"""GET /v1/finance: a hospital's finance view (issue 14 point 8) — what each fund owes it, how old the unpaid
advances are, its claims and what waits on a fund past the policy's deadline; JSON (its legs paged) or the whole
view as CSV / XLSX (`format`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field

from onestop.clearing.budgets.service import RULES
from onestop.clearing.finance import export
from onestop.clearing.finance.aging import Aged, age, totals
from onestop.clearing.reconciliation.service import SHANGHAI
from onestop.clearing.store import books, finance
from onestop.common.auth import CurrentPrincipal, Principal
from onestop.common.errors import Forbidden, InvalidInput, field_error
from onestop.common.money import Yuan, format_fen
from onestop.common.openapi import problem_responses
from onestop.common.pagination import PageDep
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role
from onestop.contracts.regions import significant_digits

router = APIRouter(prefix="/v1", tags=["finance"])


class FundOutstanding(BaseModel):
    payer: str
    region_code: str
    outstanding: Yuan


class AgingBucket(BaseModel):
    bucket: Literal["0-30", "31-60", "61-90", "90+"]
    count: int
    amount: Yuan


class UnpaidLeg(BaseModel):
    settlement_id: str
    payer: str
    region_code: str
    settled_on: str = Field(description="the settlement's day (Asia/Shanghai): the ledger settles at discharge")
    days: int
    bucket: str
    amount: Yuan


class FinanceView(BaseModel):
    hospital_code: str
    as_of: str
    outstanding: list[FundOutstanding] = Field(description="per fund, from the books")
    aging: list[AgingBucket] = Field(description="the unpaid legs by days since discharge, over all of them")
    claims: list[dict[str, Any]] = Field(description="the hospital's claims (submitted, decided, withdrawn) with "
                                                     "their amounts, newest month first")
    awaiting_past_deadline: list[dict[str, Any]] = Field(
        description="submitted claims a fund has not decided within the policy's `claims.review_days` (rules' "
                    "operations of the fund's region; 30 days where it states none)")
    items: list[UnpaidLeg] = Field(description="the unpaid legs, oldest first, paged")
    next_cursor: str | None


def _scope(principal: Principal, hospital_code: str | None) -> tuple[str, str]:
    """(hospital, fund-region prefix): a hospital its own, an operator any, a bureau the funds of its region."""
    if principal.role is Role.hospital:
        if hospital_code not in (None, principal.hospital_code):
            raise Forbidden("hospital_code is not your hospital")
        return principal.hospital_code or "", ""
    if principal.role not in (Role.operator, Role.bureau):
        raise Forbidden("the finance view is for the hospital, its bureau and operators")
    if hospital_code is None:
        raise InvalidInput("hospital_code is required", errors=[field_error("hospital_code", "required")])
    if principal.role is Role.bureau:
        # clearing knows each fund's region, not the hospital's: a bureau sees what its region's funds owe
        region = principal.region_code or ""
        if not region:
            raise Forbidden("this token names no region")
        return hospital_code, region[:significant_digits(region)]
    return hospital_code, ""


async def _claims(runtime: Runtime, session: Any, hospital_code: str, prefix: str,
                  today: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The hospital's claims with their status, and those still undecided `claims.review_days` (rules' operations
    of the fund's region; 30 when it states none) after submission: what waits on a fund past its deadline."""
    rows = await finance.claims_of(session, hospital_code, prefix)
    days: dict[str, int] = {}
    out, late = [], []
    for r in rows:
        item = {"claim_id": str(r.id), "payer": r.payer, "region_code": r.region_code, "setlym": r.setlym,
                "supplementary": r.supplementary, "status": r.status, "count": r.count,
                "fund_amount": format_fen(r.fund_amount), "approved": format_fen(r.approved),
                "rejected": format_fen(r.rejected), "paid": format_fen(r.paid),
                "submitted_at": r.submitted_at.isoformat()}
        out.append(item)
        if r.status != "submitted":
            continue
        if r.region_code not in days:
            try:
                ops = await runtime.extras[RULES].operations(r.region_code, today)
            except Exception:  # rules away: the view still answers, with the default deadline
                ops = {}
            days[r.region_code] = int((ops.get("claims") or {}).get("review_days", 30))
        waited = (today - r.submitted_at.astimezone(SHANGHAI).date()).days
        if waited > days[r.region_code]:
            late.append({**item, "review_days": days[r.region_code], "days_waiting": waited})
    return out, late


async def _view(runtime: Runtime, hospital: str, prefix: str) -> dict[str, Any]:
    today = datetime.now(SHANGHAI).date()
    async with runtime.db.transaction() as session:
        owed = await books.outstanding(session, hospital_code=hospital, payer=None, region_prefix=prefix,
                                       after=None, limit=10_000)
        rows = await finance.unpaid(session, hospital, prefix)
        claims, late = await _claims(runtime, session, hospital, prefix, today)
    aged: list[Aged] = [age(r.settlement_id, r.payer, r.region_code, r.settled_at.astimezone(SHANGHAI).date(),
                            int(r.amount), today) for r in rows]
    return {
        "hospital_code": hospital, "as_of": today.isoformat(),
        "outstanding": [{"payer": o.payer, "region_code": o.region_code, "outstanding": format_fen(int(o.outstanding))}
                        for o in owed],
        "aging": [{"bucket": b, "count": n, "amount": format_fen(a)} for b, (n, a) in totals(aged).items()],
        "claims": claims, "awaiting_past_deadline": late,
        "items": [{"settlement_id": a.settlement_id, "payer": a.payer, "region_code": a.region_code,
                   "settled_on": a.settled_on.isoformat(), "days": a.days, "bucket": a.bucket,
                   "amount": format_fen(a.amount)} for a in aged],
    }


_EXPORTS = {200: {"content": {"text/csv": {"schema": {"type": "string"}},
                               "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                                   "schema": {"type": "string", "format": "binary"}}}}}


@router.get("/finance", response_model=FinanceView, responses={**_EXPORTS, **problem_responses(401, 403, 422)},
            summary="A hospital's finance view: outstanding per fund, aging, claims (JSON, CSV or XLSX)",
            description="`format=csv` gives the unpaid legs one a row; `format=xlsx` a workbook with the sheets "
                        "outstanding, aging and unpaid; both whole (not paged). JSON pages `items` with "
                        "`limit`/`cursor`. Amounts are yuan strings.")
async def get_finance(principal: CurrentPrincipal, runtime: Annotated[Runtime, Depends(runtime_of)], page: PageDep,
                      hospital_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] = None,
                      format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json") -> Any:  # noqa: A002
    hospital, prefix = _scope(principal, hospital_code)
    view = await _view(runtime, hospital, prefix)
    if format == "csv":
        return Response(export.csv_of(view), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="finance.csv"'})
    if format == "xlsx":
        return Response(export.xlsx_of(view),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="finance.xlsx"'})
    items, nxt = page.slice(view["items"], lambda i: (i["settled_on"], i["settlement_id"], i["payer"],
                                                      i["region_code"]), (str, str, str, str))
    return {**view, "items": items, "next_cursor": nxt}
