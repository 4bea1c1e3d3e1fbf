"""The treat-first rule and the hospitals identity decides with, from its own table or the rules service.

Rules fed by `policy.published` (table treat_first_rule) win; otherwise rules answers over HTTP.
Both are cached in memory per region and dropped whenever a policy is published.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.db import Database
from onestop.common.errors import Unavailable
from onestop.contracts.enums import HospitalLevel
from onestop.contracts.treat_first import TreatFirstRule
from onestop.identity.domain.eligibility import Hospital
from onestop.identity.store import rules_cache


@dataclass(frozen=True, slots=True)
class RuleInForce:
    """A rule and where it came from (the policy version when identity applied its publication)."""

    rule: TreatFirstRule
    version: int | None
    policy_id: str | None
    origin: str


def _no_policy(r: httpx.Response) -> bool:
    """rules' 422 `no-policy-in-force`: the region has no policy on the date — an answer, not rules failing
    (taken for one, eligibility in a region without a policy was a 503 instead of identity's 422)."""
    if r.status_code != 422:
        return False
    try:
        kind = r.json().get("type", "")
    except ValueError:
        return False
    return isinstance(kind, str) and kind.endswith("/no-policy-in-force")


class RulesClient:
    """HTTP calls to rules with identity's own `service` token (`ServiceTokenMinter.auth("rules")`): it reads
    only what any caller of rules may read (a treat-first rule, a hospital list), never as an operator."""

    def __init__(self, base_url: str, auth: httpx.Auth, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=5.0, auth=auth)

    async def _get_response(self, path: str, params: dict[str, str]) -> httpx.Response | None:
        try:
            r = await self._http.get(path, params=params)
        except httpx.HTTPError as exc:
            raise Unavailable("the rules service is unreachable", dependency="rules") from exc
        if r.status_code == 404 or _no_policy(r):
            return None
        if r.status_code >= 400:
            raise Unavailable(f"the rules service answered {r.status_code}", dependency="rules")
        return r

    async def _get(self, path: str, params: dict[str, str]) -> Any:
        r = await self._get_response(path, params)
        return None if r is None else r.json()

    async def treat_first(self, region_code: str, on: date) -> RuleInForce | None:
        """The rule in force, with the policy id and version rules names in its Policy-Id/-Version headers."""
        r = await self._get_response(f"/v1/treat-first/{region_code}", {"date": on.isoformat()})
        if r is None:
            return None
        version = r.headers.get("policy-version")
        return RuleInForce(TreatFirstRule.model_validate(r.json()), int(version) if version and version.isdigit()
                           else None, r.headers.get("policy-id"), "rules")

    async def hospitals(self, region_code: str, on: date) -> list[Hospital]:
        body = await self._get("/v1/hospitals", {"region_code": region_code, "date": on.isoformat()}) or []
        return [Hospital(h["hospital_code"], h["region_code"], HospitalLevel(h["level"]), bool(h["public"]))
                for h in body]

    async def close(self) -> None:
        await self._http.aclose()


class RuleBook:
    """In-memory cache of rules and hospital lists per region; `invalidate` on policy.published."""

    def __init__(self, db: Database, client: RulesClient, ttl_s: float) -> None:
        self.db, self.client, self.ttl_s = db, client, ttl_s
        self._rules: dict[tuple[str, date], tuple[float, RuleInForce | None]] = {}
        self._hospitals: dict[tuple[str, date], tuple[float, dict[str, Hospital]]] = {}
        self._locks: dict[tuple[str, str, date], asyncio.Lock] = {}
        # Bumped by every invalidate: a fetch that began before one must not cache what it read (it may have
        # read the rule the invalidation was for, committed or not).
        self._generation = 0

    def invalidate(self) -> None:
        """Forget everything: a publication may change any region's rule or hospitals (inheritance)."""
        self._generation += 1
        self._rules.clear()
        self._hospitals.clear()

    def invalidate_after_commit(self, session: AsyncSession) -> None:
        """`invalidate` once `session`'s transaction has committed (not before: a read between the two would
        see the old rule and keep it for the cache's lifetime); nothing if it rolls back."""
        event.listen(session.sync_session, "after_commit", lambda _s: self.invalidate(), once=True)

    def _fresh(self, at: float) -> bool:
        return time.monotonic() - at < self.ttl_s

    def _lock(self, key: tuple[str, str, date]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def rule(self, region_code: str, on: date) -> RuleInForce | None:
        """The region's rule in force on a date, or None when no policy covers it."""
        hit = self._rules.get((region_code, on))
        if hit and self._fresh(hit[0]):
            return hit[1]
        # One fetch per key: requests arriving while it runs (a cold start, the TTL running out under
        # load) wait for it instead of each asking the database and rules.
        async with self._lock(("rule", region_code, on)):
            hit = self._rules.get((region_code, on))
            if hit and self._fresh(hit[0]):
                return hit[1]
            generation = self._generation
            found = await self._fetch_rule(region_code, on)
            if generation == self._generation:
                self._rules[(region_code, on)] = (time.monotonic(), found)
            return found

    async def _fetch_rule(self, region_code: str, on: date) -> RuleInForce | None:
        async with self.db.transaction() as session:
            applied = await rules_cache.current_rule_row(session, region_code, on)
        if applied is not None and applied["rule"] is not None:
            return RuleInForce(TreatFirstRule.model_validate(applied["rule"]), applied["version"],
                               applied["policy_id"], "policy.published")
        return await self.client.treat_first(region_code, on)

    async def hospital(self, region_code: str, hospital_code: str, on: date) -> Hospital | None:
        """The designated hospital, looked up in the request region's list."""
        hit = self._hospitals.get((region_code, on))
        if hit is None or not self._fresh(hit[0]):
            async with self._lock(("hospitals", region_code, on)):
                hit = self._hospitals.get((region_code, on))
                if hit is None or not self._fresh(hit[0]):
                    generation = self._generation
                    listed = {h.code: h for h in await self.client.hospitals(region_code, on)}
                    hit = (time.monotonic(), listed)
                    if generation == self._generation:
                        self._hospitals[(region_code, on)] = hit
        return hit[1].get(hospital_code)
