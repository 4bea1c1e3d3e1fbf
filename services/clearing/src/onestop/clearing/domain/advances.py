"""A settlement's fund legs as advance transfers, and a reversal's as the corrections of those (pure).

One leg per fund of the settlement (001 三(二): the hospital advances every fund's share); `hosp_part_amt` (the
按病种 excess the hospital bears) is no fund's and posts nothing; a fund with a zero amount posts nothing. A worker
posts only the legs of its group's payers (`mine`). An event whose funds cannot be posted as they stand (a payer
that is not an identifier, a region that is not 6 digits, the same fund twice, amounts that do not add up to
`fund_pay`, a sign that contradicts the event) raises InvalidFund and is parked, never half-posted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from onestop.clearing.domain.accounts import AccountKey, Code, Fund, InvalidFund
from onestop.clearing.domain.transfers import Transfer, correct, transfer_id


class OriginalNotPosted(LookupError):
    """A reversal of a leg this group never posted: retried (the original may be in another replica's batch),
    then parked; an operator's retry applies it once the original is posted."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Settlement:
    """What clearing reads of a finalized or reversed settlement (amounts in fen; a reversal's negative)."""

    event_id: str
    settlement_id: str
    hospital_code: str
    region_code: str  # the insurance region whose funds pay: the funds' region
    funds: Sequence[tuple[str, int]]  # (payer, amount) in waterfall order
    fund_pay: int
    settled_at: datetime
    reverses_settlement_id: str | None = None
    setlym: str = ""  # YYYYMM of the discharge date (the ledger's period): the claim month it belongs to
    total: int = 0  # the settlement's total cost (a claim's medfee_sumamt)


def legs(s: Settlement) -> list[tuple[Fund, int]]:
    """Each fund's amount, checked: InvalidFund when the funds cannot be posted as they stand."""
    out: list[tuple[Fund, int]] = []
    seen: set[Fund] = set()
    for payer, amount in s.funds:
        fund = Fund(payer, s.region_code)
        if fund in seen:
            raise InvalidFund("the same fund appears twice in one settlement")
        seen.add(fund)
        if (amount < 0) if s.reverses_settlement_id is None else (amount > 0):
            raise InvalidFund("a settlement's fund amounts are positive and a reversal's negative")
        out.append((fund, amount))
    if sum(a for _, a in out) != s.fund_pay:
        raise InvalidFund("the funds' amounts do not add up to fund_pay")
    return out


def advances(s: Settlement, mine: Callable[[str], bool]) -> list[Transfer]:
    """The advance transfers (Dr advance / Cr fund_payable) of the legs of `mine` payers."""
    out = []
    for fund, amount in legs(s):
        if amount == 0 or not mine(fund.payer):
            continue
        out.append(Transfer(transfer_id(s.event_id, fund, "advance"),
                            AccountKey(s.hospital_code, fund, Code.advance),
                            AccountKey(s.hospital_code, fund, Code.fund_payable), amount, "advance",
                            settlement_id=s.settlement_id, event_id=s.event_id, settled_at=s.settled_at))
    return out


def reversals(s: Settlement, mine: Callable[[str], bool], original: Callable[[Fund], Transfer | None],
              claimed: Callable[[Fund], bool]) -> list[Transfer]:
    """One correcting transfer per original leg of `mine` payers: back out of `advance` while the leg is not
    claimed, else into `owed_back` (what the hospital owes the fund, netted in its next claim)."""
    if s.reverses_settlement_id is None:
        raise ValueError("not a reversal")
    out = []
    for fund, amount in legs(s):
        if amount == 0 or not mine(fund.payer):
            continue
        leg = original(fund)
        if leg is None:
            raise OriginalNotPosted("the reversed settlement's leg of this fund was never posted")
        if leg.amount != -amount:
            raise InvalidFund("a reversal's fund amount does not negate its original's")
        to = AccountKey(s.hospital_code, fund, Code.owed_back) if claimed(fund) else leg.debit
        out.append(correct(leg, transfer_id=transfer_id(s.event_id, fund, "reversal"), credit=to, code="reversal",
                           settlement_id=s.settlement_id, event_id=s.event_id, settled_at=s.settled_at))
    return out
