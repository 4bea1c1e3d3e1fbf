"""The rules service's problems (RFC 9457 types)."""

from __future__ import annotations

from datetime import date

from onestop.common.errors import Problem
from onestop.rules.domain.policy import PolicyError


class NoPolicy(Problem):
    kind, title, status = "no-policy-in-force", "No policy in force for the region and date", 422

    @classmethod
    def of(cls, region_code: str, on: date) -> NoPolicy:
        return cls(f"no policy is in force for region {region_code} on {on.isoformat()}",
                   errors=[{"field": "region_code", "reason": f"no policy in force for {region_code}"},
                           {"field": "date", "reason": f"no policy in force on {on.isoformat()}"}],
                   region_code=region_code, date=on.isoformat())


class PolicyRejected(Problem):
    kind, title, status = "policy-invalid", "The policy file is invalid; nothing was published", 422

    @classmethod
    def of(cls, errors: list[PolicyError]) -> PolicyRejected:
        first = errors[0] if errors else None
        detail = f"{first.file}: {first.path or '<root>'}: {first.reason}" if first else "invalid policy"
        return cls(detail, errors=[{"file": e.file, "path": e.path, "reason": e.reason} for e in errors])


class PolicyVersionConflict(Problem):
    kind, title, status = "policy-version-conflict", "That version exists already", 409
