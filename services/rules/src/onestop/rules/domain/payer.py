"""A payer resolved for one region and date, and the national fund codes (fund_pay_type) it reports.

Its own module so that `plans` (the waterfall's compiled steps) and `resolved` (the policy that
compiles them) both build on it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from onestop.contracts.enums import HospitalLevel, Insurance, StayKind
from onestop.contracts.quote import Person, Stay
from onestop.rules.domain.conditions import Predicate
from onestop.rules.domain.policy import Conditions

OTHER_FUND = "999997"  # 其他: no national fund of its own (charity, commercial insurance, …)
# the national fund codes (fund_pay_type) by payer id and insurance (DESIGN §5), where a policy names
# none for its payer (`fund_pay_type`); a payer missing here reports OTHER_FUND. Employee large-amount /
# critical illness has no default: its code is the region's (set in its policy), else OTHER_FUND.
NATIONAL_FUND_CODES: dict[str, dict[Insurance, str]] = {
    "basic": {Insurance.resident: "390100", Insurance.employee: "310100"},
    "critical_illness": {Insurance.resident: "390200"},
    "ci_supplement": {Insurance.resident: "390300"},
    "assistance": {Insurance.resident: "610100", Insurance.employee: "610100"},
    "gap_fill": {Insurance.resident: "640100", Insurance.employee: "640100"},
}


def fund_codes(payer_id: str, given: str | dict[Insurance, str] | None) -> dict[Insurance, str]:
    """A payer's fund code per insurance: the policy's (one code, or one per insurance), else the
    national table's, else OTHER_FUND."""
    national = NATIONAL_FUND_CODES.get(payer_id, {})
    out: dict[Insurance, str] = {}
    for ins in Insurance:
        if isinstance(given, dict):
            code = given.get(ins) or national.get(ins)
        else:
            code = given or national.get(ins)
        out[ins] = code or OTHER_FUND
    return out

def in_period(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)


@dataclass(frozen=True, slots=True)
class ResolvedPayer:
    id: str
    name: str
    agency: str
    kind: str
    path: str
    conditions: Conditions
    replaces: frozenset[str]
    params: dict[Insurance | None, Any]
    nhsa: dict[Insurance, str]  # fund code (fund_pay_type) per insurance
    seed: str | None = None
    # compiled conditions (None = anyone)
    _cats: frozenset | None = None
    _classes: frozenset | None = None
    _levels: frozenset | None = None
    _kinds: frozenset | None = None
    _ins: frozenset | None = None
    _base_scope: dict | None = None  # insurance → does this payer's base start from the in-scope amount
    _match: Predicate | None = None  # household, chronic, population, match (conditions.when_predicate)

    @classmethod
    def make(cls, **kw: Any) -> ResolvedPayer:
        c: Conditions = kw["conditions"]

        def fs(v: list) -> frozenset | None:
            return frozenset(v) if v else None

        base_scope = {ins: getattr(p, "base", "remaining") == "policy_scope" for ins, p in kw["params"].items()}
        return cls(**kw, _cats=fs(c.categories), _classes=fs(c.disease_class), _levels=fs(c.hospital_levels),
                   _kinds=fs(c.stay_kinds), _ins=fs(c.insurance), _base_scope=base_scope)

    def verb_zh(self, insurance: Insurance) -> str:
        """What the payer does, in its sentences: 救助 for medical assistance (fund codes 61xxxx and
        the emergency-assistance fund), 报销 for an insurer (basic, critical illness, a supplementary
        or commercial insurance)."""
        code = self.nhsa.get(insurance) or ""
        return "救助" if code.startswith("61") or self.id.endswith("assistance") else "报销"

    def base_scope(self, insurance: Insurance) -> bool:
        """Whether the payer's base is the remaining in-scope amount (else all that is left unpaid)."""
        bs = self._base_scope or {}
        return bs[insurance] if insurance in bs else bs.get(None, False)

    def params_for(self, insurance: Insurance) -> Any:
        p = self.params.get(insurance)
        return p if p is not None else self.params.get(None)

    def applies(self, person: Person, stay: Stay) -> bool:
        """Whether the payer pays anything for this person and stay (its `when` and its parameters)."""
        return self.applies_at(person.insurance, stay.kind, stay.hospital_level) and self.applies_to(person, stay)

    def applies_at(self, insurance: Insurance, kind: StayKind, level: HospitalLevel) -> bool:
        """The conditions fixed by (insurance, stay kind, hospital level): the waterfall's plans use them."""
        if self._levels is not None and level not in self._levels:
            return False
        if self._kinds is not None and kind not in self._kinds:
            return False
        if self._ins is not None and insurance not in self._ins:
            return False
        return self.params_for(insurance) is not None

    @property
    def person_conditions(self) -> bool:
        """Whether `applies_to` can say no (else the payer applies wherever `applies_at` says so)."""
        c = self.conditions
        return bool(self._cats is not None or self._classes is not None or c.labour is not None
                    or c.confirmed_unable_to_pay is not None or c.disease_codes or self._match is not None)

    def applies_to(self, person: Person, stay: Stay) -> bool:
        """The conditions on the person and the stay beyond `applies_at`."""
        c = self.conditions
        if self._cats is not None and self._cats.isdisjoint(person.categories):
            return False
        if self._classes is not None and person.disease_class not in self._classes:
            return False
        if c.labour is not None and person.labour is not c.labour:
            return False
        unable = c.confirmed_unable_to_pay
        if unable is not None and stay.confirmed_unable_to_pay is not unable:
            return False
        if c.disease_codes and not (stay.disease_code and any(
                stay.disease_code.startswith(p) for p in c.disease_codes)):
            return False
        m = self._match
        return m is None or m(person, stay)
