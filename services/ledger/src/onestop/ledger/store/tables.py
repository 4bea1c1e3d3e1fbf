"""The ledger service's tables (its own database). All SQL of the service lives in store/.

No column holds an ID number or a name in clear: a person is identity's `person_id` (`person_ref`), the signer
only their relation; the ID number identity must be asked with again is sealed (domain/sealing.py).
"""

from sqlalchemy import (
                        BigInteger,
                        Boolean,
                        Column,
                        Date,
                        DateTime,
                        ForeignKey,
                        Identity,
                        Index,
                        Integer,
                        LargeBinary,
                        MetaData,
                        Numeric,
                        String,
                        Table,
                        Text,
                        func,
                        text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from onestop.common.db import NAMING, platform_tables

metadata = MetaData(naming_convention=NAMING)
platform_tables(metadata)

agreement = Table(
    "agreement", metadata,
    Column("agreement_id", UUID(as_uuid=False), primary_key=True),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("id_sealed", LargeBinary, nullable=False),
    Column("region_code", String(6), nullable=False),  # the region asked (whose treat-first rule applies)
    Column("insurance_region_code", String(6), nullable=False),  # 参保地: the events' routing
    Column("hospital_code", String(32), nullable=False),
    Column("hospital_region_code", String(6), nullable=False),
    Column("scope", String(16), nullable=False),  # hospital | city
    Column("public_only", Boolean, nullable=False),
    Column("signer_relation", String(16), nullable=False),
    Column("state", String(16), nullable=False, server_default="active"),  # active | ended
    Column("signed_by", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("eligibility", JSONB, nullable=False),  # identity's decision at signing, without the masked number
    Column("ends", String(16), nullable=False, server_default="with_stay"),  # the rule's term at signing: | period
    Column("ends_on", Date, nullable=True),  # a period agreement's last admitting day (Asia/Shanghai)
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("end_reason", String(16), nullable=True),  # with_stay | cancelled | expired | blacklisted
    Column("ended_with_stay_id", UUID(as_uuid=False), nullable=True),  # a reversal of its settlement reopens it
    Index("ix_agreement_person_ref", "person_ref"),
)

document_custody = Table(
    "document_custody", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("agreement_id", UUID(as_uuid=False), ForeignKey("agreement.agreement_id"), nullable=False),
    Column("kind", String(32), nullable=False),  # insurance_card | id_copy | poverty_card
    Column("action", String(16), nullable=False),  # kept (at signing) | returned
    Column("actor", String(200), nullable=False),  # the token subject that recorded it
    Column("returned_to", String(16), nullable=True),  # the receiver's relation (self, spouse …), never a name
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_document_custody_agreement", "agreement_id", "id"),
)

stay = Table(
    "stay", metadata,
    Column("stay_id", UUID(as_uuid=False), primary_key=True),
    Column("agreement_id", UUID(as_uuid=False), ForeignKey("agreement.agreement_id"), nullable=False),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("newborn", Integer, nullable=False, server_default="0"),  # 0: the person; 1, 2: her newborns
    Column("insurance_region_code", String(6), nullable=False),
    Column("hospital_code", String(32), nullable=False),
    Column("hospital_region_code", String(6), nullable=False),
    Column("hospital_level", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("chronic", Boolean, nullable=False, server_default="false"),
    Column("disease_code", String(32), nullable=True),
    Column("expected_cost_fen", BigInteger, nullable=True),
    Column("admitted_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False, server_default="open"),  # open | settled | cancelled
    Column("person_facts", JSONB, nullable=False),  # the quote's `person`, as identity answered on admission
    Column("eligibility", JSONB, nullable=False),  # identity's decision as of the admission date
    Column("cancel_reason", Text, nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("settled_through", Date, nullable=True),  # the last day a mid-stay settlement (中途结算) covered
    Column("discharged_at", DateTime(timezone=True), nullable=True),
    Column("discharge_way", String(16), nullable=True),
    Column("lines_version", BigInteger, nullable=False, server_default="0"),  # bumped by every fee-line change
    # one open stay per person (and newborn) per hospital; the index makes it hold under concurrent admissions
    Index("ux_stay_open", "person_ref", "newborn", "hospital_code", unique=True,
          postgresql_where=text("state = 'open'")),
    Index("ix_stay_hospital", "hospital_code", "stay_id"),
    Index("ix_stay_hospital_admitted", "hospital_code", "admitted_at", "stay_id"),  # GET /v1/stays
    Index("ix_stay_admitted", "admitted_at", "stay_id"),
)

fee_line = Table(
    "fee_line", metadata,
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), primary_key=True),
    Column("line_id", String(64), primary_key=True),  # the HIS's line id (NHSA feedetl_sn)
    Column("seq", BigInteger, Identity(), nullable=False),  # posting order
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("fee_class", String(1), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # negative for a refund (退费)
    Column("quantity", Numeric(18, 4), nullable=True),
    Column("unit_price_fen", BigInteger, nullable=True),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("occurred_on", Date, nullable=False),  # its Asia/Shanghai date: the daily statement's and a part's day
    Column("refunds_line_id", String(64), nullable=True),  # NHSA 2301 init_feedetl_sn
    Column("settlement_id", UUID(as_uuid=False), nullable=True),  # the (non-reversed) settlement that took it
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),  # NHSA 2302
    Column("posted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_fee_line_refunds", "stay_id", "refunds_line_id", postgresql_where=text("refunds_line_id IS NOT NULL")),
)

accumulator = Table(  # a person's (or newborn's) year-to-date state (DESIGN §5), one row per calendar year
    "accumulator", metadata,
    Column("person_ref", UUID(as_uuid=False), primary_key=True),
    Column("newborn", Integer, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("state", JSONB, nullable=False),  # contracts.quote.Accumulators as JSON
    Column("version", BigInteger, nullable=False),  # +1 per applied delta: a quote made on another is redone
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

settlement = Table(
    "settlement", metadata,
    Column("settlement_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("newborn", Integer, nullable=False),
    Column("year", Integer, nullable=False),  # the accumulators' year: of the discharge date, or the part's end
    Column("kind", String(16), nullable=False),  # final | mid | reversal
    Column("part_index", Integer, nullable=False),
    Column("final", Boolean, nullable=False),
    Column("reverses", UUID(as_uuid=False), ForeignKey("settlement.settlement_id"), nullable=True),
    Column("reversed_by", UUID(as_uuid=False), nullable=True),
    Column("hospital_code", String(32), nullable=False),
    Column("hospital_region_code", String(6), nullable=False),
    Column("insurance_region_code", String(6), nullable=False),
    Column("starts_on", Date, nullable=False),
    Column("through", Date, nullable=False),  # discharge date, or the last day of a mid-stay part
    Column("total_fen", BigInteger, nullable=False),
    Column("self_pay_fen", BigInteger, nullable=False),
    Column("fund_pay_fen", BigInteger, nullable=False),
    Column("hosp_part_fen", BigInteger, nullable=False),
    Column("on_account_fen", BigInteger, nullable=False, server_default="0"),
    Column("effective_ratio", String(16), nullable=False),
    Column("policy_id", String(64), nullable=False),
    Column("policy_version", Integer, nullable=False),
    Column("discharge_way", String(16), nullable=True),
    Column("disease_code", String(32), nullable=True),
    Column("quote", JSONB, nullable=False),  # rules' QuoteResult as answered (negated for a reversal)
    Column("delta", JSONB, nullable=False),  # the AccumulatorDelta applied (negated for a reversal)
    Column("recheck", JSONB, nullable=False),  # eligibility asked again at settlement
    Column("reason", Text, nullable=True),  # a reversal's
    Column("settled_by", String(200), nullable=False),
    Column("settled_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, Identity(), nullable=False),
    Index("ix_settlement_stay", "stay_id", "seq"),
    Index("ix_settlement_person_year", "person_ref", "newborn", "year", "seq"),
    Index("ix_settlement_hospital", "hospital_code", "settled_at", "settlement_id"),
    Index("ix_settlement_region", "insurance_region_code", "settled_at", "settlement_id"),
    # GET /v1/settlements walks by seq within a hospital or a region, or a period (`through`'s month)
    Index("ix_settlement_hospital_seq", "hospital_code", "seq"),
    Index("ix_settlement_region_seq", "insurance_region_code", "seq"),
    Index("ix_settlement_through", "through"),
)

settlement_line = Table(  # the fee lines a settlement took (refunds included); kept when a reversal gives them back
    "settlement_line", metadata,
    Column("settlement_id", UUID(as_uuid=False), ForeignKey("settlement.settlement_id"), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), nullable=False),
    Column("line_id", String(64), primary_key=True),
)

settlement_fund = Table(  # one row per payer of a settlement, in waterfall order, with its national fund code
    "settlement_fund", metadata,
    Column("settlement_id", UUID(as_uuid=False), ForeignKey("settlement.settlement_id"), primary_key=True),
    Column("payer", String(64), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String(200), nullable=False),
    Column("agency", String(200), nullable=False),
    Column("nhsa_code", String(16), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Index("ix_settlement_fund_payer", "payer", "settlement_id"),
)

estimate_audit = Table(  # a pre-settlement (预结算) stores nothing but this: who asked, when, and what it said
    "estimate_audit", metadata,
    Column("estimate_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("estimated_by", String(200), nullable=False),  # the token subject
    Column("estimated_at", DateTime(timezone=True), nullable=False),
    Column("through", Date, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("self_pay_fen", BigInteger, nullable=False),
    Index("ix_estimate_audit_stay", "stay_id", "estimated_at"),
)

discharge_notice = Table(  # 出院前书面告知 (000 §2.4), as told
    "discharge_notice", metadata,
    Column("notice_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("expected_discharge", Date, nullable=False),
    Column("part_index", Integer, nullable=False),
    Column("total_fen", BigInteger, nullable=False),
    Column("self_pay_fen", BigInteger, nullable=False),
    Column("funds", JSONB, nullable=False),  # [{payer, name, agency, nhsa_code, amount_fen}] in waterfall order
    Column("quote", JSONB, nullable=False),  # rules' QuoteResult the notice was told from
    Column("told_by", String(32), nullable=True),  # a role or relation, never a name
    Column("told_to", String(16), nullable=True),  # the relation of who was told (患者及家属或签订协议人)
    Column("told_by_subject", String(200), nullable=False),  # the token subject
    Column("told_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, Identity(), nullable=False),
    Index("ix_discharge_notice_stay", "stay_id", "seq"),
)

cost_alert = Table(  # one row per threshold a stay's estimate crossed: raised once (启东 004 二(三))
    "cost_alert", metadata,
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), primary_key=True),
    Column("threshold_fen", BigInteger, primary_key=True),
    Column("alert_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("estimated_total_fen", BigInteger, nullable=False),
    Column("estimated_self_pay_fen", BigInteger, nullable=False),
    Column("through", Date, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
)

cost_alert_check = Table(  # the stay's lines_version the cost-alert consumer last estimated: older events skip
    "cost_alert_check", metadata,
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), primary_key=True),
    Column("lines_version", BigInteger, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)

payment = Table(  # money at the window for a stay; never deleted: a mistake is voided by a reversing record
    "payment", metadata,
    Column("payment_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("hospital_code", String(32), nullable=False),
    Column("kind", String(16), nullable=False),  # on_account | self_pay | refund | void
    Column("amount_fen", BigInteger, nullable=False),  # signed: what the record adds to what the patient paid
    Column("method", String(16), nullable=False),  # cash | card | wechat | alipay | transfer
    Column("receipt_no", String(64), nullable=True),  # the hospital's receipt (收据号), unique per hospital
    Column("paid_at", DateTime(timezone=True), nullable=False),
    Column("paid_on", Date, nullable=False),  # its Asia/Shanghai date: the cashier's day it is closed in
    Column("voids", UUID(as_uuid=False), ForeignKey("payment.payment_id"), nullable=True, unique=True),
    Column("voided_by", UUID(as_uuid=False), nullable=True),
    Column("reason", Text, nullable=True),  # a void's
    Column("cashier", String(200), nullable=False),  # the token subject that recorded it
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, Identity(), nullable=False),
    Index("ux_payment_receipt", "hospital_code", "receipt_no", unique=True,
          postgresql_where=text("receipt_no IS NOT NULL")),
    Index("ix_payment_stay", "stay_id", "seq"),
    Index("ix_payment_day", "hospital_code", "paid_on"),
)

repayment_plan = Table(  # 延期、分期还款协议 (000 §3, 001 三(三)); a renegotiated plan replaces one and keeps it
    "repayment_plan", metadata,
    Column("plan_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("hospital_code", String(32), nullable=False),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("insurance_region_code", String(6), nullable=False),
    Column("state", String(16), nullable=False),  # active | replaced | written_off | cancelled (reversed)
    Column("amount_fen", BigInteger, nullable=False),  # what was owed when it was signed: the instalments' sum
    Column("paid_before_fen", BigInteger, nullable=False),  # the stay's payments when it was signed
    Column("replaces", UUID(as_uuid=False), ForeignKey("repayment_plan.plan_id"), nullable=True),
    Column("replaced_by", UUID(as_uuid=False), nullable=True),
    Column("signer_relation", String(16), nullable=False),
    Column("signed_by", String(200), nullable=False),  # the token subject
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, Identity(), nullable=False),
    Index("ux_repayment_plan_active", "stay_id", unique=True, postgresql_where=text("state = 'active'")),
    Index("ix_repayment_plan_stay", "stay_id", "seq"),
)

instalment = Table(
    "instalment", metadata,
    Column("plan_id", UUID(as_uuid=False), ForeignKey("repayment_plan.plan_id"), primary_key=True),
    Column("number", Integer, primary_key=True),  # 1, 2 … in due-date order
    Column("due_date", Date, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Index("ix_instalment_due", "due_date"),
)

repayment_notice = Table(  # what the repayment check told, once each: a reminder per lead day, the overdue per plan
    "repayment_notice", metadata,
    Column("plan_id", UUID(as_uuid=False), ForeignKey("repayment_plan.plan_id"), primary_key=True),
    Column("number", Integer, primary_key=True),  # the instalment; 0 for the plan's overdue notice
    Column("kind", String(16), primary_key=True),  # reminder-7, reminder-3 … | overdue
    Column("as_of", Date, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

visit = Table(  # 入户走访 (000 §3.3): the home visit an overdue plan leads to, owned by the ledger
    "visit", metadata,
    Column("visit_id", UUID(as_uuid=False), primary_key=True),
    Column("plan_id", UUID(as_uuid=False), ForeignKey("repayment_plan.plan_id"), nullable=False, unique=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("region_code", String(6), nullable=False),  # the person's county (domicile = insurance county)
    Column("hospital_code", String(32), nullable=False),
    Column("overdue_fen", BigInteger, nullable=False),
    Column("due_date", Date, nullable=False),  # the oldest unpaid instalment's
    Column("state", String(16), nullable=False),  # open | assigned | recorded
    Column("township", String(100), nullable=True),
    Column("assigned_by", String(200), nullable=True),
    Column("assigned_at", DateTime(timezone=True), nullable=True),
    Column("outcome", String(32), nullable=True),  # unable_to_pay | suspected_malicious_default | will_pay
    Column("visited_on", Date, nullable=True),
    Column("note", Text, nullable=True),  # the visitor's words: internal, never in an event
    Column("recorded_by", String(200), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("seq", BigInteger, Identity(), nullable=False),
    Index("ix_visit_region", "region_code", "seq"),
)

write_off = Table(  # an operator writes off what a patient owes (unable to pay, after the visit), with a reason
    "write_off", metadata,
    Column("write_off_id", UUID(as_uuid=False), primary_key=True),
    Column("stay_id", UUID(as_uuid=False), ForeignKey("stay.stay_id"), nullable=False, index=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("written_off_by", String(200), nullable=False),
    Column("written_off_at", DateTime(timezone=True), nullable=False),
)

access_audit = Table(  # who read a stay or a settlement (or listed them), as identity's access_audit does
    "access_audit", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("subject", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("hospital_code", String(32), nullable=True),  # the caller's hospital (a hospital token)
    Column("stay_id", UUID(as_uuid=False), nullable=True),
    Column("person_ref", UUID(as_uuid=False), nullable=True),
    Column("endpoint", String(128), nullable=False),  # "GET /v1/stays/{stay_id}": the route, never the path
    Column("detail", String(512), nullable=True),  # a list's filter (codes and dates only), a settlement id
    Index("ix_access_audit_person", "person_ref", "id"),
    Index("ix_access_audit_subject", "subject", "id"),
)
