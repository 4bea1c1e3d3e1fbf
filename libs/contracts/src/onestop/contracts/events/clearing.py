"""Events the clearing service publishes (stream ONESTOP_CLEARING)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from onestop.contracts.events.base import EventPayload, region_tokens
from onestop.contracts.money import Yuan


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
