"""Calculator kinds (DESIGN §5): their parameters; `plans` holds the arithmetic of one payer step.

Every step rounds half-up to the fen once (`mul_ratio` / `half_up`). A step never pays more than
its base, never more than what is left unpaid, never more than its remaining annual cap, and its
amount grows by at most what its base grows (so adding a line never lowers the self-pay).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from onestop.contracts.enums import HospitalLevel, StayKind
from onestop.contracts.money import Yuan, format_fen

ONE = Decimal(1)


def _ratio(v: Any) -> Any:
    if isinstance(v, float) or isinstance(v, bool):
        raise ValueError("a ratio is a decimal string like \"0.80\", not a float")
    if isinstance(v, int):
        v = str(v)
    if isinstance(v, str):
        v = Decimal(v.strip())
    return v


Ratio = Annotated[Decimal, BeforeValidator(_ratio), Field(ge=0, le=1)]
Base = Literal["policy_scope", "remaining"]
# 起付线 per inpatient stay (basic insurance), or once a year against deductible_paid (年度起付线)
DeductibleBasis = Literal["per_stay", "per_year"]
# a stay settled in parts (中途结算) bears a per-stay deductible once, or again on each part
PartDeductible = Literal["once_per_stay", "each_part"]


class _P(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LevelRow(_P):
    deductible: Yuan = Field(0, ge=0, description="起付线 per stay")
    ratio: Ratio


class DeductibleRatioCap(_P):
    base: Base = "policy_scope"
    deductible_basis: DeductibleBasis = "per_stay"
    part_deductible: PartDeductible = "once_per_stay"
    inpatient: dict[HospitalLevel, LevelRow] = Field(default_factory=dict)
    outpatient: dict[HospitalLevel, LevelRow] = Field(default_factory=dict)
    annual_cap: Yuan | None = Field(None, ge=0)

    def row(self, kind: StayKind, level: HospitalLevel) -> LevelRow | None:
        return (self.inpatient if kind == StayKind.inpatient else self.outpatient).get(level)


class Tier(_P):
    upto: Yuan | None = Field(None, description="cumulative self-pay this segment ends at; null = open")
    ratio: Ratio


class Tiers(_P):
    base: Base = "policy_scope"
    threshold: Yuan = Field(ge=0, description="annual threshold over cumulative in-scope self-pay")
    tiers: list[Tier] = Field(min_length=1)
    annual_cap: Yuan | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _ascending(self) -> Tiers:
        last = self.threshold
        for i, t in enumerate(self.tiers):
            if t.upto is None and i != len(self.tiers) - 1:
                raise ValueError("only the last tier may be open (upto: null)")
            if t.upto is not None and t.upto <= last:
                raise ValueError("tier bounds must ascend above the threshold")
            last = t.upto if t.upto is not None else last
        return self

    @property
    def segments(self) -> list[tuple[int | None, Decimal]]:
        return [(t.upto, t.ratio) for t in self.tiers]


class RatioCap(_P):
    base: Base = "policy_scope"
    ratio: Ratio | dict[HospitalLevel, Ratio]
    deductible: Yuan = Field(0, ge=0)
    deductible_basis: DeductibleBasis = "per_stay"
    part_deductible: PartDeductible = "once_per_stay"
    annual_cap: Yuan | None = Field(None, ge=0)

    def ratio_at(self, level: HospitalLevel) -> Decimal | None:
        return self.ratio.get(level) if isinstance(self.ratio, dict) else self.ratio


class Share(_P):
    base: Base = "remaining"
    ratios: dict[HospitalLevel, Ratio] = Field(description="levels not listed get no share")
    annual_cap: Yuan | None = Field(None, ge=0)


class GapFill(_P):
    target_ratio: Ratio = Field(description="effective ratio r of the total the stay must reach")
    annual_cap: Yuan | None = Field(None, ge=0)


class Grant(_P):
    amount: Yuan = Field(ge=0)
    per_year: int = Field(1, ge=1)


class Package(_P):
    icd10: str = Field(pattern=r"^[A-Z]\d{2}(\.\d{1,2})?$")
    name_zh: str
    price: Yuan = Field(gt=0)
    children_only: bool = False


class Packages(_P):
    packages: list[Package] = Field(min_length=1)
    child_max_age: int = Field(14, ge=0, le=18)
    # which is billed where the itemised bill is below the package price (固阳: the lower, 003 二(一)4)
    when_itemised_lower: Literal["package", "itemised"] = "package"

    def find(self, disease_code: str | None, age: int | None) -> Package | None:
        if not disease_code:
            return None
        for p in self.packages:
            if disease_code.startswith(p.icd10):
                if p.children_only and (age is None or age > self.child_max_age):
                    continue
                return p
        return None


PARAMS: dict[str, type[_P]] = {
    "deductible_ratio_cap": DeductibleRatioCap,
    "tiers": Tiers,
    "ratio_cap": RatioCap,
    "share": Share,
    "gap_fill": GapFill,
    "grant": Grant,
    "package": Packages,
}


# --------------------------------------------------------------------------- arithmetic


_RATIOS: dict[Decimal, tuple[int, int]] = {}
_PCT: dict[Decimal, str] = {}


def _nd(ratio: Decimal) -> tuple[int, int]:
    """ratio as (numerator, denominator) ints (cached: a policy has few ratios)."""
    nd = _RATIOS.get(ratio)
    if nd is None:
        if len(_RATIOS) > 4096:
            _RATIOS.clear()
        nd = _RATIOS[ratio] = ratio.as_integer_ratio()
    return nd


def mul(fen: int, ratio: Decimal) -> int:
    """fen × ratio rounded half-up (away from zero) to the fen; equals `mul_ratio`, in ints (hot path)."""
    nd = _RATIOS.get(ratio)
    if nd is None:
        nd = _nd(ratio)
    num, den = nd
    x = fen * num
    if x >= 0:
        return (2 * x + den) // (2 * den)
    return -((den - 2 * x) // (2 * den))


def yuan(fen: int) -> str:
    """123450 → "1234.50元" (the sentences' amounts)."""
    if fen >= 0:
        return f"{fen // 100}.{fen % 100:02d}元"
    return format_fen(fen) + "元"


def pct(r: Decimal) -> str:
    """0.95 → "95%" (cached: a policy has few ratios)."""
    s = _PCT.get(r)
    if s is None:
        if len(_PCT) > 4096:
            _PCT.clear()
        s = _PCT[r] = format((r * 100).normalize(), "f") + "%"
    return s
