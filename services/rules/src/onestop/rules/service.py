"""Use cases of the rules service: the registry of policies in force, publication, quotes.

The registry (shipped files + every version published through the API) is held in memory by each
replica and rebuilt from the database whenever any replica publishes (policy.published).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.common.clock import now, today
from onestop.common.db import Database
from onestop.common.errors import Forbidden
from onestop.common.outbox import Outbox
from onestop.contracts.enums import Role
from onestop.contracts.events.rules import PolicyPublished
from onestop.contracts.quote import QuoteRequest, QuoteResult
from onestop.rules.domain.policy import NoPolicyInForce, ParsedPolicy, PolicyInvalid, parse_policy_text
from onestop.rules.domain.registry import PolicyRegistry, basis_dates
from onestop.rules.domain.resolved import ResolvedPolicy
from onestop.rules.domain.waterfall import compute_quote
from onestop.rules.errors import NoPolicy, PolicyRejected, PolicyVersionConflict
from onestop.rules.store import policies as store


@dataclass
class Policies:
    """The registry in force on this replica, and where it came from."""

    shipped: PolicyRegistry
    registry: PolicyRegistry
    published: list[store.StoredVersion] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def from_dir(cls, directory: Any) -> Policies:
        shipped = PolicyRegistry.load(directory)
        return cls(shipped=shipped, registry=shipped)

    async def refresh(self, session: AsyncSession) -> PolicyRegistry:
        """Rebuild from the shipped files plus every published version, in publication order."""
        versions = await store.all_versions(session)
        reg = self.shipped
        for v in versions:
            parsed, _ = parse_policy_text(v.filename, v.source_text)
            if parsed is not None:
                try:
                    reg = reg.with_version(parsed)
                except PolicyInvalid:
                    pass  # was valid when published; a later shipped change must not take the service down
        self.registry, self.published = reg, versions
        return reg

    def source_of(self, policy_id: str, version: int) -> tuple[str, str, str | None]:
        """(filename, yaml text, published_by) of a version, shipped or published."""
        for v in self.published:
            if v.policy_id == policy_id and v.version == version:
                return v.filename, v.source_text, v.published_by
        for p in self.registry.versions.get(policy_id, ()):
            if p.version == version:
                return p.filename, _read_shipped(p), None
        raise KeyError(policy_id)

    def resolve(self, region_code: str, on: date) -> ResolvedPolicy:
        try:
            return self.registry.resolve(region_code, on)
        except NoPolicyInForce:
            raise NoPolicy.of(region_code, on) from None

    def resolve_quote(self, request: QuoteRequest) -> ResolvedPolicy:
        """The policy in force on the request's basis date (the policy's date_basis)."""
        admission, discharge = basis_dates(request)
        try:
            return self.registry.resolve_stay(request.region_code, admission, discharge)
        except NoPolicyInForce as exc:
            raise NoPolicy.of(request.region_code, exc.date) from None


def _read_shipped(p: ParsedPolicy) -> str:
    from onestop.rules.settings import SHIPPED_POLICIES

    path = SHIPPED_POLICIES / p.filename
    return path.read_text(encoding="utf-8") if path.exists() else yaml.safe_dump(p.doc, allow_unicode=True)


def quote(policies: Policies, request: QuoteRequest) -> QuoteResult:
    """The payer waterfall for a bill under the policy in force on its basis date: the stay's (or
    the part's) admission or discharge date as the policy says, each defaulting to `date`."""
    return compute_quote(policies.resolve_quote(request), request)


def changed_parts(previous: ParsedPolicy | None, parsed: ParsedPolicy) -> list[str]:
    """Which parts a new version changes: top-level keys, payers by id (`payers.basic`)."""
    if previous is None:
        return sorted(k for k in parsed.doc if k not in ("version",))
    out: list[str] = []
    old, new = previous.doc, parsed.doc
    for key in sorted(set(old) | set(new)):
        if key in ("version", "payers"):
            continue
        if old.get(key) != new.get(key):
            out.append(key)
    old_payers = {p["id"]: p for p in old.get("payers") or []}
    new_payers = {p["id"]: p for p in new.get("payers") or []}
    for pid in sorted(set(old_payers) | set(new_payers)):
        if old_payers.get(pid) != new_payers.get(pid):
            out.append(f"payers.{pid}")
    return out


def authorise_publication(principal: Principal, parsed: ParsedPolicy, parts: list[str]) -> None:
    """An operator may publish anything; a payer only a version that changes nothing but its own part."""
    if principal.role is Role.operator:
        return
    if principal.role is Role.payer and principal.payer and principal.can_see_region(parsed.file.region_code):
        if parts and all(p == f"payers.{principal.payer}" for p in parts):
            return
        raise Forbidden(f"a {principal.payer} payer token may only change payers.{principal.payer}; "
                        f"this version changes: {', '.join(parts) or 'nothing'}")
    raise Forbidden("publishing a policy is for an operator or the payer whose part it is")


async def publish(db_session: AsyncSession, policies: Policies, outbox: Outbox, principal: Principal,
                  filename: str, text: str) -> tuple[PolicyRegistry, dict[str, Any]]:
    """Validate and publish a version inside the caller's unit of work; returns the new registry."""
    parsed, errors = parse_policy_text(filename, text)
    if parsed is None:
        raise PolicyRejected.of(errors)
    await store.lock_policy(db_session, parsed.id)
    registry = await policies.refresh(db_session)
    existing = registry.versions.get(parsed.id, ())
    previous = max(existing, key=lambda p: p.version) if existing else None
    if previous is not None and parsed.version <= previous.version:
        raise PolicyVersionConflict(
            f"policy {parsed.id} is at version {previous.version}; publish version {previous.version + 1}",
            errors=[{"field": "version", "reason": f"must be above {previous.version}"}],
        )
    parts = changed_parts(previous, parsed)
    authorise_publication(principal, parsed, parts)
    try:
        new_registry = registry.with_version(parsed)
    except PolicyInvalid as exc:
        raise PolicyRejected.of(exc.errors) from None
    treat_first = None
    try:
        treat_first = new_registry.treat_first(parsed.file.region_code, parsed.file.valid_from)
    except NoPolicyInForce:
        pass
    at = now()
    await store.insert_version(db_session, store.StoredVersion(
        policy_id=parsed.id, version=parsed.version, region_code=parsed.file.region_code,
        valid_from=parsed.file.valid_from, filename=filename, source_text=text, parts=parts,
        published_by=principal.subject, published_at=at,
    ))
    await outbox.add(db_session, PolicyPublished(
        policy_id=parsed.id, version=parsed.version, region_code=parsed.file.region_code,
        valid_from=parsed.file.valid_from, published_at=at, published_by=principal.subject, parts=parts,
        treat_first=treat_first,
    ))
    body = {"policy_id": parsed.id, "version": parsed.version, "region_code": parsed.file.region_code,
            "valid_from": parsed.file.valid_from.isoformat(), "parts": parts, "published_by": principal.subject,
            "published_at": at.isoformat()}
    return new_registry, body


def amended_source(policies: Policies, region_code: str, part: str, items: list[dict[str, Any]],
                   key: str, valid_from: date | None) -> tuple[str, str]:
    """A new version's YAML: the latest version of the region's own policy with items added or replaced."""
    versions = policies.registry.versions.get(region_code)
    if not versions:
        raise NoPolicy.of(region_code, valid_from or today())
    latest = max(versions, key=lambda p: p.version)
    filename, text, _ = policies.source_of(region_code, latest.version)
    raw = yaml.safe_load(text)
    existing = {item.get(key): i for i, item in enumerate(raw.get(part) or [])}
    raw.setdefault(part, [])
    for item in items:
        if item[key] in existing:
            raw[part][existing[item[key]]] = item
        else:
            raw[part].append(item)
    raw["version"] = latest.version + 1
    if valid_from is not None:
        raw["valid_from"] = valid_from
    new_name = f"{region_code}/policy.v{latest.version + 1}.yaml"
    return new_name, yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)


async def ensure_fresh(policies: Policies, db: Database) -> None:
    async with db.transaction() as session:
        await policies.refresh(session)
