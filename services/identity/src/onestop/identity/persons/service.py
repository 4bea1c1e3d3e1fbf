"""Use cases that read a person: the treat-first eligibility decision, the person view and the name a printed
document shows, each audited."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now, today
from onestop.common.errors import Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Category, Disability, Household, Insurance, Role
from onestop.contracts.regions import region_within
from onestop.identity.domain import id_number as idn
from onestop.identity.domain.eligibility import BlacklistEntry, Enrolment, PersonSnapshot, Status, decide
from onestop.identity.domain.person_facts import age_on, quote_person
from onestop.identity.domain.pii import PiiCipher
from onestop.identity.rules_client import RuleBook
from onestop.identity.store import audit, persons
from onestop.identity.store.reads import ReadPool


@dataclass(frozen=True)
class EligibilityQuery:
    """The body of POST /v1/eligibility."""

    id_number: str
    region_code: str
    hospital_code: str
    on: date | None


def _invalid(exc: idn.InvalidIdNumber) -> InvalidInput:
    return InvalidInput(f"invalid {exc.field}", errors=[field_error(exc.field, exc.reason)])


def _d(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def snapshot_of(row: dict[str, Any]) -> PersonSnapshot:
    """The decision's view of a person from the one-round-trip row."""
    return PersonSnapshot(
        statuses=tuple(Status(Category(c), date.fromisoformat(f), _d(t), sub, src)
                       for c, f, t, sub, src in row["statuses"]),
        enrolments=tuple(Enrolment(Insurance(s), r, date.fromisoformat(f), _d(t)) for s, r, f, t in row["enrolments"]),
        domicile_region=row["domicile_region"],
        household=Household(row["household"]) if row["household"] else None,
        civil_servant=row["civil_servant"],
        disability=Disability(row["disability"]) if row["disability"] else None,
        blacklist=tuple(BlacklistEntry(region, since=_d(since), until=_d(until))
                        for region, since, until in row["blacklist"]),
    )


async def eligibility(runtime: Runtime, principal: Principal, q: EligibilityQuery) -> dict[str, Any]:
    """Decide treat-first for a person at a hospital on a date; the read is audited.

    A `service` caller (the ledger at admission: api/service_grants.py lets no other service here) names the
    hospital the stay is at, is audited like the hospital would be, and is answered the person facts a quote
    needs besides, which no client role is given."""
    require_role(principal, Role.hospital, Role.bureau, Role.operator, Role.service)
    if principal.role is Role.hospital and principal.hospital_code != q.hospital_code:
        raise Forbidden("a hospital may only ask for its own hospital_code")
    try:
        ident = idn.parse(q.id_number, today=today())
        region = idn.check_region_code(q.region_code)
    except idn.InvalidIdNumber as exc:
        raise _invalid(exc) from None
    if principal.role is Role.bureau and not principal.can_see_region(region):
        raise Forbidden("a bureau may only ask within its own region")
    on = q.on or today()
    book: RuleBook = runtime.extras["rulebook"]
    rif = await book.rule(region, on)
    if rif is None:
        raise InvalidInput("no treat-first policy covers this region on this date",
                           errors=[field_error("region_code", "no treat-first policy covers this region on this date")])
    hospital = await book.hospital(region, q.hospital_code, on)
    if hospital is None:
        raise InvalidInput("the hospital is not a designated hospital of the region",
                           errors=[field_error("hospital_code", "not a designated hospital of this region")])
    cipher: PiiCipher = runtime.extras["pii"]
    reads: ReadPool = runtime.extras["reads"]
    # The read and its audit row in one statement, one round trip (see store/reads.py for why).
    row = await reads.snapshot_audited(cipher.blind_index(ident.number), subject=principal.subject,
                                       role=principal.role.value, endpoint=audit.ELIGIBILITY,
                                       detail=f"hospital {q.hospital_code}", hospital_code=q.hospital_code)
    decision = decide(snapshot_of(row) if row else None, rif.rule, hospital, on)
    answer: dict[str, Any] = {
        "id_number_masked": idn.mask(ident.number),
        "birth_year": ident.birth_date.year,
        "person_id": row["person_id"] if row else None,
        "region_code": region,
        "hospital_code": hospital.code,
        "date": on.isoformat(),
        **decision.as_dict(),
        "policy": {"region_code": rif.rule.region_code, "policy_id": rif.policy_id, "version": rif.version,
                   "valid_from": rif.rule.valid_from.isoformat(), "origin": rif.origin},
    }
    if principal.role is Role.service:
        answer["age"] = age_on(ident.birth_date, on)
        answer["person"] = None if row is None else quote_person(
            decision, birth_date=ident.birth_date, on=on, household=row["household"],
            disability=row["disability"], disease_class=row["disease_class"], labour=row["labour"])
    return answer


def mask_name(name: str) -> str:
    """'张三丰' -> '张**': the family name only."""
    return name[:1] + "*" * (len(name) - 1)


def _period(r: dict[str, Any], *keys: str) -> dict[str, Any]:
    out = {k: r[k] for k in keys}
    out.update(valid_from=r["valid_from"].isoformat(), valid_to=r["valid_to"].isoformat() if r["valid_to"] else None,
               source=r["source"], recorded_at=r["recorded_at"].isoformat(),
               superseded_at=r["superseded_at"].isoformat() if r["superseded_at"] else None)
    return out


def _active(rows: list[dict[str, Any]], on: date) -> list[dict[str, Any]]:
    return [r for r in rows if r["superseded_at"] is None and r["valid_from"] <= on
            and (r["valid_to"] is None or on <= r["valid_to"])]


async def view(runtime: Runtime, principal: Principal, person_id: str) -> dict[str, Any]:
    """A person's statuses (and, for operators and the region's bureau, their history); audited."""
    require_role(principal, Role.hospital, Role.bureau, Role.operator)
    try:
        person_id = str(uuid.UUID(person_id))
    except ValueError:
        raise NotFound("no such person") from None
    cipher: PiiCipher = runtime.extras["pii"]
    on = today()
    async with runtime.db.transaction() as session:
        p = await persons.get(session, person_id)
        if p is None:
            raise NotFound("no such person")
        if principal.role is Role.hospital:
            # A hospital sees the persons it checked at its window lately, no others: a 404 like an unknown id,
            # so the answer does not tell a prober that the id exists.
            window = timedelta(days=runtime.settings.hospital_person_window_days)
            if not await audit.hospital_checked(session, person_id=person_id, hospital_code=principal.hospital_code
                                                or "", since=now() - window):
                raise NotFound("no such person")
        statuses = await persons.statuses(session, person_id)
        enrolments = await persons.enrolments(session, person_id)
        blacklist = await persons.blacklist_regions(session, person_id)
        profiles = await persons.profiles(session, person_id)
        if principal.role is Role.bureau:
            regions = {r["region_code"] for r in statuses + enrolments}
            regions |= {pr["domicile_region"] for pr in profiles if pr["domicile_region"]}
            if not any(region_within(r, principal.region_code or "") for r in regions):
                raise Forbidden("this person is not on a register of your region")
        await audit.record(session, principal, person_id=person_id, endpoint="GET /v1/persons/{person_id}")
    current = next((pr for pr in profiles if pr["superseded_at"] is None), None)
    out: dict[str, Any] = {
        "person_id": person_id,
        "id_number_masked": idn.mask(cipher.decrypt(p["id_cipher"])),
        "birth_year": p["birth_date"].year,
        "categories": sorted({s["category"] for s in _active(statuses, on)}),
        "insurance": [{"scheme": e["scheme"], "region_code": e["region_code"]} for e in _active(enrolments, on)],
        "blacklisted": bool(blacklist),
    }
    if principal.role is Role.hospital:
        return out  # the admission window needs no more than this
    out.update(
        name_masked=mask_name(cipher.decrypt(current["name_cipher"])) if current and current["name_cipher"] else None,
        sex=p["sex"],
        blacklist_regions=blacklist,
        profile=_profile(current),
        statuses=[_period(s, "category", "subgroup", "region_code") for s in statuses],
        enrolments=[_period(e, "scheme", "region_code") for e in enrolments],
        profile_history=[_profile(pr) for pr in profiles],
    )
    return out


def _profile(pr: dict[str, Any] | None) -> dict[str, Any] | None:
    if pr is None:
        return None
    keys = ("domicile_region", "household", "civil_servant", "disability", "disease_class", "labour", "card_no",
            "source")
    out = {k: pr[k] for k in keys}
    out.update(has_guardian=pr["guardian_cipher"] is not None, recorded_at=pr["recorded_at"].isoformat(),
               superseded_at=pr["superseded_at"].isoformat() if pr["superseded_at"] else None)
    return out


NAME_ENDPOINT = "GET /v1/persons/{person_id}/name"


async def name_of(runtime: Runtime, principal: Principal, person_id: str) -> dict[str, Any]:
    """The full name and the masked ID number a printed document shows (the ledger's documents, issue 13 point 5:
    the ledger keeps no name); `service` callers only, audited with the caller as subject."""
    require_role(principal, Role.service)
    try:
        person_id = str(uuid.UUID(person_id))
    except ValueError:
        raise NotFound("no such person") from None
    cipher: PiiCipher = runtime.extras["pii"]
    async with runtime.db.transaction() as session:
        p = await persons.get(session, person_id)
        if p is None:
            raise NotFound("no such person")
        current = next((pr for pr in await persons.profiles(session, person_id) if pr["superseded_at"] is None), None)
        await audit.record(session, principal, person_id=person_id, endpoint=NAME_ENDPOINT)
    name = cipher.decrypt(current["name_cipher"]) if current and current["name_cipher"] else None
    return {"person_id": person_id, "name": name, "id_number_masked": idn.mask(cipher.decrypt(p["id_cipher"]))}
