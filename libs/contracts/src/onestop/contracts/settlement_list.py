"""The ledger's answer at `GET /v1/settlements` (DESIGN §9.1), for its callers to parse: clearing's
reconciliation (its `service` token), a fund's reviewer, a bureau. The ledger's route documents its answer with
these models.

Not strict (unknown fields are ignored): the ledger may add optional fields in a minor change, as identity's
eligibility answer may. Amounts are yuan strings with 2 places; a reversal's are negative.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from onestop.contracts.money import Yuan


class FundPaid(BaseModel):
    """One fund's amount in a settlement, with its national code (NHSA fund_pay_type)."""

    payer: str
    name: str
    nhsa_code: str | None
    amount: Yuan


class SettlementItem(BaseModel):
    settlement_id: str
    stay_id: str
    kind: Literal["final", "mid", "reversal"]
    part_index: int
    final: bool
    reverses: str | None = Field(description="a reversal's: the settlement it reverses")
    reversed_by: str | None
    person_ref: str = Field(description="identity's person id, never an ID number")
    newborn: int | None
    hospital_code: str
    hospital_region_code: str
    region_code: str = Field(description="the insurance region (参保地): a fund is payer × this region")
    period: str = Field(description="YYYY-MM of `through` (Asia/Shanghai), NHSA setlym: the month it is claimed in")
    starts_on: date
    through: date = Field(description="the discharge date, or a mid-stay part's last day")
    total: Yuan
    fund_pay: Yuan
    self_pay: Yuan
    hosp_part_amt: Yuan
    funds: list[FundPaid] = Field(description="in waterfall order")
    settled_at: datetime
    lines: str = Field(description="the path of its fee lines")


class PayerTotal(BaseModel):
    payer: str
    amount: Yuan


class SettlementTotals(BaseModel):
    """Over the whole filtered set, not the page: count, the sums, each payer's sum."""

    count: int
    total: Yuan
    fund_pay: Yuan
    self_pay: Yuan
    hosp_part_amt: Yuan
    payers: list[PayerTotal]


class SettlementPage(BaseModel):
    items: list[SettlementItem]
    totals: SettlementTotals
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")
