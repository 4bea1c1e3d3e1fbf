"""The books' invariants, as values: what `GET /v1/invariants` reports and what the property tests assert.

1. every transfer debits exactly what it credits (one amount, two accounts: true by construction, checked on
   the stored rows all the same);
2. over all accounts, debits equal credits (pending and posted alike);
3. each account's stored balance equals the sum of its postings (the balance columns are updated in the same
   statement as the transfer insert; this catches any write that went around it);
4. no account is past its limit (the database CHECKs it; reported so an operator sees it stated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from onestop.clearing.domain.accounts import LIMITS, AccountKey, Balance
from onestop.clearing.domain.transfers import Transfer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    counterexamples: list[str] = field(default_factory=list)  # account or transfer ids, at most a few

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail, "counterexamples": self.counterexamples}


def balances_from(transfers: Iterable[Transfer]) -> dict[AccountKey, Balance]:
    """Every account's balance recomputed from its postings alone (no limit checked)."""
    out: dict[AccountKey, Balance] = {}
    for t in transfers:
        pending, posted = t.effect()
        d, c = out.get(t.debit, Balance()), out.get(t.credit, Balance())
        out[t.debit] = Balance(d.debits_pending + pending, d.debits_posted + posted, d.credits_pending,
                               d.credits_posted)
        out[t.credit] = Balance(c.debits_pending, c.debits_posted, c.credits_pending + pending,
                                c.credits_posted + posted)
    return out


@dataclass(frozen=True)
class Totals:
    """What the store sums in SQL (or a test from values): enough to state every invariant."""

    transfers: int
    unbalanced_transfers: list[str]  # ids of stored rows whose debit and credit sides differ
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    accounts: int
    drifted_accounts: list[str]  # ids of accounts whose stored balance differs from their postings' sum
    over_limit_accounts: list[str]


def totals_of(transfers: list[Transfer], stored: Mapping[AccountKey, Balance]) -> Totals:
    """The totals of books held as values (the pure model of what store/books.py sums in SQL)."""
    recomputed = balances_from(transfers)
    keys = set(recomputed) | set(stored)
    zero = Balance()
    drifted = sorted(str(k.id) for k in keys if recomputed.get(k, zero) != stored.get(k, zero))
    over = sorted(str(k.id) for k, b in stored.items() if not b.within(LIMITS[k.code]))
    return Totals(len(transfers), [], sum(b.debits_pending for b in stored.values()),
                  sum(b.debits_posted for b in stored.values()), sum(b.credits_pending for b in stored.values()),
                  sum(b.credits_posted for b in stored.values()), len(stored), drifted, over)


def checks(t: Totals) -> list[Check]:
    """The invariants' verdicts."""
    return [
        Check("transfer_balanced", not t.unbalanced_transfers,
              f"each of {t.transfers} transfers debits what it credits", t.unbalanced_transfers[:10]),
        Check("books_balanced", t.debits_posted == t.credits_posted and t.debits_pending == t.credits_pending,
              f"posted debits {t.debits_posted} = credits {t.credits_posted}; "
              f"pending debits {t.debits_pending} = credits {t.credits_pending} (fen)"),
        Check("balance_is_sum_of_postings", not t.drifted_accounts,
              f"each of {t.accounts} accounts' balance equals the sum of its postings", t.drifted_accounts[:10]),
        Check("within_limits", not t.over_limit_accounts, "no account past its limit", t.over_limit_accounts[:10]),
    ]
