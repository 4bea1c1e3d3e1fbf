"""What a batch of register rows changes for persons already known: pure, values in, writes out.

A status is identified by (category, source, region_code, valid_from) and an enrolment by (scheme,
region_code, valid_from); the same key with other values supersedes the current row (an exit sets
valid_to), a new key adds a row, an identical row changes nothing — which makes a re-import a no-op.
The region is in both keys, so a bureau's import (whose rows all lie in its region) supersedes only
its own region's rows: 150222's register cannot end a status 411203 recorded.
Profile facts (name, guardian, domicile, household, civil servant, disability, disease class,
labour, card number) merge: a cell left empty keeps what is known. They are one per person, so a
scoped import changes them only for a person domiciled inside its scope (or with no domicile yet);
for anyone else the rows' statuses are recorded, the profile is left alone and the rows are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from onestop.contracts.regions import region_within

PROFILE_FACTS: tuple[str, ...] = ("name_hash", "guardian_hash", "domicile_region", "household", "civil_servant",
                                  "disability", "disease_class", "labour", "card_no")


# Not frozen: a frozen dataclass's __init__ costs 2.5x, paid once per row of a million-row import.
@dataclass(slots=True)
class StatusFact:
    """An assistance status row as stored (id None = not stored yet)."""

    category: str
    subgroup: str | None
    source: str
    region_code: str
    valid_from: date
    valid_to: date | None
    id: int | None = None

    def key(self) -> tuple[str, str, str, date]:
        return (self.category, self.source, self.region_code, self.valid_from)

    def same(self, other: StatusFact) -> bool:
        return (self.subgroup, self.region_code, self.valid_to) == (other.subgroup, other.region_code,
                                                                     other.valid_to)


# Not frozen: a frozen dataclass's __init__ costs 2.5x, paid once per row of a million-row import.
@dataclass(slots=True)
class EnrolmentFact:
    """An insurance enrolment row as stored (id None = not stored yet)."""

    scheme: str
    region_code: str
    source: str
    valid_from: date
    valid_to: date | None
    id: int | None = None

    def key(self) -> tuple[str, str, date]:
        return (self.scheme, self.region_code, self.valid_from)

    def same(self, other: EnrolmentFact) -> bool:
        return self.valid_to == other.valid_to


@dataclass(slots=True)
class Profile:
    """The non-status facts of a person; `secrets` carries ciphertexts matching the hashes."""

    values: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, bytes | None] = field(default_factory=dict)
    id: int | None = None


@dataclass(slots=True)
class KnownPerson:
    """What the database holds for a person now (current rows only)."""

    person_id: str
    profile: Profile | None
    statuses: list[StatusFact]
    enrolments: list[EnrolmentFact]


@dataclass(slots=True)
class Incoming:
    """Everything one person's rows in a batch say, folded in file order."""

    profile: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, bytes | None] = field(default_factory=dict)
    statuses: dict[tuple[str, str, str, date], StatusFact] = field(default_factory=dict)
    enrolments: dict[tuple[str, str, date], EnrolmentFact] = field(default_factory=dict)
    rows: list[int] = field(default_factory=list)  # the file rows, for a report naming them

    def add_profile(self, values: dict[str, Any], secrets: dict[str, bytes | None], row: int = 0) -> None:
        """Later rows win; an empty (None) cell says nothing."""
        self.profile.update({k: v for k, v in values.items() if v is not None})
        self.secrets.update({k: s for k, s in secrets.items() if s is not None})
        self.rows.append(row)


# Not frozen: a frozen dataclass's __init__ costs 2.5x, paid once per row of a million-row import.
@dataclass(slots=True)
class Change:
    """One status or enrolment that began, ended or changed (for person.status.changed)."""

    category: str
    valid_from: date
    valid_to: date | None
    change: str
    region_code: str


@dataclass(slots=True)
class PersonWrites:
    """The rows to write for one person and the changes to announce."""

    new_profile: Profile | None = None
    superseded_profile: int | None = None
    new_statuses: list[StatusFact] = field(default_factory=list)
    superseded_statuses: list[int] = field(default_factory=list)
    new_enrolments: list[EnrolmentFact] = field(default_factory=list)
    superseded_enrolments: list[int] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    profile_outside_scope: bool = False  # the rows would have changed the profile of a person domiciled elsewhere


def _kind(old: StatusFact | EnrolmentFact, new: StatusFact | EnrolmentFact) -> str:
    return "ended" if old.valid_to is None and new.valid_to is not None else "changed"


_NO_PROFILE: dict[str, Any] = dict.fromkeys(PROFILE_FACTS)


def _plan_new(incoming: Incoming) -> PersonWrites:
    """`plan` for a person not stored yet (every row of a first import): everything is added."""
    merged = _NO_PROFILE.copy()
    merged.update(incoming.profile)
    changes = [Change(s.category, s.valid_from, s.valid_to, "added", s.region_code)
               for s in incoming.statuses.values()]
    changes += [Change("insured", e.valid_from, e.valid_to, "added", e.region_code)
                for e in incoming.enrolments.values()]
    return PersonWrites(new_profile=Profile(values=merged, secrets=dict(incoming.secrets)),
                        new_statuses=list(incoming.statuses.values()),
                        new_enrolments=list(incoming.enrolments.values()), changes=changes)


def in_scope(profile: Profile | None, scope: str | None) -> bool:
    """May an import of `scope` (None = unscoped, an operator's) change this stored profile?"""
    if scope is None or profile is None:
        return True
    domicile = profile.values.get("domicile_region")
    return domicile is None or region_within(domicile, scope)


def plan(known: KnownPerson | None, incoming: Incoming, scope: str | None = None) -> PersonWrites:
    """The writes that bring a person's current rows in line with what the batch says (an import of `scope`)."""
    if known is None:
        return _plan_new(incoming)
    out = PersonWrites()
    current = known.profile if known and known.profile else None
    merged = dict(current.values) if current else {k: None for k in PROFILE_FACTS}
    merged.update(incoming.profile)
    if current is None or merged != current.values:
        if not in_scope(current, scope):
            out.profile_outside_scope = True
        else:
            secrets = dict(current.secrets) if current else {}
            secrets.update(incoming.secrets)
            out.new_profile = Profile(values=merged, secrets=secrets)
            out.superseded_profile = current.id if current else None
    have_s = {s.key(): s for s in known.statuses} if known else {}
    for key, s in incoming.statuses.items():
        old = have_s.get(key)
        if old is None:
            out.new_statuses.append(s)
            out.changes.append(Change(s.category, s.valid_from, s.valid_to, "added", s.region_code))
        elif not old.same(s):
            out.new_statuses.append(s)
            out.superseded_statuses.append(old.id)  # type: ignore[arg-type]
            out.changes.append(Change(s.category, s.valid_from, s.valid_to, _kind(old, s), s.region_code))
    have_e = {e.key(): e for e in known.enrolments} if known else {}
    for e_key, e in incoming.enrolments.items():
        old_e = have_e.get(e_key)
        if old_e is None:
            out.new_enrolments.append(e)
            out.changes.append(Change("insured", e.valid_from, e.valid_to, "added", e.region_code))
        elif not old_e.same(e):
            out.new_enrolments.append(e)
            out.superseded_enrolments.append(old_e.id)  # type: ignore[arg-type]
            out.changes.append(Change("insured", e.valid_from, e.valid_to, _kind(old_e, e), e.region_code))
    return out
