"""`GET /v1/parked-events` and `POST /v1/parked-events/{id}:retry`, mounted by every service that consumes.

Operators only. A retry needs no Idempotency-Key: it applies through the inbox, so a repeated retry finds the
event applied (or still parked) and changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.consumer import CONSUMERS, StreamConsumer
from onestop.common.errors import Conflict, NotFound
from onestop.common.openapi import problem_responses
from onestop.common.pagination import BIGINT_MAX, Page, PageDep
from onestop.common.parked import OPEN, list_parked
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role

router = APIRouter(prefix="/v1", tags=["operations"])
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]


class ParkedEventRead(BaseModel):
    id: int
    consumer: str
    event_id: str
    type: str
    subject: str
    aggregate: str
    state: Literal["parked", "waiting", "applied"]
    reason: str
    attempts: int
    parked_at: datetime
    resolved_at: datetime | None
    envelope: dict[str, Any]


class RetryRead(BaseModel):
    id: int
    state: Literal["applied", "parked"]
    applied: list[int]
    parked_id: int | None
    reason: str | None


@router.get("/parked-events", summary="Events this service's consumers could not apply (operator)")
async def list_parked_events(
    runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
    state: Annotated[Literal["open", "parked", "waiting", "applied"], Query(
        description="open = parked or waiting behind a parked one")] = "open",
) -> Page[ParkedEventRead]:
    """Parked events oldest first, with their subject, envelope and reason; `waiting` ones are held behind a
    parked event of the same aggregate."""
    require_role(principal, Role.operator)
    states = OPEN if state == "open" else (state,)
    after = page.after((int,))
    rows = await list_parked(runtime.db, runtime.metadata, states=states,
                             after_id=int(after[0]) if after else None, limit=page.limit + 1)
    items, next_cursor = page.of([ParkedEventRead.model_validate(r._asdict()) for r in rows], lambda e: (e.id,))
    return Page[ParkedEventRead](items=items, next_cursor=next_cursor)


@router.post("/parked-events/{parked_id}:retry", summary="Apply a parked event, then those waiting behind it",
             responses=problem_responses(409))
async def retry_parked_event(runtime: RuntimeDep, principal: CurrentPrincipal,
                             parked_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)]) -> RetryRead:
    """Applies the parked event through the inbox, then the events of its aggregate waiting behind it, in order,
    once each; if one fails again it is the parked one now (`parked_id`, `reason`). 409 when the parked event
    fails again, or when it waits behind another (retry that one); an event applied already answers 200 with
    nothing applied."""
    require_role(principal, Role.operator)
    consumers: dict[str, StreamConsumer] = runtime.extras.get(CONSUMERS, {})
    for consumer in consumers.values():
        try:
            outcome = await consumer.parked.retry(runtime.db, consumer.inbox, consumer.handler_for, parked_id)
        except LookupError:
            continue
        if outcome.state == "waiting":
            raise Conflict("this event waits behind an earlier parked event of its aggregate; retry that one")
        if outcome.state == "parked" and not outcome.applied:
            raise Conflict(f"the event still cannot be applied: {outcome.reason}", reason=outcome.reason)
        return RetryRead(id=parked_id, state="applied" if outcome.applied else "parked", applied=outcome.applied,
                         parked_id=outcome.parked_id, reason=outcome.reason)
    raise NotFound("no parked event with this id for this service's consumers")
