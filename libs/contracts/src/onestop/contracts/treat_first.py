"""Who may use treat-first in a region: policy data, decided by identity and ledger (DESIGN §9).

The rules service serves it at `GET /v1/treat-first/{region_code}` and carries it in
`policy.published`; identity applies it. Nothing here is written per region.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onestop.contracts.enums import Category, Household, Insurance

Scope = Literal["hospital", "county", "city", "province"]


class AdmissionGroup(BaseModel):
    """One way in: a person qualifies when every condition of at least one group holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name_zh: str
    categories: list[Category] = Field(default_factory=list, description="any of; empty = none needed")
    subgroups: list[str] = Field(default_factory=list, description="urban_special subgroups; empty = any")
    insurance: list[Insurance] = Field(default_factory=list, description="any of; empty = any scheme")
    household: list[Household] = Field(default_factory=list, description="any of; empty = any")
    civil_servant: bool | None = Field(None, description="False = civil servants excluded")
    domicile: Literal["any", "region", "province"] = Field(
        "any", description="person's domicile must lie in the policy's region / its province"
    )
    seed: str = Field(description="the seed and clause this group comes from")


class TreatFirstRule(BaseModel):
    """A region's treat-first rule as of a date."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    region_code: str
    valid_from: date
    groups: list[AdmissionGroup]
    hospital_scope: Scope = Field(
        "county", description="where the person may be admitted: in their insurance county, city, province"
    )
    public_hospitals_only: bool = False
    agreement_scope: Scope = Field(
        "hospital", description="one agreement is valid at every (public) hospital of this scope"
    )
    agreement_ends: Literal["with_stay", "period"] = Field(
        "with_stay", description="when an agreement ends: with the stay it was signed for (its final settlement or "
                                 "cancellation), or `agreement_period_days` after signing (启东 004: 只需一次签约)")
    agreement_period_days: int | None = Field(
        None, ge=1, le=3660, description="with `period`: the days an agreement admits, the signing day the first")
    blacklist_scope: Scope = Field("county", description="where a blacklisted person loses treat-first")
    blacklist_blocks_direct_settlement: bool = Field(
        False, description="a blacklisted person also loses direct insurance settlement (004 二(四))"
    )
    seed: str

    @model_validator(mode="after")
    def _period_has_days(self) -> TreatFirstRule:
        # a period without its length (or a length on a with-stay rule) is a policy author's slip, refused at load
        if (self.agreement_ends == "period") != (self.agreement_period_days is not None):
            raise ValueError("agreement_period_days is given exactly when agreement_ends is period")
        return self
