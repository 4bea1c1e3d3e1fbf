"""The treat-first decision: may this person be admitted without a deposit here, on this date?

Pure: the person's snapshot, the region's `TreatFirstRule` (policy data from rules), the hospital
and the date go in; a decision with reasons in codes and Chinese comes out. Nothing here is
written per region: every difference between Henan, Hotan, Qidong and Guyang is in the rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from onestop.contracts.enums import Category, Disability, HospitalLevel, Household, Insurance
from onestop.contracts.regions import region_matches, region_within
from onestop.contracts.treat_first import AdmissionGroup, TreatFirstRule

_SCOPE_ZH: dict[str, str] = {"hospital": "本院", "county": "县域内", "city": "市域内", "province": "省内"}

REASONS_ZH: dict[str, str] = {
    "not_on_register": "未在任何登记名册中",
    "not_insured": "在该日期没有有效的基本医疗保险参保记录",
    "insurance_not_admitted": "参保类型不在本地区先诊疗后付费的实施对象范围内",
    "category_not_admitted": "人员类别不在本地区先诊疗后付费的实施对象范围内",
    "household_not_admitted": "户籍性质不在本地区先诊疗后付费的实施对象范围内",
    "civil_servant_excluded": "国家公职人员不在本地区先诊疗后付费的实施对象范围内",
    "civil_servant_required": "本实施对象仅限国家公职人员",
    "domicile_outside": "户籍所在地不在本地区先诊疗后付费的实施范围内",
    "hospital_out_of_scope": "该医疗机构不在先诊疗后付费的实施范围内",
    "not_public_hospital": "该医疗机构不是公立医疗机构，本地区仅在公立医疗机构实行先诊疗后付费",
    "blacklisted": "已被列入诚信黑名单，不再享受先诊疗后付费服务",
}
# Order in which reasons are reported: who the person is first, then where, then credit.
_ORDER = {code: i for i, code in enumerate(REASONS_ZH)}


@dataclass(frozen=True, slots=True)
class Status:
    """An assistance status from a register, in force from valid_from to valid_to (inclusive)."""

    category: Category
    valid_from: date
    valid_to: date | None = None
    subgroup: str | None = None
    source: str | None = None

    def active_on(self, on: date) -> bool:
        """True if the status counts on this date."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True, slots=True)
class Enrolment:
    """An insurance enrolment: scheme, insurance region (参保地) and period."""

    scheme: Insurance
    region_code: str
    valid_from: date
    valid_to: date | None = None

    def active_on(self, on: date) -> bool:
        """True if the enrolment is in force on this date."""
        return self.valid_from <= on and (self.valid_to is None or on <= self.valid_to)


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    """A credit blacklist decision, made by an operator of `region_code`: in force from `since` (the day of the
    decision) until the day before `until` (the day it was lifted); None = open-ended."""

    region_code: str
    active: bool = True
    since: date | None = None
    until: date | None = None

    def active_on(self, on: date) -> bool:
        """True if the blacklisting is in force on this date."""
        return self.active and (self.since is None or self.since <= on) and (self.until is None or on < self.until)


@dataclass(frozen=True, slots=True)
class PersonSnapshot:
    """What identity knows about a person that the decision needs (no ID number, no name)."""

    statuses: tuple[Status, ...] = ()
    enrolments: tuple[Enrolment, ...] = ()
    domicile_region: str | None = None
    household: Household | None = None
    civil_servant: bool | None = None
    disability: Disability | None = None
    blacklist: tuple[BlacklistEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Hospital:
    """A designated hospital as the rules registry lists it."""

    code: str
    region_code: str
    level: HospitalLevel
    public: bool


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a person is not (or not fully) eligible: a stable code and a sentence in Chinese."""

    code: str
    text_zh: str


@dataclass(frozen=True, slots=True)
class InsuranceInForce:
    """The enrolment the decision was made with."""

    scheme: Insurance
    region_code: str


@dataclass(frozen=True, slots=True)
class EligibilityDecision:
    """The answer: eligible or not, why, and the facts the ledger snapshots at admission."""

    eligible: bool
    categories: tuple[Category, ...] = ()
    active_categories: tuple[Category, ...] = ()
    matched_groups: tuple[str, ...] = ()
    insurance: InsuranceInForce | None = None
    blacklisted: bool = False
    direct_settlement_allowed: bool = False
    disability: Disability | None = None
    reasons: tuple[Reason, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form with glossary identifiers."""
        return {
            "eligible": self.eligible,
            "categories": [c.value for c in self.categories],
            "active_categories": [c.value for c in self.active_categories],
            "matched_groups": list(self.matched_groups),
            "insurance": None if self.insurance is None else
            {"scheme": self.insurance.scheme.value, "region_code": self.insurance.region_code},
            "blacklisted": self.blacklisted,
            "direct_settlement_allowed": self.direct_settlement_allowed,
            "disability": None if self.disability is None else self.disability.value,
            "reasons": [{"code": r.code, "text_zh": r.text_zh} for r in self.reasons],
        }


def _reason(code: str, rule: TreatFirstRule | None = None) -> Reason:
    text = REASONS_ZH[code]
    if code == "hospital_out_of_scope" and rule is not None:
        text = f"该医疗机构不在参保地{_SCOPE_ZH[rule.hospital_scope]}先诊疗后付费的实施范围内"
    elif code == "blacklisted" and rule is not None and rule.blacklist_blocks_direct_settlement:
        text = "已被列入诚信黑名单，不再享受先诊疗后付费服务和医保直接报销业务"
    return Reason(code, text)


def _group_categories(group: AdmissionGroup) -> list[Category]:
    # A group that names subgroups but no category can only mean the urban special groups.
    if not group.categories and group.subgroups:
        return [Category.urban_special]
    return list(group.categories)


def _status_matches(status: Status, group: AdmissionGroup, wanted: list[Category]) -> bool:
    if status.category not in wanted:
        return False
    if status.category == Category.urban_special and group.subgroups:
        return status.subgroup in group.subgroups
    return True


def _domicile_ok(mode: str, domicile: str | None, rule_region: str) -> bool:
    if mode == "any":
        return True
    if domicile is None:
        return False
    if mode == "province":
        return domicile[:2] == rule_region[:2]
    return region_within(domicile, rule_region)


def _group_failures(group: AdmissionGroup, person: PersonSnapshot, active: list[Status],
                    enrolment: Enrolment | None, rule: TreatFirstRule) -> tuple[list[str], list[Category]]:
    """The codes of the group's conditions that fail, and the categories that satisfied it."""
    fails: list[str] = []
    matched: list[Category] = []
    wanted = _group_categories(group)
    if wanted:
        matched = [s.category for s in active if _status_matches(s, group, wanted)]
        if not matched:
            fails.append("category_not_admitted")
    if group.insurance:
        if enrolment is None:
            fails.append("not_insured")
        elif enrolment.scheme not in group.insurance:
            fails.append("insurance_not_admitted")
    if group.household and person.household not in group.household:
        fails.append("household_not_admitted")
    # Registers mark civil servants with 是; an unmarked person is taken as not a civil servant.
    if group.civil_servant is False and person.civil_servant:
        fails.append("civil_servant_excluded")
    elif group.civil_servant is True and not person.civil_servant:
        fails.append("civil_servant_required")
    if not _domicile_ok(group.domicile, person.domicile_region, rule.region_code):
        fails.append("domicile_outside")
    return fails, matched


@dataclass(slots=True)
class _Candidate:
    enrolment: Enrolment | None
    fails: list[str]
    groups: list[str]
    categories: set[Category]


def _evaluate(person: PersonSnapshot, active: list[Status], enrolment: Enrolment | None,
              rule: TreatFirstRule, hospital: Hospital, blacklisted: bool) -> _Candidate:
    groups: list[str] = []
    categories: set[Category] = set()
    best: list[str] | None = None
    closest: set[str] = set()
    for group in rule.groups:
        fails, matched = _group_failures(group, person, active, enrolment, rule)
        if not fails:
            groups.append(group.id)
            categories.update(matched)
        elif best is None or len(fails) < len(best):
            best, closest = fails, set(fails)
        elif len(fails) == len(best):
            # Several groups equally close: report what each lacks, so the window sees every way in.
            closest.update(fails)
    if not rule.groups:
        closest = {"category_not_admitted"}  # a rule with no group admits nobody
    fails_all: set[str] = set() if groups else closest
    if enrolment is None:
        fails_all.add("not_insured")
    elif not (region_within(hospital.region_code, rule.region_code)
              and region_matches(rule.hospital_scope, hospital.region_code, enrolment.region_code)):
        fails_all.add("hospital_out_of_scope")
    if rule.public_hospitals_only and not hospital.public:
        fails_all.add("not_public_hospital")
    if blacklisted:
        fails_all.add("blacklisted")
    return _Candidate(enrolment, sorted(fails_all, key=_ORDER.__getitem__), groups, categories)


def _ordered(categories: Iterable[Category]) -> tuple[Category, ...]:
    wanted = set(categories)
    return tuple(c for c in Category if c in wanted)


def is_blacklisted(person: PersonSnapshot, rule: TreatFirstRule, hospital: Hospital, on: date) -> bool:
    """True if a blacklisting in force on `on` reaches this hospital within the rule's blacklist scope."""
    return any(e.active_on(on) and region_matches(rule.blacklist_scope, e.region_code, hospital.region_code)
               for e in person.blacklist)


def decide(person: PersonSnapshot | None, rule: TreatFirstRule, hospital: Hospital,
           on: date) -> EligibilityDecision:
    """Decide treat-first eligibility of a person (None = unknown) at a hospital on a date."""
    if person is None:
        return EligibilityDecision(eligible=False, reasons=(_reason("not_on_register"),))
    active = [s for s in person.statuses if s.active_on(on)]
    # Most recent enrolment first: it decides when several are equally good.
    enrolments = sorted((e for e in person.enrolments if e.active_on(on)), key=lambda e: e.valid_from,
                        reverse=True)
    blacklisted = is_blacklisted(person, rule, hospital, on)
    active_categories = _ordered(s.category for s in active)
    if not active and not enrolments:
        reasons = [_reason("not_on_register")] + ([_reason("blacklisted", rule)] if blacklisted else [])
        return EligibilityDecision(eligible=False, blacklisted=blacklisted, disability=person.disability,
                                   reasons=tuple(reasons))
    options: list[Enrolment | None] = list(enrolments) or [None]
    candidates = [_evaluate(person, active, e, rule, hospital, blacklisted) for e in options]
    # A person enrolled twice (重复参保) is eligible if either enrolment admits them; otherwise the
    # enrolment that comes closest explains the refusal.
    chosen = min(candidates, key=lambda c: len(c.fails))
    eligible = not chosen.fails
    blocks = blacklisted and rule.blacklist_blocks_direct_settlement
    insurance = None if chosen.enrolment is None else InsuranceInForce(chosen.enrolment.scheme,
                                                                       chosen.enrolment.region_code)
    return EligibilityDecision(
        eligible=eligible,
        categories=_ordered(chosen.categories) if eligible else (),
        active_categories=active_categories,
        matched_groups=tuple(chosen.groups) if eligible else (),
        insurance=insurance,
        blacklisted=blacklisted,
        direct_settlement_allowed=insurance is not None and not blocks,
        disability=person.disability,
        reasons=tuple(_reason(code, rule) for code in chosen.fails),
    )
