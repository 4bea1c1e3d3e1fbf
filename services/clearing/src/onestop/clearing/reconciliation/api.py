"""对总账/对明细 over HTTP (NHSA 3201/3202; DESIGN §9.1): compute one (GET), record one with its differences
(POST), read it, and move a difference on (open → explained or fixed) with a note."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.clearing.reconciliation.compare import Result
from onestop.clearing.reconciliation.service import Asked, cutoff_of, may_see, narrowed, reconcile
from onestop.clearing.store import reconciliations
from onestop.common.auth import CurrentPrincipal
from onestop.common.errors import Conflict, Forbidden, NotFound
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.money import Yuan, format_fen
from onestop.common.openapi import problem_responses
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role

router = APIRouter(prefix="/v1", tags=["reconciliation"])
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
_PERIOD = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"  # 0000-01 has no day before it: no period
Hospital = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")]
Payer = Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,47}$")]
Region = Annotated[str | None, Query(pattern=r"^\d{6}$")]
Period = Annotated[str | None, Query(pattern=_PERIOD, description="YYYY-MM (NHSA setlym)")]


class SideRead(BaseModel):
    count: int
    amount: Yuan


class GroupRead(BaseModel):
    hospital_code: str
    payer: str
    region_code: str
    period: str
    ledger: SideRead
    clearing: SideRead
    equal: bool


class MismatchRead(BaseModel):
    n: int | None = Field(None, description="a recorded run's difference number")
    settlement_id: str
    hospital_code: str
    payer: str
    region_code: str
    period: str
    ledger_amount: Yuan | None
    clearing_amount: Yuan | None
    kind: Literal["missing_in_clearing", "missing_in_ledger", "amount"]
    state: Literal["open", "explained", "fixed"] | None = None
    note: str | None = None


class ReconciliationRead(BaseModel):
    id: uuid.UUID | None = Field(None, description="a recorded run's id")
    cutoff: datetime
    hospital_code: str | None
    payer: str | None
    region_code: str | None
    period: str | None
    equal: bool
    groups: list[GroupRead]
    mismatches: list[MismatchRead] = Field(description="per settlement, only in the groups whose totals differ")


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hospital_code: str | None = Field(None, pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    payer: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{0,47}$")
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    period: str | None = Field(None, pattern=_PERIOD)
    cutoff: datetime | None = None


class DifferenceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["explained", "fixed"]
    note: str = Field(min_length=1, max_length=2000, description="why it differs, or what fixed it")


def _fen(v: int | None) -> str | None:
    return None if v is None else format_fen(v)


def _read(result: Result, asked: Asked, cutoff: datetime) -> ReconciliationRead:
    return ReconciliationRead(
        cutoff=cutoff, **vars(asked), equal=result.equal,
        groups=[GroupRead(**vars(g.key), equal=g.equal,
                          ledger=SideRead(count=g.ledger.count, amount=format_fen(g.ledger.amount)),
                          clearing=SideRead(count=g.clearing.count, amount=format_fen(g.clearing.amount)))
                for g in result.groups],
        mismatches=[MismatchRead(settlement_id=m.settlement_id, **vars(m.key), ledger_amount=_fen(m.ledger_amount),
                                 clearing_amount=_fen(m.clearing_amount), kind=m.kind.value)
                    for m in result.mismatches])


@router.get("/reconciliation", response_model=ReconciliationRead, responses=problem_responses(401, 403, 503),
            summary="Reconcile the ledger's settlements with clearing's postings, as of a cut-off",
            description="Counts and totals per hospital × fund × month (NHSA 3201 对总账) of the ledger's "
                        "settlements (read from the ledger with clearing's service token) and of clearing's "
                        "postings, both as of `cutoff` (default a few seconds ago: settlements the ledger "
                        "committed later, and their postings, do not count); per-settlement detail (3202 对明细) "
                        "only for the groups that differ. An operator sees all, a bureau its region, a hospital "
                        "its own, a fund its own (payer and region).")
async def get_reconciliation(principal: CurrentPrincipal, runtime: RuntimeDep, hospital_code: Hospital = None,
                             payer: Payer = None, region_code: Region = None, period: Period = None,
                             cutoff: Annotated[datetime | None, Query()] = None) -> Any:
    asked = narrowed(principal, Asked(hospital_code, payer, region_code, period))
    at = cutoff_of(runtime, cutoff)
    return _read(await reconcile(runtime, asked, at), asked, at)


@router.post("/reconciliations", status_code=201, response_model=ReconciliationRead,
             responses=problem_responses(401, 403, 409, 422, 503),
             summary="Record a reconciliation run with its differences (each open)",
             description="Computes as `GET /v1/reconciliation` does and records the run, its totals and one "
                         "difference per mismatch, each `open`. Takes an Idempotency-Key.")
async def record_reconciliation(body: RunRequest, principal: CurrentPrincipal, runtime: RuntimeDep,
                                idempotency_key: IdempotencyKeyHeader = None) -> Any:
    asked = narrowed(principal, Asked(body.hospital_code, body.payer, body.region_code, body.period))
    at = cutoff_of(runtime, body.cutoff)
    # the ledger is asked before the transaction: no HTTP call holds a database transaction open
    read = _read(await reconcile(runtime, asked, at), asked, at)

    async def work(session: Any) -> tuple[int, Any]:
        dumped = read.model_dump(mode="json")
        run_id = await reconciliations.record(
            session, asked=vars(asked), cutoff=at, equal=read.equal, groups=dumped["groups"], by=principal.subject,
            differences=[{"settlement_id": m.settlement_id, "hospital_code": m.hospital_code, "payer": m.payer,
                          "region_code": m.region_code, "period": m.period,
                          "ledger_fen": m.ledger_amount, "clearing_fen": m.clearing_amount, "kind": m.kind}
                         for m in read.mismatches])
        return 201, (await _stored(session, run_id)).model_dump(mode="json")

    fingerprint = request_hash("POST", "/v1/reconciliations", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


async def _stored(session: Any, run_id: uuid.UUID) -> ReconciliationRead:
    found = await reconciliations.run(session, run_id)
    if found is None:
        raise NotFound("no such reconciliation")
    r, diffs = found
    return ReconciliationRead(
        id=r.id, cutoff=r.cutoff, hospital_code=r.hospital_code, payer=r.payer, region_code=r.region_code,
        period=r.period, equal=r.equal, groups=r.groups,
        mismatches=[MismatchRead(n=d.n, settlement_id=d.settlement_id, hospital_code=d.hospital_code, payer=d.payer,
                                 region_code=d.region_code, period=d.period, ledger_amount=_fen(d.ledger_fen),
                                 clearing_amount=_fen(d.clearing_fen), kind=d.kind, state=d.state, note=d.note)
                    for d in diffs])


async def _visible(session: Any, principal: Any, run_id: uuid.UUID) -> ReconciliationRead:
    run = await _stored(session, run_id)
    if not may_see(principal, run):
        raise NotFound("no such reconciliation")  # another scope's run: as if it did not exist
    return run


@router.get("/reconciliations/{run_id}", response_model=ReconciliationRead, responses=problem_responses(401, 404),
            summary="A recorded reconciliation run with its differences and their states")
async def get_run(run_id: uuid.UUID, principal: CurrentPrincipal, runtime: RuntimeDep) -> Any:
    async with runtime.db.transaction() as session:
        return await _visible(session, principal, run_id)


@router.post("/reconciliations/{run_id}/differences/{n}", response_model=MismatchRead,
             responses=problem_responses(401, 403, 404, 409, 422),
             summary="Mark a difference explained or fixed, with a note",
             description="open → explained, open → fixed, explained → fixed; anything else is a 409. An operator, "
                         "the bureau of the run's region or the fund it concerns; a hospital reads runs only. "
                         "Takes an Idempotency-Key.")
async def update_difference(run_id: uuid.UUID, n: Annotated[int, Path(ge=1)], body: DifferenceUpdate,
                            principal: CurrentPrincipal, runtime: RuntimeDep,
                            idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        await _visible(session, principal, run_id)
        if principal.role not in (Role.operator, Role.bureau, Role.payer):
            raise Forbidden("a difference is explained or fixed by an operator, a bureau or the fund")
        d = await reconciliations.difference_for_update(session, run_id, n)
        if d is None:
            raise NotFound("no such difference in this reconciliation")
        if d.state == "fixed" or d.state == body.state:
            raise Conflict(f"the difference is {d.state} already", state=d.state)
        await reconciliations.set_state(session, run_id, n, state=body.state, note=body.note, by=principal.subject)
        run = await _stored(session, run_id)
        return 200, next(m for m in run.mismatches if m.n == n).model_dump(mode="json")

    fingerprint = request_hash("POST", f"/v1/reconciliations/{run_id}/differences/{n}", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)
