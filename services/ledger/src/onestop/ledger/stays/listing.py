"""GET /v1/stays: a hospital lists its own stays, a bureau its region's (insured or treated there, as it reads
one), an operator all; by admission time, with a keyset cursor (admitted_at, stay_id) that stays valid while
stays are added: no stay is listed twice or skipped, and one admitted meanwhile appears if it sorts after the
cursor. One access-audit row per request, naming the filter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from onestop.common.auth import Principal, region_within
from onestop.common.clock import TZ
from onestop.common.errors import Forbidden, InvalidInput, field_error
from onestop.common.pagination import PageRequest, invalid_cursor
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.ledger.settlements.scope import region_prefix
from onestop.ledger.stays.service import shape
from onestop.ledger.store import audit, stays

ENDPOINT = "GET /v1/stays"


@dataclass(frozen=True)
class StayQuery:
    hospital_code: str | None = None
    region_code: str | None = None
    state: str | None = None
    admitted_from: date | None = None  # Asia/Shanghai dates, both inclusive
    admitted_to: date | None = None


def _scoped(principal: Principal, q: StayQuery) -> tuple[str | None, str | None]:
    """(hospital, region) the caller lists; outside its scope: 403."""
    if principal.role is Role.operator:
        return q.hospital_code, q.region_code
    if principal.role is Role.hospital:
        if q.hospital_code is not None and q.hospital_code != principal.hospital_code:
            raise Forbidden("hospital_code is not your hospital")
        return principal.hospital_code, q.region_code
    if principal.role is Role.bureau and principal.region_code is not None:
        if q.region_code is not None and not region_within(q.region_code, principal.region_code):
            raise Forbidden("region_code is outside your region")
        return q.hospital_code, q.region_code or principal.region_code
    raise Forbidden("stays are listed for a hospital, a bureau or an operator")


def _after(page: PageRequest) -> tuple[datetime, str] | None:
    key = page.after((str, str))
    if key is None:
        return None
    try:
        at, stay_id = datetime.fromisoformat(str(key[0])), str(uuid.UUID(str(key[1])))
    except ValueError:
        raise invalid_cursor() from None
    if at.tzinfo is None:
        raise invalid_cursor()
    return at, stay_id


def _start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=TZ)


async def listing(runtime: Runtime, principal: Principal, q: StayQuery, page: PageRequest) -> dict[str, Any]:
    if q.admitted_from and q.admitted_to and q.admitted_to < q.admitted_from:
        raise InvalidInput("admitted_to is before admitted_from",
                           errors=[field_error("admitted_to", "before admitted_from")])
    hospital, region = _scoped(principal, q)
    after = _after(page)
    async with runtime.db.transaction() as session:
        rows = await stays.page(
            session, hospital_code=hospital, region_prefix=region_prefix(region) if region else None,
            state=q.state, admitted_from=_start(q.admitted_from) if q.admitted_from else None,
            admitted_before=_start(q.admitted_to + timedelta(days=1)) if q.admitted_to else None,
            after=after, limit=page.limit + 1)
        await audit.record(session, principal, ENDPOINT, detail=urlencode(
            {k: str(v) for k, v in vars(q).items() if v is not None}))
    items, next_cursor = page.of(rows, lambda r: (r["admitted_at"].isoformat(), r["stay_id"]))
    return {"items": [shape(r) for r in items], "next_cursor": next_cursor}
