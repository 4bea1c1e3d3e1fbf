"""Tilts (倾斜政策) for the poor population, 003 二(三)1 exactly as DESIGN §5 states them.

For a person in `population` (003: registered poor, rural subsistence allowance, extreme poverty,
poor disabled):
- inpatient deductibles of the listed payers (basic, critical illness) × `deductible_factor` (50%);
- the basic deductible is waived on a later inpatient stay at the same level in the same year;
- the deductible is waived for disabled children and the severely disabled at county level and below;
- inpatient ratios of the listed payers + `inpatient_ratio_points` (5 points), capped at 100%;
- outpatient at county level and below: ratio raised to `outpatient.ratio` (70% → 80%).
Stacking: a waiver beats the halving; ratio points are added after the level's ratio is chosen.
`population` is a list of categories or the name of one of the policy's `populations` (固阳: the
rural poor); `outpatient.also` gives the outpatient ratio to further populations at some levels.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from onestop.contracts.enums import Category, Disability, HospitalLevel, StayKind
from onestop.rules.domain.calculators import ONE, Ratio, mul


class _T(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DisabilityWaiver(_T):
    disabilities: list[Disability]
    levels: list[HospitalLevel]
    payers: list[str]


class OutpatientAlso(_T):
    """A further population whose outpatient visits at these levels get the outpatient ratio too."""

    population: str
    levels: list[HospitalLevel] = Field(min_length=1)


class OutpatientTilt(_T):
    levels: list[HospitalLevel]
    ratio: Ratio
    payers: list[str]
    also: list[OutpatientAlso] = Field(default_factory=list)


class Tilts(_T):
    population: list[Category] | str = Field(description="categories (any of), or a `populations` name")
    deductible_factor: Ratio = Decimal(1)
    deductible_payers: list[str] = Field(default_factory=list)
    repeat_stay_waiver_payers: list[str] = Field(default_factory=list)
    disability_waiver: DisabilityWaiver | None = None
    inpatient_ratio_points: Ratio = Decimal(0)
    ratio_payers: list[str] = Field(default_factory=list)
    outpatient: OutpatientTilt | None = None

    def payer_ids(self) -> set[str]:
        ids = set(self.deductible_payers) | set(self.repeat_stay_waiver_payers) | set(self.ratio_payers)
        if self.disability_waiver:
            ids |= set(self.disability_waiver.payers)
        if self.outpatient:
            ids |= set(self.outpatient.payers)
        return ids

    @model_validator(mode="after")
    def _someone(self) -> Tilts:
        if not self.population:
            raise ValueError("population: name the categories or a population the tilts are for")
        return self

    def population_names(self) -> list[str]:
        """The `populations` this names (its own and the outpatient tilt's further ones)."""
        names = [self.population] if isinstance(self.population, str) else []
        return names + [a.population for a in (self.outpatient.also if self.outpatient else [])]


def deductible_tilts(t: Tilts, payer: str, deductible: int, kind: StayKind, level: HospitalLevel
                     ) -> tuple[bool, frozenset[Disability] | None, int | None]:
    """What may lower a deductible at (kind, level), checked in this order at the quote: the repeat-stay
    waiver (if the year had an inpatient stay at the level), the disability waiver (for these
    disabilities), the halving (to this amount). Inpatient only; a waiver beats the halving."""
    if kind != StayKind.inpatient or deductible == 0:
        return False, None, None
    repeat = payer in t.repeat_stay_waiver_payers
    w = t.disability_waiver
    disabled = frozenset(w.disabilities) if w and payer in w.payers and level in w.levels else None
    halved = None
    if payer in t.deductible_payers and t.deductible_factor != ONE:
        halved = mul(deductible, t.deductible_factor)  # = mul_ratio, in ints
    return repeat, disabled, halved


def tilt_ratio(t: Tilts, payer: str, ratio: Decimal, kind: StayKind, level: HospitalLevel
               ) -> tuple[Decimal, str | None]:
    """The ratio after the tilts, and the policy line that raised it (None: unchanged)."""
    if kind == StayKind.inpatient:
        if payer in t.ratio_payers and t.inpatient_ratio_points:
            return min(ONE, ratio + t.inpatient_ratio_points), "tilts.inpatient_ratio_points"
        return ratio, None
    o = t.outpatient
    if o and payer in o.payers and level in o.levels and ratio < o.ratio:
        return o.ratio, "tilts.outpatient"
    return ratio, None
