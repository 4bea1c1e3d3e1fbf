"""Transfers, TigerBeetle's way: immutable, one debit account, one credit account, one positive amount in fen.

- `posted` moves the amount at once.
- `pending` reserves it on both accounts (debits_pending / credits_pending) until it is resolved, once:
  `post_pending` posts all of it or part of it (the rest goes back, or, with `rest_to`, is posted from another
  debit account: a deduction to `rejected`), `void_pending` releases all of it.
- A mistake is never edited: a correcting transfer names the one it corrects (`corrects_id`).
Ids are uuid5 of (event or request id, fund, leg), so a replay derives the same id and changes nothing.
`apply` is the balance rule the database enforces too (store/books.py): the model the property tests check.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from onestop.clearing.domain.accounts import LIMITS, NAMESPACE, AccountKey, Balance, Fund


class Kind(StrEnum):
    posted = "posted"
    pending = "pending"
    post_pending = "post_pending"
    void_pending = "void_pending"


class LimitExceeded(ValueError):
    """A transfer would take an account past its limit (a disbursement above what was approved …)."""

    def __init__(self, account: AccountKey) -> None:
        self.detail = f"the {account.code} account of {account.hospital_code} × {account.fund.payer} " \
                      f"{account.fund.region_code} would exceed its limit"
        super().__init__(self.detail)
        self.account = account


class PendingResolved(ValueError):
    """A pending transfer resolved twice, or resolved by more than it reserved."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Transfer:
    id: uuid.UUID
    debit: AccountKey
    credit: AccountKey
    amount: int
    code: str  # the flow: advance, reversal, claim, decision, rejection, disbursement, prepayment …
    kind: Kind = Kind.posted
    pending_id: uuid.UUID | None = None  # post_pending / void_pending: the pending transfer resolved
    pending_amount: int = 0  # what that pending reserved (released from the pending sums)
    corrects_id: uuid.UUID | None = None
    settlement_id: str | None = None
    event_id: str | None = None
    settled_at: datetime | None = None  # the ledger's commit of the settlement (latency is measured from it)
    reason: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.amount < 0 or (self.amount == 0 and self.kind in (Kind.posted, Kind.pending)):
            raise ValueError("a transfer's amount is positive fen")
        if self.debit == self.credit:
            raise ValueError("a transfer debits one account and credits another")
        if self.debit.hospital_code != self.credit.hospital_code or self.debit.fund != self.credit.fund:
            raise ValueError("a transfer stays within one hospital × fund")  # no row is everyone's hot lock
        if (self.kind in (Kind.post_pending, Kind.void_pending)) != (self.pending_id is not None):
            raise ValueError("post_pending and void_pending name their pending transfer, nothing else does")

    @property
    def fund(self) -> Fund:
        return self.debit.fund

    @property
    def hospital_code(self) -> str:
        return self.debit.hospital_code

    def effect(self) -> tuple[int, int]:
        """(pending delta, posted delta) on both its accounts, debit side and credit side alike."""
        if self.kind is Kind.posted:
            return 0, self.amount
        if self.kind is Kind.pending:
            return self.amount, 0
        if self.kind is Kind.post_pending:
            return -self.pending_amount, self.amount
        return -self.pending_amount, 0


def transfer_id(origin: str, fund: Fund, leg: str) -> uuid.UUID:
    """The id of the transfer that `origin` (an event or request id) makes for `fund`'s `leg`."""
    return uuid.uuid5(NAMESPACE, f"transfer|{origin}|{fund.payer}|{fund.region_code}|{leg}")


def post_pending(pending: Transfer, *, transfer_id: uuid.UUID, amount: int | None = None,
                 rest_to: AccountKey | None = None, rest_id: uuid.UUID | None = None,
                 reason: str | None = None) -> list[Transfer]:
    """Post a pending transfer in full, or `amount` of it: without `rest_to` the rest is released (TigerBeetle),
    with it the rest is posted from `rest_to` instead of the pending's debit account (a claim's deduction is
    posted Dr rejected / Cr advance, with its reason)."""
    if pending.kind is not Kind.pending:
        raise PendingResolved("only a pending transfer can be posted")
    amount = pending.amount if amount is None else amount
    if not 0 <= amount <= pending.amount:
        raise PendingResolved("a pending transfer is posted for at most what it reserved")
    out = [Transfer(transfer_id, pending.debit, pending.credit, amount, pending.code, Kind.post_pending,
                    pending_id=pending.id, pending_amount=pending.amount, settlement_id=pending.settlement_id,
                    reason=reason)]
    rest = pending.amount - amount
    if rest and rest_to is not None:
        if rest_id is None:
            raise ValueError("the rest's transfer needs its own id")
        out.append(Transfer(rest_id, rest_to, pending.credit, rest, f"{pending.code}_rest",
                            settlement_id=pending.settlement_id, reason=reason))
    return out


def void_pending(pending: Transfer, *, transfer_id: uuid.UUID, reason: str | None = None) -> Transfer:
    """Release a pending transfer entirely (a withdrawn claim)."""
    if pending.kind is not Kind.pending:
        raise PendingResolved("only a pending transfer can be voided")
    return Transfer(transfer_id, pending.debit, pending.credit, 0, pending.code, Kind.void_pending,
                    pending_id=pending.id, pending_amount=pending.amount, settlement_id=pending.settlement_id,
                    reason=reason)


def correct(original: Transfer, *, transfer_id: uuid.UUID, amount: int | None = None,
            credit: AccountKey | None = None, code: str = "correction", **facts: object) -> Transfer:
    """A new transfer undoing `original` (or `amount` of it): debit and credit swapped, or the credit sent to
    another account (`owed_back` when what it corrects was already claimed)."""
    if original.kind is not Kind.posted and original.kind is not Kind.post_pending:
        raise ValueError("only a posted amount is corrected")
    return replace(Transfer(transfer_id, original.credit, credit or original.debit,
                            original.amount if amount is None else amount, code, corrects_id=original.id),
                   **facts)  # type: ignore[arg-type]


def apply(balances: Mapping[AccountKey, Balance], transfers: Iterable[Transfer],
          resolved: set[uuid.UUID] | None = None) -> dict[AccountKey, Balance]:
    """The balances after `transfers`, one by one: LimitExceeded at the first that breaks a limit,
    PendingResolved for a pending resolved twice (`resolved` carries the pendings resolved before)."""
    out = dict(balances)
    done = set() if resolved is None else resolved
    for t in transfers:
        if t.pending_id is not None:
            if t.pending_id in done:
                raise PendingResolved("this pending transfer was already posted or voided")
            done.add(t.pending_id)
        pending, posted = t.effect()
        d, c = out.get(t.debit, Balance()), out.get(t.credit, Balance())
        d = Balance(d.debits_pending + pending, d.debits_posted + posted, d.credits_pending, d.credits_posted)
        c = Balance(c.debits_pending, c.debits_posted, c.credits_pending + pending, c.credits_posted + posted)
        for key, bal in ((t.debit, d), (t.credit, c)):
            if not bal.within(LIMITS[key.code]):
                raise LimitExceeded(key)
        out[t.debit], out[t.credit] = d, c
    return out
