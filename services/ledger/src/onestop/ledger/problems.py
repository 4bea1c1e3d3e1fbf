"""The ledger's own problem kinds (RFC 9457), beside onestop.common.errors."""

from __future__ import annotations

from onestop.common.errors import Problem
from onestop.contracts.eligibility import EligibilityAnswer


class NotEligible(Problem):
    kind, title, status = "not-eligible", "Not eligible for treat-first", 422

    @classmethod
    def of(cls, answer: EligibilityAnswer) -> NotEligible:
        """identity's reason codes and Chinese sentences, as the window shows them (no ID number, no name)."""
        reasons = [{"code": r.code, "text_zh": r.text_zh} for r in answer.reasons]
        if not reasons:
            reasons = [{"code": "not_eligible", "text_zh": "不符合先诊疗后付费条件"}]
        return cls("；".join(r["text_zh"] for r in reasons), reasons=reasons, blacklisted=answer.blacklisted)


class NotAcceptable(Problem):
    kind, title, status = "not-acceptable", "No representation matches the Accept header", 406
