"""Events the ledger publishes (stream ONESTOP_LEDGER) that other services consume."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from onestop.contracts.events.base import EventPayload, region_tokens
from onestop.contracts.money import Yuan


class RepaymentOverdue(EventPayload):
    """An instalment of a repayment plan is overdue; identity opens a suspected-default case."""

    owner, entity, verb = "ledger", "repayment", "overdue"
    type: Literal["ledger.repayment.overdue.v1"] = "ledger.repayment.overdue.v1"
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str
    hospital_code: str
    plan_id: str
    stay_id: str
    overdue_amount: Yuan
    due_date: date
    days_overdue: int
    detected_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.plan_id


LedgerEvent = Annotated[RepaymentOverdue, Field(discriminator="type")]
