"""Events the ledger publishes (stream ONESTOP_LEDGER) that other services consume."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from onestop.contracts.events.base import EventPayload, region_tokens
from onestop.contracts.events.ledger_agreements import AgreementEnded, AgreementReopened, DocumentsReturned
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


class FeesPosted(EventPayload):
    """A batch of fee lines (or a withdrawal, NHSA 2302) changed a stay's bill: counts and totals, never the lines."""

    owner, entity, verb = "ledger", "fees", "posted"
    type: Literal["ledger.fees.posted.v1"] = "ledger.fees.posted.v1"
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    lines_added: int = Field(description="new lines in this batch (a line_id seen before is not counted)")
    refunds_added: int = Field(description="of which refunds (退费, a negative amount naming its line)")
    lines_withdrawn: int = Field(0, description="unsettled lines withdrawn (NHSA 2302)")
    amount_added: Yuan = Field(description="the batch's net amount (refunds negative; a withdrawal negative)")
    stay_total: Yuan = Field(description="the stay's net billed total after the batch, settled parts included")
    posted_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class FundAmount(BaseModel):
    """One fund's share of a settlement (a reversal's is negative)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    payer: str = Field(description="the policy's payer id: basic, critical_illness, assistance, gap_fill …")
    name: str
    agency: str = Field("", description="who runs the fund")
    nhsa_code: str | None = Field(None, description="national fund_pay_type (310100, 390100 …; 999997 other)")
    amount: Yuan


class _SettlementFacts(EventPayload):
    settlement_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    newborn: int | None = Field(None, description="a newborn under its mother's person: 1, 2 (twins)")
    region_code: str = Field(description="the person's insurance region (参保地): whose funds pay; the routing")
    hospital_code: str
    hospital_region_code: str
    hospital_level: str
    kind: Literal["inpatient", "outpatient"]
    part_index: int = Field(description="1 for a stay settled once; 1, 2 … for the parts of a mid-stay settlement")
    final: bool = Field(description="false for a mid-stay part (中途结算, NHSA mid_setl_flag)")
    year: int = Field(description="the accumulators' calendar year the amounts count in")
    admitted_on: date
    discharged_on: date = Field(description="the discharge date, or a mid-stay part's last day")
    total: Yuan
    funds: list[FundAmount] = Field(description="each fund's amount and national code, in waterfall order")
    fund_pay: Yuan = Field(description="sum of the funds' amounts")
    self_pay: Yuan = Field(description="the patient's share")
    hosp_part_amt: Yuan = Field(0, description="borne by the hospital (按病种 itemised excess), no fund's")
    effective_ratio: str = Field(description="(total − self_pay) / total, 4 places")
    categories: list[str]
    policy_id: str
    policy_version: int
    settled_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)


class SettlementFinalized(_SettlementFacts):
    """A one-stop settlement (一站式结算) or a mid-stay part committed: what clearing advances per fund and the
    indicators count. On onestop.ledger.settlement.finalized.<prov>.<city>.<county> of the insurance region."""

    owner, entity, verb = "ledger", "settlement", "finalized"
    type: Literal["ledger.settlement.finalized.v1"] = "ledger.settlement.finalized.v1"

    def entity_id(self) -> str:
        return self.settlement_id


class SettlementReversed(_SettlementFacts):
    """A settlement was reversed (结算撤销, NHSA 2305): a new record (`settlement_id`) with every amount negated,
    generated from the original's rows. Its CloudEvents subject is the original settlement's id, so a consumer
    never applies it before the original's `finalized`."""

    owner, entity, verb = "ledger", "settlement", "reversed"
    type: Literal["ledger.settlement.reversed.v1"] = "ledger.settlement.reversed.v1"
    reverses_settlement_id: str = Field(description="the original; the reason stays on the ledger's record "
                                                    "(free text a person typed is never put in an event)")

    def entity_id(self) -> str:
        return self.reverses_settlement_id


class StayCostAlert(EventPayload):
    """A stay's running estimate crossed one of its region's cost-alert thresholds (rules' operations
    `cost_alerts.thresholds`, estimated totals): tell the patient (启东 004 二(三): 对费用较大或者预计超过限额的患者，
    要及时提醒、告知用费情况). Once per threshold per stay. Not 超限价 (a quote's `over_limit_amount`)."""

    owner, entity, verb = "ledger", "stay", "cost_alert"
    type: Literal["ledger.stay.cost_alert.v1"] = "ledger.stay.cost_alert.v1"
    alert_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    threshold: Yuan = Field(description="the threshold crossed (an estimated total of the stay)")
    estimated_total: Yuan = Field(description="the stay's estimated total when it was crossed, settled parts included")
    estimated_self_pay: Yuan = Field(description="the patient's share of the unsettled part, as estimated then")
    through: date = Field(description="the last fee line's date the estimate covered")
    raised_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class DischargeNoticeIssued(EventPayload):
    """The written notice before discharge (出院前书面告知, 000 §2.4: 在患者出院前2d内将…医疗费用清单及…报销金额、
    自付费用金额书面通知患者及家属或签订协议人) was given: amounts only, no names."""

    owner, entity, verb = "ledger", "discharge_notice", "issued"
    type: Literal["ledger.discharge_notice.issued.v1"] = "ledger.discharge_notice.issued.v1"
    notice_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    expected_discharge: date
    total: Yuan = Field(description="the estimate's total of the part to be settled")
    funds: list[FundAmount] = Field(description="each fund's estimated amount, in waterfall order")
    self_pay: Yuan = Field(description="the patient's estimated share")
    told_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class PaymentReceived(EventPayload):
    """Money at the hospital's window for a stay (000 §2.5, 001 三(二)): a payment on account before settlement
    (分阶段付费), a payment of the patient's share after it, a refund of an overpayment, or the void of a record
    entered by mistake. `amount` is signed (a refund's and a void's are negative, a void of a refund positive), so
    the sum of a stay's events is what its patient paid; the indicators count collections from these."""

    owner, entity, verb = "ledger", "payment", "received"
    type: Literal["ledger.payment.received.v1"] = "ledger.payment.received.v1"
    payment_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    newborn: int | None = None
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    kind: Literal["on_account", "self_pay", "refund", "void"]
    method: str = Field(description="cash, card, wechat, alipay, transfer")
    amount: Yuan = Field(description="signed: what this record adds to what the patient paid")
    voids_payment_id: str | None = None
    owed: Yuan = Field(description="what the patient still owes after this record (0 while the stay is open)")
    paid_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class InstalmentTerms(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int
    due_date: date
    amount: Yuan


class RepaymentPlanSigned(EventPayload):
    """A deferred or instalment repayment plan (延期、分期还款协议, 000 §3, 001 三(三)) was signed for what a patient
    owes after settlement; `replaces_plan_id` when it was renegotiated (after a home visit). The signer by
    relation only."""

    owner, entity, verb = "ledger", "repayment_plan", "signed"
    type: Literal["ledger.repayment_plan.signed.v1"] = "ledger.repayment_plan.signed.v1"
    plan_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str = Field(description="the person's insurance region (参保地): the subject's routing tokens")
    hospital_code: str
    amount: Yuan = Field(description="what is owed: the instalments' sum")
    instalments: list[InstalmentTerms]
    replaces_plan_id: str | None = None
    signer_relation: str
    signed_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


class RepaymentReminderDue(EventPayload):
    """An instalment falls due in `days_before` days and is not paid: remind the patient (the region's
    `repayment.reminder_lead_days`)."""

    owner, entity, verb = "ledger", "repayment", "reminder_due"
    type: Literal["ledger.repayment.reminder_due.v1"] = "ledger.repayment.reminder_due.v1"
    plan_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str
    hospital_code: str
    number: int = Field(description="the instalment")
    due_date: date
    amount: Yuan = Field(description="what of the instalment is unpaid")
    days_before: int
    as_of: date

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.plan_id


class VisitRecorded(EventPayload):
    """The county's home visit (入户走访, 000 §3.3) of an overdue plan was made: `unable_to_pay` (identity dismisses
    the suspected-default case), `suspected_malicious_default` (the case waits for an operator, with the visit
    date), `will_pay`. The visitor's notes stay in the ledger."""

    owner, entity, verb = "ledger", "repayment", "visit_recorded"
    type: Literal["ledger.repayment.visit_recorded.v1"] = "ledger.repayment.visit_recorded.v1"
    visit_id: str
    plan_id: str
    stay_id: str
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str
    hospital_code: str
    outcome: Literal["unable_to_pay", "suspected_malicious_default", "will_pay"]
    visited_on: date
    recorded_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.plan_id


class ReceivableWrittenOff(EventPayload):
    """An operator wrote off what a patient owed for a stay (confirmed unable to pay); the reason stays in the
    ledger."""

    owner, entity, verb = "ledger", "receivable", "written_off"
    type: Literal["ledger.receivable.written_off.v1"] = "ledger.receivable.written_off.v1"
    write_off_id: str
    stay_id: str
    plan_id: str | None = None
    person_ref: str = Field(description="identity's person_id, never the ID number")
    region_code: str
    hospital_code: str
    amount: Yuan
    written_off_at: datetime

    def routing(self) -> list[str]:
        return region_tokens(self.region_code)

    def entity_id(self) -> str:
        return self.stay_id


LedgerEvent = Annotated[RepaymentOverdue | AgreementSigned | AgreementEnded | AgreementReopened | DocumentsReturned
                        | StayAdmitted | StayCancelled | FeesPosted
                        | SettlementFinalized | SettlementReversed | StayCostAlert | DischargeNoticeIssued
                        | PaymentReceived | RepaymentPlanSigned | RepaymentReminderDue | VisitRecorded
                        | ReceivableWrittenOff,
                        Field(discriminator="type")]
