"""Clearing's chart of accounts: one set of accounts per hospital × fund (a fund = payer × insurance region).

Where a hospital's advance (垫付, 001 三(二); 003 统一结算; 000 §3.4) goes, step by step; every step is a transfer
between two of these accounts (debit one, credit the other, one amount, TigerBeetle's model):

| code          | normal | holds                                                                  | limit            |
|---------------|--------|------------------------------------------------------------------------|------------------|
| advance       | debit  | advanced at settlement, not yet in a claim (the advance receivable)    | credits ≤ debits |
| claimed       | debit  | pending: in a submitted claim, awaiting its decision                   | credits ≤ debits |
| approved      | debit  | approved by the fund, not yet paid                                     | credits ≤ debits |
| rejected      | debit  | deducted or rejected (拒付), borne by the hospital, each with a reason  | —                |
| prepayment    | credit | paid ahead by the fund (预付金, 000 §3.4), not yet netted in a claim     | debits ≤ credits |
| owed_back     | credit | reversed after it was claimed: the hospital owes it back, next claim   | debits ≤ credits |
| fund_payable  | credit | the fund's side: every advance charged to it, less what it paid        | —                |

The flows (only the first two are built; claims, decisions and disbursements follow the same accounts):
- settlement leg: Dr advance / Cr fund_payable, the leg's amount (`hosp_part_amt` is no fund's: nothing).
- reversal of a leg not yet claimed: Dr fund_payable / Cr advance, naming the leg it corrects; of a leg already
  claimed, approved or paid: Dr fund_payable / Cr owed_back (netted in the hospital's next claim of that fund).
- claim item: *pending* Dr claimed / Cr advance (the advance is reserved, it cannot be claimed twice);
  decision: post the pending for the approved part and move the rest Dr rejected / Cr advance with its reason,
  with Dr approved / Cr claimed for the approved part (so `claimed` holds only what awaits a decision);
  withdrawal: void the pending.
- disbursement: Dr fund_payable / Cr approved (never above approved-and-unpaid: the limit on `approved`);
  prepayment: Dr fund_payable / Cr prepayment; netting it: Dr prepayment / Cr approved.
So what a fund still owes a hospital is fund_payable's balance less the rejected balance, and the balances of
all a hospital × fund's accounts sum to zero.

Accounts are identified by a uuid5 of their key, so every replica derives the same id without asking the
database, an account opens on its fund's first posting (a payer a policy adds needs no configuration), and
locks are always taken in id order.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from enum import StrEnum

NAMESPACE = uuid.UUID("3f0c8a52-8e7e-5b8e-9a51-6c1e0f2d7a10")  # clearing's books; never change it

_PAYER = re.compile(r"^[a-z][a-z0-9_]{0,47}$")
_REGION = re.compile(r"^\d{6}$")
_HOSPITAL = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class InvalidFund(ValueError):
    """A fund (payer, region) or hospital that cannot name an account: the event carrying it is parked."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail  # ours, no payload value in it: shown as the parked event's reason


class Code(StrEnum):
    advance = "advance"
    claimed = "claimed"
    approved = "approved"
    rejected = "rejected"
    prepayment = "prepayment"
    owed_back = "owed_back"
    fund_payable = "fund_payable"


@dataclass(frozen=True)
class Limit:
    """TigerBeetle's account flags: which side may never exceed the other (pending amounts count)."""

    debits_must_not_exceed_credits: bool = False
    credits_must_not_exceed_debits: bool = False


LIMITS: dict[Code, Limit] = {
    Code.advance: Limit(credits_must_not_exceed_debits=True),
    Code.claimed: Limit(credits_must_not_exceed_debits=True),
    Code.approved: Limit(credits_must_not_exceed_debits=True),
    Code.rejected: Limit(),
    Code.prepayment: Limit(debits_must_not_exceed_credits=True),
    Code.owed_back: Limit(debits_must_not_exceed_credits=True),
    Code.fund_payable: Limit(),
}


@dataclass(frozen=True, order=True)
class Fund:
    """A payer of an insurance region: `basic` of 150222 is not `basic` of 410000."""

    payer: str
    region_code: str

    def __post_init__(self) -> None:
        if not _PAYER.match(self.payer):
            raise InvalidFund("a fund's payer must be a lower-case identifier (basic, critical_illness …)")
        if not _REGION.match(self.region_code):
            raise InvalidFund("a fund's region_code must be 6 digits")


@dataclass(frozen=True, order=True)
class AccountKey:
    hospital_code: str
    fund: Fund
    code: Code

    def __post_init__(self) -> None:
        if not _HOSPITAL.match(self.hospital_code):
            raise InvalidFund("a hospital_code must be 1-64 letters, digits, '-' or '_'")

    @property
    def id(self) -> uuid.UUID:
        return account_id(self)


def account_id(key: AccountKey) -> uuid.UUID:
    """The account's id, the same in every process."""
    return uuid.uuid5(NAMESPACE, f"account|{key.hospital_code}|{key.fund.payer}|{key.fund.region_code}|{key.code}")


def accounts_of(hospital_code: str, fund: Fund) -> dict[Code, AccountKey]:
    """Every account of a hospital × fund."""
    return {c: AccountKey(hospital_code, fund, c) for c in Code}


@dataclass(frozen=True)
class Balance:
    """An account's four sums, in fen (TigerBeetle's debits/credits pending/posted)."""

    debits_pending: int = 0
    debits_posted: int = 0
    credits_pending: int = 0
    credits_posted: int = 0

    def within(self, limit: Limit) -> bool:
        """Whether this balance respects the account's limit (what the database CHECKs too)."""
        if min(self.debits_pending, self.debits_posted, self.credits_pending, self.credits_posted) < 0:
            return False
        if limit.debits_must_not_exceed_credits and self.debits_pending + self.debits_posted > self.credits_posted:
            return False
        return not (limit.credits_must_not_exceed_debits
                    and self.credits_pending + self.credits_posted > self.debits_posted)

    def net_debit(self) -> int:
        """Posted debits less posted credits (negative for a credit balance)."""
        return self.debits_posted - self.credits_posted
