"""Events clearing publishes (stream ONESTOP_CLEARING): claims (NHSA 3203 清算申请), decisions, disbursements,
fund budgets' thresholds.

Subjects carry the fund: `onestop.clearing.claim.submitted.<payer>.<province>.<city>.<county>`, so a county
bureau or a fund's agency subscribes to its own. No person appears in any of them: a claim names settlements
only by count and totals.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from onestop.contracts.events.base import EventPayload, region_tokens
from onestop.contracts.money import Yuan


class _FundEvent(EventPayload):
    hospital_code: str
    payer: str
    region_code: str = Field(description="the fund's insurance region")

    def routing(self) -> list[str]:
        return [self.payer, *region_tokens(self.region_code)]


class ClaimSubmitted(_FundEvent):
    """A hospital's claim of one fund and month was submitted (清算申请); its advances are reserved."""

    owner, entity, verb = "clearing", "claim", "submitted"
    type: Literal["clearing.claim.submitted.v1"] = "clearing.claim.submitted.v1"
    claim_id: str
    setlym: str = Field(description="the settlement month, YYYYMM")
    supplementary: bool = Field(description="a settlement posted after its month's claim was decided")
    count: int = Field(description="settlements claimed (psntime)")
    total_cost: Yuan = Field(description="their total cost (medfee_sumamt)")
    fund_amount: Yuan = Field(description="claimed from the fund, owed-back reversals netted (may be negative)")
    submitted_at: datetime

    def entity_id(self) -> str:
        return self.claim_id


class ClaimDecided(_FundEvent):
    """Every item of a claim has the fund's decision (审核): what it approved, what it deducted or rejected."""

    owner, entity, verb = "clearing", "claim", "decided"
    type: Literal["clearing.claim.decided.v1"] = "clearing.claim.decided.v1"
    claim_id: str
    setlym: str
    approved: Yuan
    rejected: Yuan = Field(description="deducted or rejected (拒付), borne by the hospital")
    owed_back_netted: Yuan
    prepayment_netted: Yuan
    decided_at: datetime

    def entity_id(self) -> str:
        return self.claim_id


class DisbursementMade(_FundEvent):
    """A fund paid a hospital against a claim (拨付)."""

    owner, entity, verb = "clearing", "disbursement", "made"
    type: Literal["clearing.disbursement.made.v1"] = "clearing.disbursement.made.v1"
    disbursement_id: str
    claim_id: str
    amount: Yuan
    reference: str
    paid_on: date

    def entity_id(self) -> str:
        return self.claim_id


class BudgetThresholdReached(EventPayload):
    """A fund's consumption over its budget period reached 80% or 100% of its budget (003: 医疗扶贫救助基金
    1045万元 for 2017–2020). Once per fund, period and threshold; the fund still owes what it owes."""

    owner, entity, verb = "clearing", "budget", "threshold_reached"
    type: Literal["clearing.budget.threshold_reached.v1"] = "clearing.budget.threshold_reached.v1"
    payer: str
    region_code: str = Field(description="the fund's insurance region")
    period_start: date
    period_end: date
    threshold_percent: Literal[80, 100]
    budget: Yuan
    consumed: Yuan = Field(description="the fund's posted legs settled within the period, reversals netted")
    reached_at: datetime

    def routing(self) -> list[str]:
        return [self.payer, *region_tokens(self.region_code)]

    def entity_id(self) -> str:
        return f"{self.payer}@{self.region_code}@{self.period_start.isoformat()}"
