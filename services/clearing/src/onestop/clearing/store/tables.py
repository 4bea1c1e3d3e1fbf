"""The clearing service's tables (its own database). All SQL of the service lives in store/.

The books (domain/accounts.py has the chart): `account` holds each account's four sums, with its limit as a
CHECK the database enforces; `transfer` is append-only. `worker_group` records which dedicated worker group owns
which payer (postings/groups.py).
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
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

account = Table(
    "account", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # uuid5 of the key (domain/accounts.py)
    Column("hospital_code", String(64), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),  # the fund's insurance region
    Column("code", String(16), nullable=False),
    Column("debits_must_not_exceed_credits", Boolean, nullable=False),
    Column("credits_must_not_exceed_debits", Boolean, nullable=False),
    Column("debits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("debits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_pending", BigInteger, nullable=False, server_default=text("0")),
    Column("credits_posted", BigInteger, nullable=False, server_default=text("0")),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0",
                    name="sums_non_negative"),
    CheckConstraint("NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted",
                    name="debits_within_credits"),
    CheckConstraint("NOT credits_must_not_exceed_debits OR credits_pending + credits_posted <= debits_posted",
                    name="credits_within_debits"),
    Index("uq_account_key", "hospital_code", "payer", "region_code", "code", unique=True),
)

transfer = Table(
    "transfer", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),  # uuid5 of (event id, fund, leg): a replay is a no-op
    Column("debit_account_id", UUID(as_uuid=True), ForeignKey("account.id"), nullable=False),
    Column("credit_account_id", UUID(as_uuid=True), ForeignKey("account.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),  # posted | pending | post_pending | void_pending
    Column("code", String(32), nullable=False),  # the flow: advance, reversal, claim …
    Column("pending_id", UUID(as_uuid=True), ForeignKey("transfer.id"), nullable=True),
    Column("corrects_id", UUID(as_uuid=True), ForeignKey("transfer.id"), nullable=True),
    Column("hospital_code", String(64), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("settlement_id", String(64), nullable=True),
    Column("event_id", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("settled_at", DateTime(timezone=True), nullable=True),  # the ledger's commit of the settlement
    # the posting statement's clock, the last before its batch commits (not now(): the transaction's start)
    Column("posted_at", DateTime(timezone=True), nullable=False, server_default=text("clock_timestamp()")),
    CheckConstraint("amount > 0 OR (amount = 0 AND kind IN ('post_pending', 'void_pending'))",
                    name="amount_positive"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
    CheckConstraint("(kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)", name="pending_named"),
    # a pending transfer is resolved once (posted or voided); a leg is reversed once
    Index("uq_transfer_pending_id", "pending_id", unique=True, postgresql_where=text("pending_id IS NOT NULL")),
    Index("uq_transfer_reversal_of", "corrects_id", unique=True, postgresql_where=text("code = 'reversal'")),
    Index("ix_transfer_settlement", "settlement_id", "payer", "region_code"),
    Index("ix_transfer_debit", "debit_account_id"),
    Index("ix_transfer_credit", "credit_account_id"),
)

worker_group = Table(
    "worker_group", metadata,
    Column("payer", String(48), primary_key=True),  # a payer belongs to one dedicated group, or to none
    Column("group_name", String(200), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# claims (issue 14 points 4-6; claims/): a settlement's month as the ledger's `period` (its discharge month), read
# from its finalized event by the posting worker, so a claim picks its month's legs without asking the ledger
settlement_period = Table(
    "settlement_period", metadata,
    Column("settlement_id", String(64), primary_key=True),
    Column("hospital_code", String(64), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("setlym", String(6), nullable=False),  # YYYYMM, NHSA's 清算年月
    Column("total", BigInteger, nullable=False),  # the settlement's total cost (medfee_sumamt), fen
)

claim = Table(
    "claim", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("hospital_code", String(64), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("setlym", String(6), nullable=False),
    Column("supplementary", Boolean, nullable=False),
    Column("status", String(16), nullable=False),  # submitted | decided | withdrawn
    Column("count", Integer, nullable=False),
    Column("total_cost", BigInteger, nullable=False),
    Column("fund_amount", BigInteger, nullable=False),  # the claimed amount: legs less owed-back lines
    Column("approved", BigInteger, nullable=False, server_default=text("0")),
    Column("rejected", BigInteger, nullable=False, server_default=text("0")),
    Column("owed_back_netted", BigInteger, nullable=False, server_default=text("0")),
    Column("prepayment_netted", BigInteger, nullable=False, server_default=text("0")),
    Column("paid", BigInteger, nullable=False, server_default=text("0")),
    Column("submitted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("withdrawn_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("status IN ('submitted', 'decided', 'withdrawn')", name="status"),
    # one open claim per hospital × fund × month (a withdrawn or decided one frees the period)
    Index("uq_claim_open_period", "hospital_code", "payer", "region_code", "setlym", unique=True,
          postgresql_where=text("status = 'submitted'")),
)

claim_item = Table(
    "claim_item", metadata,
    Column("claim_id", UUID(as_uuid=True), ForeignKey("claim.id"), primary_key=True),
    Column("settlement_id", String(64), primary_key=True),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("kind", String(16), nullable=False),  # leg | owed_back (a reversal of a claimed leg, negative)
    Column("amount", BigInteger, nullable=False),
    Column("total_cost", BigInteger, nullable=False),
    Column("transfer_id", UUID(as_uuid=True), ForeignKey("transfer.id"), nullable=False),  # pending / reversal
    Column("active", Boolean, nullable=False, server_default=text("true")),  # false once its claim is withdrawn
    Column("decision", String(16), nullable=True),  # approve | deduct | reject | netted
    Column("approved", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    # an appeal (申诉) reopens the rejected part once: a new pending of it, decided again (claims/appeals.py)
    Column("appealed", Boolean, nullable=False, server_default=text("false")),
    Column("appeal_note", Text, nullable=True),
    Column("appeal_transfer_id", UUID(as_uuid=True), ForeignKey("transfer.id"), nullable=True),
    Column("approved_before_appeal", BigInteger, nullable=True),
    CheckConstraint("kind IN ('leg', 'owed_back')", name="kind"),
    CheckConstraint("(kind = 'leg') = (amount > 0)", name="sign"),
    Index("uq_claim_item_leg", "settlement_id", "payer", "region_code", unique=True,
          postgresql_where=text("active AND kind = 'leg'")),  # a leg is in one claim at a time
)

disbursement = Table(
    "disbursement", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("claim_id", UUID(as_uuid=True), ForeignKey("claim.id"), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("uq_disbursement_reference", "payer", "region_code", "reference", unique=True),
)

prepayment = Table(
    "prepayment", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("hospital_code", String(64), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("reference", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("paid_on", Date, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("uq_prepayment_reference", "payer", "region_code", "reference", unique=True),
)

# A recorded reconciliation (POST /v1/reconciliations): what was asked, as of which cut-off, by whom, the totals
# it found (JSON, as answered), and one row per difference whose state a person moves on (open → explained/fixed).
reconciliation_run = Table(
    "reconciliation_run", metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("hospital_code", String(64), nullable=True),  # the filter after the caller's scope narrowed it
    Column("payer", String(48), nullable=True),
    Column("region_code", String(6), nullable=True),
    Column("period", String(7), nullable=True),
    Column("cutoff", DateTime(timezone=True), nullable=False),
    Column("equal", Boolean, nullable=False),
    Column("groups", JSONB, nullable=False),
    Column("created_by", String(200), nullable=False),  # the token's subject (a role and a code, no name)
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reconciliation_difference = Table(
    "reconciliation_difference", metadata,
    Column("run_id", UUID(as_uuid=True), ForeignKey("reconciliation_run.id"), primary_key=True),
    Column("n", Integer, primary_key=True),  # 1.. in the run's order
    Column("settlement_id", String(64), nullable=False),
    Column("hospital_code", String(64), nullable=False),
    Column("payer", String(48), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("period", String(7), nullable=False),
    Column("ledger_fen", BigInteger, nullable=True),
    Column("clearing_fen", BigInteger, nullable=True),
    Column("kind", String(24), nullable=False),
    Column("state", String(16), nullable=False, server_default=text("'open'")),
    Column("note", Text, nullable=True),
    Column("updated_by", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    CheckConstraint("state IN ('open', 'explained', 'fixed')", name="state_known"),
    CheckConstraint("kind IN ('missing_in_clearing', 'missing_in_ledger', 'amount')", name="kind_known"),
)

# A fund budget's threshold once reached (80, 100): the row makes its event once only (budgets/service.py).
budget_threshold = Table(
    "budget_threshold", metadata,
    Column("payer", String(48), primary_key=True),
    Column("region_code", String(6), primary_key=True),
    Column("period_start", Date, primary_key=True),
    Column("threshold", Integer, primary_key=True),
    Column("consumed", BigInteger, nullable=False),
    Column("reached_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
