"""Operational policy data (issue 11 point 9): what the ledger, the repayment checks, clearing and
the indicators read of a region's policy besides the payer waterfall.

A policy file's `operations:` part, inherited province → city → county like the rest (a county
states only what differs) and dated with `by_date` like any value. Every number names its seed
clause or is marked `illustrative: true`. Served by `GET /v1/operations?region_code=&date=`.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onestop.contracts.money import Yuan
from onestop.rules.domain.calculators import Ratio


class _O(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CostAlerts(_O):
    """Tell the patient when a stay's running estimate crosses these totals (启东 004 二(三):
    对费用较大或者预计超过限额的患者，要及时提醒、告知用费情况)."""

    thresholds: list[Yuan] = Field(min_length=1, description="estimated totals, ascending, yuan")

    @model_validator(mode="after")
    def _ascending(self) -> CostAlerts:
        if any(b <= a for a, b in zip(self.thresholds, self.thresholds[1:], strict=False)):
            raise ValueError("thresholds must be strictly ascending")
        if any(t <= 0 for t in self.thresholds):
            raise ValueError("thresholds must be above 0.00")
        return self


class Repayment(_O):
    """Deferred self-pay: days after the due date before an instalment is overdue, and reminders."""

    grace_days: int = Field(ge=0, le=365, description="days after a due date before it is overdue")
    reminder_lead_days: list[int] = Field(min_length=1, description="remind this many days before a due date")

    @model_validator(mode="after")
    def _descending(self) -> Repayment:
        d = self.reminder_lead_days
        if any(x < 0 or x > 365 for x in d) or any(b >= a for a, b in zip(d, d[1:], strict=False)):
            raise ValueError("reminder_lead_days must be strictly descending days between 0 and 365")
        return self


class Documents(_O):
    """When the documents held under a treat-first agreement go back to the patient."""

    returned_on: Literal["payment", "signed_plan"] = Field(
        description="payment: once the self-pay is paid in full; signed_plan: once a repayment plan is signed")


class ClaimCalendar(_O):
    """A hospital claims a month's advances from a fund by a day of the next month; the fund reviews."""

    apply_by_day: int = Field(ge=1, le=28, description="day of the month after the settlements' month")
    review_days: int = Field(ge=1, le=90, description="days the fund has to decide after the claim")


class Period(_O):
    """The days a budget covers, both included (not a policy period: the policy does not change then)."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self


class FundBudget(_O):
    """A fund's size over its period, and who puts it up (003: 医疗扶贫救助基金 1045万元, 市县1:1)."""

    payer: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="the payer id it pays")
    name_zh: str
    amount: Yuan = Field(gt=0)
    period: Period
    shares: dict[str, int] = Field(default_factory=dict, description="contributor → parts (city: 1, county: 1)")

    @model_validator(mode="after")
    def _shares(self) -> FundBudget:
        if any(v <= 0 for v in self.shares.values()):
            raise ValueError("each share is a positive number of parts")
        return self


class Indicators(_O):
    effective_ratio_target: Ratio = Field(description="the effective ratio (实际报销比例) indicators compare against")


class Operations(_O):
    cost_alerts: CostAlerts | None = None
    repayment: Repayment | None = None
    documents: Documents | None = None
    claims: ClaimCalendar | None = None
    funds: list[FundBudget] = Field(default_factory=list)
    indicators: Indicators | None = None
