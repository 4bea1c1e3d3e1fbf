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


class AgreementSigned(EventPayload):
    """A treat-first agreement (先诊疗后付费协议书) was signed; `scope` says where it admits (one hospital or every
    public hospital of the city). The signer is named by relation only; no ID number or name."""

    owner, entity, verb = "ledger", "agreement", "signed"
    type: Literal["ledger.agreement.signed.v1"] = "ledger.agreement.signed.v1"
    agreement_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    hospital_region_code: str
    scope: Literal["hospital", "county", "city", "province"] = Field(
        description="where the agreement admits: its own hospital, or every (public) hospital of that region")
    signer_relation: str
    documents: list[str] = Field(description="the cards and copies the hospital keeps (document custody)")
    signed_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.agreement_id


class StayAdmitted(EventPayload):
    """A deposit-free admission (or outpatient visit) under an agreement, with the person facts snapshotted."""

    owner, entity, verb = "ledger", "stay", "admitted"
    type: Literal["ledger.stay.admitted.v1"] = "ledger.stay.admitted.v1"
    stay_id: str
    agreement_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    newborn: int | None = Field(None, description="a newborn admitted under its mother's agreement: 1, 2 (twins)")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    hospital_region_code: str
    hospital_level: str
    kind: Literal["inpatient", "outpatient"]
    categories: list[str]
    admitted_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class StayCancelled(EventPayload):
    """An admission with no settlement was undone (NHSA 2404)."""

    owner, entity, verb = "ledger", "stay", "cancelled"
    type: Literal["ledger.stay.cancelled.v1"] = "ledger.stay.cancelled.v1"
    stay_id: str
    person_ref: str
    region_code: str
    hospital_code: str
    cancelled_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


LedgerEvent = Annotated[RepaymentOverdue | AgreementSigned | StayAdmitted | StayCancelled,
                        Field(discriminator="type")]
