"""What the seed tests of the rules domain share: a quote on the policy in force, and its amounts by payer."""

from __future__ import annotations

from onestop.contracts.quote import QuoteRequest, QuoteResult
from onestop.rules.domain import PolicyRegistry, compute_quote

A = "250101001"  # 血常规, class A in every shipped catalogue
POOR = ["registered_poor"]


def quote(registry: PolicyRegistry, req: QuoteRequest) -> QuoteResult:
    """The quote of `req` under the policy in force in its region on its date."""
    return compute_quote(registry.resolve(req.region_code, req.date), req)


def amounts(q: QuoteResult) -> dict[str, int]:
    """Each payer's amount (fen), in waterfall order."""
    return {p.payer: p.amount for p in q.payers}
