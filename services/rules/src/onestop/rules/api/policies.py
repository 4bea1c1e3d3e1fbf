"""Policies: list, read, validate, publish (event policy.published)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from onestop.common.auth import Principal
from onestop.common.errors import NotFound
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.pagination import Page, PageDep
from onestop.common.service_app import Runtime
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep, RuntimeDep
from onestop.rules.domain.registry import validate_policy_text
from onestop.rules.service import Policies, publish

router = APIRouter(prefix="/v1", tags=["policies"])


class PolicyText(BaseModel):
    filename: str = Field(min_length=1, max_length=255, description="e.g. 150222/policy.v2.yaml",
                          examples=["150222/policy.v2.yaml"])
    yaml: str = Field(min_length=1, max_length=2_000_000, description="the policy file's YAML text")


class PolicyErrorRead(BaseModel):
    file: str
    path: str
    reason: str


class ValidationRead(BaseModel):
    valid: bool
    errors: list[PolicyErrorRead]


class PolicyVersionRead(BaseModel):
    policy_id: str
    version: int
    region_code: str
    valid_from: date
    origin: str = Field(description="shipped (a file in the repository) or published (through this API)")
    filename: str
    published_by: str | None = None
    published_at: datetime | None = None
    parts: list[str] | None = None


def _versions(policies: Policies) -> list[PolicyVersionRead]:
    published = {(v.policy_id, v.version): v for v in policies.published}
    out = []
    for vs in policies.registry.versions.values():
        for p in vs:
            pv = published.get((p.id, p.version))
            out.append(PolicyVersionRead(
                policy_id=p.id, version=p.version, region_code=p.file.region_code, valid_from=p.file.valid_from,
                origin="published" if pv else "shipped", filename=p.filename,
                published_by=pv.published_by if pv else None, published_at=pv.published_at if pv else None,
                parts=pv.parts if pv else None,
            ))
    return sorted(out, key=lambda v: (v.policy_id, v.version))


@router.get("/policies", response_model=Page[PolicyVersionRead],
            summary="Every policy version known, by policy id and version (paginated)")
async def list_policies(policies: PoliciesDep, _p: CurrentPrincipal, page: PageDep) -> Any:
    items, next_cursor = page.slice(_versions(policies), _version_key, (str, int))
    return Page[PolicyVersionRead](items=items, next_cursor=next_cursor)


def _version_key(v: PolicyVersionRead) -> tuple[str, int]:
    return v.policy_id, v.version


class PolicyRead(BaseModel):
    policy_id: str
    versions: list[PolicyVersionRead]
    current_yaml: str


@router.get("/policies/{policy_id}", response_model=PolicyRead, summary="A policy: its versions and latest text")
async def get_policy(policy_id: str, policies: PoliciesDep, _p: CurrentPrincipal) -> Any:
    versions = [v for v in _versions(policies) if v.policy_id == policy_id]
    if not versions:
        raise NotFound(f"no policy {policy_id}")
    _, text, _ = policies.source_of(policy_id, versions[-1].version)
    return PolicyRead(policy_id=policy_id, versions=versions, current_yaml=text)


@router.post("/policies:validate", response_model=ValidationRead,
             summary="Validate a policy file against the policies in force (changes nothing)")
async def validate_policy(body: PolicyText, policies: PoliciesDep, _p: CurrentPrincipal) -> Any:
    errors = validate_policy_text(body.filename, body.yaml, policies.registry)
    return ValidationRead(valid=not errors, errors=[PolicyErrorRead(file=e.file, path=e.path, reason=e.reason)
                                                    for e in errors])


async def publish_text(runtime: Runtime, policies: Policies, principal: Principal, key: str | None,
                       filename: str, text: str, fingerprint: str) -> JSONResponse:
    holder: dict[str, Any] = {}

    async def work(session):  # type: ignore[no-untyped-def]
        registry, body = await publish(session, policies, runtime.outbox, principal, filename, text)
        holder["registry"] = registry
        return 201, body

    response = await runtime.idempotency.run(principal, key, fingerprint, work)
    if "registry" in holder:  # committed: this replica uses it at once; others refresh on the event
        policies.registry = holder["registry"]
    return response


@router.post(
    "/policies", status_code=201,
    summary="Publish a new policy version (operator, or the payer whose part changes); event policy.published",
    description="The file is validated on its own and merged over its parent at every date a value changes; "
    "an invalid file answers 422 naming file, path and reason, and nothing is published.",
)
async def publish_policy(body: PolicyText, runtime: RuntimeDep, policies: PoliciesDep, principal: CurrentPrincipal,
                         idempotency_key: IdempotencyKeyHeader = None) -> Any:
    return await publish_text(runtime, policies, principal, idempotency_key, body.filename, body.yaml,
                              request_hash("POST", "/v1/policies", body.model_dump()))
