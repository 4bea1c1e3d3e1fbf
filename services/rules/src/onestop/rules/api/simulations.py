"""POST /v1/simulations: replay quote inputs under two policy versions (changes nothing)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from onestop.common.errors import InvalidInput, NotFound
from onestop.common.openapi import problem_responses
from onestop.contracts.quote import QuoteRequest
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep
from onestop.rules.domain.policy import PolicyInvalid, parse_policy_text
from onestop.rules.domain.registry import PolicyRegistry
from onestop.rules.domain.resolved import ResolvedPolicy
from onestop.rules.domain.simulation import SimulationResult, simulate
from onestop.rules.errors import PolicyRejected
from onestop.rules.service import Policies

router = APIRouter(prefix="/v1", tags=["simulations"])


class PolicyChoice(BaseModel):
    """A published or shipped version (`policy_id` + `version`), or a candidate file not yet published."""

    policy_id: str | None = None
    version: int | None = None
    filename: str | None = None
    yaml: str | None = None

    @model_validator(mode="after")
    def _one(self) -> PolicyChoice:
        if not ((self.policy_id and self.version) or self.yaml):
            raise ValueError("give policy_id and version, or a candidate's filename and yaml")
        return self


class SimulationCreate(BaseModel):
    a: PolicyChoice = Field(description="the baseline, e.g. this year's version")
    b: PolicyChoice = Field(description="the alternative, e.g. next year's candidate file")
    requests: list[QuoteRequest] = Field(min_length=1, max_length=200_000,
                                         description="quote inputs, e.g. last year's stays")
    top: int = Field(20, ge=1, le=500, description="how many most-changed stays to list")


def _resolve(policies: Policies, choice: PolicyChoice) -> ResolvedPolicy:
    """The chosen version as it would stand on its own valid_from, whatever the stays' dates."""
    reg: PolicyRegistry = policies.registry
    if choice.yaml:
        parsed, errors = parse_policy_text(choice.filename or "candidate.yaml", choice.yaml)
        if parsed is None:
            raise PolicyRejected.of(errors)
        base = PolicyRegistry({k: tuple(v for v in vs if not (k == parsed.id and v.version >= parsed.version))
                               for k, vs in reg.versions.items()})
        try:
            reg = base.with_version(parsed)
        except PolicyInvalid as exc:
            raise PolicyRejected.of(exc.errors) from None
        return reg._build(parsed, parsed.file.valid_from)
    versions = reg.versions.get(choice.policy_id or "", ())
    chosen = next((v for v in versions if v.version == choice.version), None)
    if chosen is None:
        raise NotFound(f"no version {choice.version} of policy {choice.policy_id}")
    return reg._build(chosen, chosen.file.valid_from)


@router.post("/simulations", response_model=SimulationResult, responses=problem_responses(404),
             summary="Replay quote inputs under two policy versions: per-payer totals, ratio distribution, "
                     "the stays whose self-pay changed most")
async def post_simulation(body: SimulationCreate, policies: PoliciesDep, _p: CurrentPrincipal) -> Any:
    a, b = _resolve(policies, body.a), _resolve(policies, body.b)
    if a.id != b.id:
        raise InvalidInput("a and b must be versions of the same policy",
                           errors=[{"field": "b", "reason": f"policy {b.id} is not {a.id}"}])
    return simulate(body.requests, a, b, top=body.top)
