"""GET /v1/operations: a region's operational policy data (issue 11 point 9)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from onestop.common.clock import today
from onestop.contracts.quote import IllustrativeValue, PolicyRef
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep
from onestop.rules.domain.operations import Operations

router = APIRouter(prefix="/v1", tags=["reference data"])


class OperationsRead(BaseModel):
    """A region's operations as in force on `date`; `policy` names the version (and the parents) they come
    from. (No Field description on `policy`: generating the OpenAPI document would write it into the
    shared PolicyRef schema the AsyncAPI document of the quote reply is built from.)"""

    region_code: str
    date: date
    policy: PolicyRef
    operations: Operations
    illustrative: list[IllustrativeValue] = Field(
        description="which of these values no seed states (marked illustrative: true in the policy)")


@router.get(
    "/operations", response_model=OperationsRead, summary="The region's operational policy data on a date",
    description=(
        "What the ledger, the repayment checks, clearing and the indicators read of the policy besides the "
        "payer waterfall, inherited province → city → county like the rest of it:\n"
        "- `cost_alerts.thresholds`: tell the patient when a stay's running estimate crosses each total "
        "(启东 004 二(三): 预计超过限额的患者，要及时提醒);\n"
        "- `repayment.grace_days` after a due date before an instalment is overdue, and "
        "`repayment.reminder_lead_days` before it (descending);\n"
        "- `documents.returned_on`: `payment` (the documents held under the agreement go back once the "
        "self-pay is paid) or `signed_plan` (once a repayment plan is signed);\n"
        "- `claims.apply_by_day` of the month after the settlements' month, `claims.review_days` the fund "
        "has to decide;\n"
        "- `funds`: budgets with their period and contributors' shares (固阳 003: 医疗扶贫救助基金 "
        "1045万元 for 2017–2020, 市县1:1); every fund is listed with its period, also outside it;\n"
        "- `indicators.effective_ratio_target`: the 实际报销比例 indicators compare against (95%, 003).\n"
        "Money in yuan strings, ratios as decimal strings. Any authenticated role, the `service` role "
        "included. `date` defaults to today (Asia/Shanghai)."),
)
async def get_operations(policies: PoliciesDep, _p: CurrentPrincipal,
                         region_code: Annotated[str, Query(pattern=r"^\d{6}$", description="GB/T 2260")],
                         on: Annotated[date | None, Query(alias="date")] = None) -> Any:
    on = on or today()
    rp = policies.resolve(region_code, on)
    values = rp.illustrative.values
    return OperationsRead(
        region_code=region_code, date=on, policy=rp.ref, operations=rp.operations or Operations(),
        illustrative=[IllustrativeValue(path=p, value=v) for p, v in sorted(values.items())
                      if p.startswith("operations.")])
