"""Idempotency-Key handling exactly as DESIGN §9 states.

Keys are scoped to the caller's token subject and kept at least 7 days. The same key and body give
the stored answer; the same key with another body is a 422; a request while the same key is still
in flight is a 409. The stored answer commits in the same transaction as the effects, so a crash
leaves either both or neither.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import MetaData, select, text
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

Work = Callable[[AsyncSession], Awaitable[tuple[int, Any]]]


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


class Idempotency:
    """Runs a unit of work at most once per (token subject, key)."""

    def __init__(self, db: Database, metadata: MetaData, ttl_days: int = 7) -> None:
        self.db, self.table, self.ttl_days = db, metadata.tables["idempotency_key"], ttl_days

    async def run(self, principal: Principal, key: str | None, fingerprint: str, work: Work) -> JSONResponse:
        if key is None or not key.strip():
            raise IdempotencyKeyRequired("send an Idempotency-Key header (a UUID is a good choice)")
        if len(key) > 200:
            raise InvalidInput("Idempotency-Key is too long",
                               errors=[field_error("Idempotency-Key", "at most 200 characters")])
        t = self.table
        async with self.db.transaction() as session:
            got = await session.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtextextended(:k, 0))"),
                {"k": f"idem:{len(principal.subject)}:{principal.subject}:{key}"},
            )
            if not got.scalar():
                raise IdempotencyKeyInFlight(
                    "a request with this Idempotency-Key is still being processed; retry shortly")
            row = (
                await session.execute(
                    select(t.c.request_hash, t.c.status_code, t.c.response).where(
                        t.c.subject == principal.subject, t.c.key == key
                    )
                )
            ).first()
            if row is not None:
                if row.request_hash != fingerprint:
                    raise IdempotencyKeyReused("this Idempotency-Key was used with a different request body")
                return JSONResponse(row.response, status_code=row.status_code,
                                    headers={"Idempotent-Replayed": "true"})
            status, body = await work(session)
            await session.execute(
                t.insert().values(subject=principal.subject, key=key, request_hash=fingerprint,
                                  status_code=status, response=body)
            )
        return JSONResponse(body, status_code=status)

    async def expire(self) -> int:
        """Forget keys older than the retention (at least 7 days)."""
        return await delete_in_batches(self.db, self.table,
                                       self.table.c.created_at < now() - timedelta(days=self.ttl_days))
