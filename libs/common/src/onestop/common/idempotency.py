"""Idempotency-Key handling exactly as DESIGN §9 states.

Keys are scoped to the caller's token subject and kept at least 7 days. The same key and body give
the stored answer; the same key with another body is a 422; a request while the same key is still
in flight is a 409. The stored answer commits in the same transaction as the effects, so a crash
leaves either both or neither.

Two ways to use it:

* `await idempotency.run(principal, key, fingerprint, work)` runs `work(session)` and stores its answer in
  one transaction; "in flight" is a transaction-scoped advisory lock. Fine when the work is all database.
* `async with idempotency.claim(principal, key, fingerprint) as claim:` for a use case with a slow step
  (a quote over NATS or HTTP) that must not run while a transaction, and its locks, are open:

      async with runtime.idempotency.claim(principal, key, fingerprint) as claim:
          if claim.stored is not None:
              return claim.stored                # the finished answer, replayed
          quote = await ask_rules(...)           # slow: no transaction of this request is open
          return await claim.commit(work)        # one transaction: the effects and the stored answer

  Entering commits an in-flight marker in its own short transaction, so a concurrent request with the
  same key gets a 409 (another body: 422) while this one works. `commit` runs the work and turns the
  marker into the stored answer in one transaction. Leaving the block without a commit (an error, a
  cancel) deletes the marker, so a retry can proceed. A marker left by a process that died is taken over
  once it is older than `claim_ttl_s` (ONESTOP_IDEMPOTENCY_CLAIM_TTL_S, 60 s): keep the slow step's own
  timeout well under it. A holder whose marker was taken over meanwhile gets a 409 from `commit` and its
  work is rolled back, so the key never holds two answers.

An in-flight marker is a row of the same table with `status_code` 0 (no HTTP status) and
`response` {"claim": <token>}, the token naming its holder; `created_at` is when it was claimed, and
becomes the answer's time at commit (the 7 days count from the answer).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

import structlog
from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, Row, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.common.clock import now
from onestop.common.db import Database, delete_in_batches
from onestop.common.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    InvalidInput,
    field_error,
)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Required on every state-changing POST. Same key + same body → the stored answer; "
        "same key + another body → 422; while the first is in flight → 409. Kept 7 days.",
    ),
]

log = structlog.get_logger("onestop.idempotency")

Work = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]

IN_FLIGHT = 0  # status_code of a claimed key whose answer is not stored yet


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def _checked(key: str | None) -> str:
    if key is None or not key.strip():
        raise IdempotencyKeyRequired("send an Idempotency-Key header (a UUID is a good choice)")
    if len(key) > 200:
        raise InvalidInput("Idempotency-Key is too long",
                           errors=[field_error("Idempotency-Key", "at most 200 characters")])
    return key


def _in_flight() -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight("a request with this Idempotency-Key is still being processed; retry shortly")


def _replay(row: Row[Any]) -> JSONResponse:
    return JSONResponse(row.response, status_code=row.status_code, headers={"Idempotent-Replayed": "true"})


class Idempotency:
    """Runs a unit of work at most once per (token subject, key)."""

    def __init__(self, db: Database, metadata: MetaData, ttl_days: int = 7, claim_ttl_s: float = 60.0) -> None:
        self.db, self.table, self.ttl_days = db, metadata.tables["idempotency_key"], ttl_days
        self.claim_ttl = timedelta(seconds=claim_ttl_s)

    async def _lock(self, session: AsyncSession, principal: Principal, key: str) -> None:
        """The key's advisory lock for this transaction: `run` holds it throughout, `claim` while it claims."""
        got = await session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
            {"k": f"idem:{len(principal.subject)}:{principal.subject}:{key}"},
        )
        if not got.scalar():
            raise _in_flight()

    async def _existing(self, session: AsyncSession, principal: Principal, key: str,
                        fingerprint: str) -> Row[Any] | None:
        """The stored answer; None when the key is free or its claim has expired; 422 / 409 otherwise."""
        t = self.table
        row = (await session.execute(
            select(t.c.request_hash, t.c.status_code, t.c.response, t.c.created_at)
            .where(t.c.subject == principal.subject, t.c.key == key).with_for_update()
        )).first()
        if row is None or (row.status_code == IN_FLIGHT and row.created_at < now() - self.claim_ttl):
            return None  # an expired claim was left by a holder that died: its work never committed
        if row.request_hash != fingerprint:
            raise IdempotencyKeyReused("this Idempotency-Key was used with a different request body")
        if row.status_code == IN_FLIGHT:
            raise _in_flight()
        return row

    def _store(self, principal: Principal, key: str, fingerprint: str, status: int, response: Any) -> Any:
        """Insert the key's row, or replace a free one (an expired claim) in place."""
        stmt = insert(self.table).values(subject=principal.subject, key=key, request_hash=fingerprint,
                                         status_code=status, response=response, created_at=now())
        return stmt.on_conflict_do_update(
            index_elements=[self.table.c.subject, self.table.c.key],
            set_={c: stmt.excluded[c] for c in ("request_hash", "status_code", "response", "created_at")},
        )

    async def run(self, principal: Principal, key: str | None, fingerprint: str, work: Work) -> JSONResponse:
        key = _checked(key)
        async with self.db.transaction() as session:
            await self._lock(session, principal, key)
            row = await self._existing(session, principal, key, fingerprint)
            if row is not None:
                return _replay(row)
            status, body = await work(session)
            await session.execute(self._store(principal, key, fingerprint, status, body))
        return JSONResponse(body, status_code=status)

    @asynccontextmanager
    async def claim(self, principal: Principal, key: str | None, fingerprint: str) -> AsyncIterator[Claim]:
        """Claim the key in a short transaction of its own; release it unless `commit` stored an answer."""
        key = _checked(key)
        token = uuid.uuid4().hex
        async with self.db.transaction() as session:
            await self._lock(session, principal, key)
            row = await self._existing(session, principal, key, fingerprint)
            if row is None:
                await session.execute(self._store(principal, key, fingerprint, IN_FLIGHT, {"claim": token}))
        held = Claim(self, principal, key, token, stored=_replay(row) if row is not None else None)
        try:
            yield held
        finally:
            if held.stored is None and not held.committed:
                try:
                    await self._release(held)
                except Exception as exc:  # the database went away: the claim expires; keep the first error
                    log.warning("idempotency_claim_not_released", error=type(exc).__name__,
                                expires_in_s=self.claim_ttl.total_seconds())

    def _ours(self, held: Claim) -> Any:
        t = self.table
        return (t.c.subject == held.principal.subject) & (t.c.key == held.key) & (t.c.status_code == IN_FLIGHT) \
            & (t.c.response["claim"].astext == held.token)

    async def _commit(self, held: Claim, work: Work) -> JSONResponse:
        async with self.db.transaction() as session:
            mine = (await session.execute(select(self.table.c.key).where(self._ours(held)).with_for_update())).first()
            if mine is None:  # expired and taken over by another request while the slow step ran
                raise _in_flight()
            status, body = await work(session)
            await session.execute(update(self.table).where(self._ours(held))
                                  .values(status_code=status, response=body, created_at=now()))
        held.committed = True
        return JSONResponse(body, status_code=status)

    async def _release(self, held: Claim) -> None:
        async with self.db.transaction() as session:
            await session.execute(delete(self.table).where(self._ours(held)))

    async def expire(self) -> int:
        """Forget keys older than the retention (at least 7 days)."""
        return await delete_in_batches(self.db, self.table,
                                       self.table.c.created_at < now() - timedelta(days=self.ttl_days))


@dataclass
class Claim:
    """A key held in flight by one request: `stored` is the finished answer when there is one."""

    idempotency: Idempotency
    principal: Principal
    key: str
    token: str
    stored: JSONResponse | None
    committed: bool = False

    async def commit(self, work: Work) -> JSONResponse:
        """Run `work(session)` in one transaction that also stores its answer under the key."""
        if self.stored is not None or self.committed:
            raise RuntimeError("this key already has its answer; return `claim.stored`")
        return await self.idempotency._commit(self, work)
