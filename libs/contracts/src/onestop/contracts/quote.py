"""The quote: what the ledger (and HIS vendors) send to `rules`, and what `rules` answers.

`QuoteRequest` accepts exactly the pinned shape of DESIGN §9.1 (plus a few optional fields);
`QuoteResult` is the payer waterfall with its trace (DESIGN §5, §9). Money is int fen inside and
a yuan string ("1234.50") on the wire; ratios are decimal strings.

`Accumulators` is the person's year-to-date state for one calendar year (of the discharge date; for
a part of a stay, of the part's end) as the ledger keeps it; a quote answers an `AccumulatorDelta`
that the ledger applies with `apply_delta` under a per-person-per-year lock, and a reversal applies
`negate(delta)`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from onestop.contracts.enums import (
    Category,
    Disability,
    FeeClass,
    HospitalLevel,
    Household,
    Insurance,
    StayKind,
)
from onestop.contracts.money import NonNegativeYuan, Yuan

DiseaseClass = Literal["A", "B", "C", "D"]  # 002: A 重大疾病, B 急性可治愈, C 慢病, D 体弱多病
RegionCode = Annotated[str, Field(pattern=r"^\d{6}$", description="6-digit GB/T 2260 code")]
DecimalString = Annotated[Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str)]

_ICD = re.compile(r"^[A-Z][0-9A-Z.]{1,9}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------- request


class Person(_Strict):
    categories: list[Category] = Field(default_factory=list)
    insurance: Insurance
    disability: Disability | None = None
    disease_class: DiseaseClass | None = Field(None, description="002 精准识别 A–D (四方联动 members)")
    labour: bool | None = Field(None, description="002: household has labour capacity (有劳动力)")
    household: Household | None = None
    age: int | None = Field(None, ge=0, le=150, description="years at admission (children's packages)")


class StayPart(_Strict):
    """A part of a stay settled on its own (中途结算, NHSA `mid_setl_flag`): the lines up to a date,
    against that year's accumulators; a stay crossing 31 December is settled in two parts.

    The ledger stores, per part, the deductible each payer bore in it (the quote's
    `delta.deductible_paid`, also each payer's `trace.deductible_borne`) and sends their sum over
    the earlier parts as `deductible_borne` with every later part, and the sum of their `total`s as
    `billed_before`.

    Under a package price (按病种) the earlier parts bill itemised and the final part bills only the
    rest of the package, so the stay is billed what one settlement of it would bill (unless the
    earlier parts already billed more than the package price: the final part then bills 0).
    Every settlement meets its own gap-fill target (an effective ratio such as 95%, 固阳): the target
    is reached per part, not over the whole stay, so the patient pays at most the target share of
    each part's bill; where earlier payers already cover more of a part, its share is lower."""

    index: int = Field(ge=1, le=366, description="1: the part from admission; 2, 3, …: the later parts, in order")
    final: bool = Field(description="the last part, ending at discharge: only it takes a package price "
                                    "(按病种) and a one-off grant")
    starts_on: date | None = Field(None, validate_default=True,
                                   description="first day of this part's lines, its basis date under an "
                                               "admission-date policy; required from part 2 on")
    deductible_borne: dict[str, Yuan] = Field(
        default_factory=dict, description="per payer id, the per-stay deductible (起付线) the stay's earlier "
                                          "parts bore: a later part charges only the rest (unless the policy "
                                          "charges it again on each part)")

    billed_before: NonNegativeYuan = Field(
        0, description="yuan: what the stay's earlier parts billed (the sum of their quotes' `total`), default "
                       "0. Read by the final part of a package stay (按病种): it bills max(0, package price − "
                       "billed_before) where the policy bills the package price (`when_itemised_lower: "
                       "package`), and min(package price, billed_before + this part's itemised bill) − "
                       "billed_before, never below 0, where it bills the lower of the two (`itemised`, 固阳). "
                       "What this part's itemised bill exceeds that is the hospital's (`hosp_part_amt`). "
                       "Earlier parts bill itemised")

    @field_validator("starts_on")
    @classmethod
    def _starts(cls, v: date | None, info: ValidationInfo) -> date | None:
        if v is None and info.data.get("index", 1) > 1:
            raise ValueError("starts_on is required from part 2 on")
        return v

    @field_validator("deductible_borne")
    @classmethod
    def _borne(cls, v: dict[str, int], info: ValidationInfo) -> dict[str, int]:
        if info.data.get("index") == 1 and any(v.values()):
            raise ValueError("the first part has no earlier parts to have borne a deductible")
        if any(x < 0 for x in v.values()):
            raise ValueError("a deductible borne is not negative")
        return {k: x for k, x in v.items() if x}

    @field_validator("billed_before")
    @classmethod
    def _billed(cls, v: int, info: ValidationInfo) -> int:
        if v and info.data.get("index") == 1:
            raise ValueError("the first part has no earlier parts to have billed anything")
        return v


class Stay(_Strict):
    kind: StayKind
    hospital_level: HospitalLevel
    disease_code: str | None = Field(None, description="ICD-10 of the main diagnosis, e.g. C16.9")
    confirmed_unable_to_pay: bool = Field(False, description="confirmed as wholly unable to pay")
    hospital_code: str | None = None
    chronic: bool = Field(False, description="an outpatient visit for chronic or special-disease medication "
                                             "(门诊慢特病); a policy's payer may apply to it alone (003 二(三)2)")
    admitted_at: date | None = Field(None, description="admission date (入院日期); default: the request's `date`. "
                                                       "A policy in force by admission date is chosen by it")
    discharged_at: date | None = Field(None, description="discharge date (出院日期); default: the request's `date`. "
                                                         "A policy in force by discharge date is chosen by it")
    part: StayPart | None = Field(None, description="this quote settles a part of the stay (中途结算); "
                                                    "absent: the whole stay. A package price (按病种) is "
                                                    "billed once over the parts (`billed_before`); a gap "
                                                    "fill (e.g. 95%) reaches its target per part, not over "
                                                    "the whole stay")

    @field_validator("discharged_at")
    @classmethod
    def _after_admission(cls, v: date | None, info: ValidationInfo) -> date | None:
        admitted = info.data.get("admitted_at")
        if v is not None and admitted is not None and v < admitted:
            raise ValueError("discharged_at is before admitted_at")
        return v

    @field_validator("part")
    @classmethod
    def _part(cls, p: StayPart | None, info: ValidationInfo) -> StayPart | None:
        if p is None:
            return p
        admitted = info.data.get("admitted_at")
        if p.index > 1 and admitted is None:
            raise ValueError("a later part (index > 1) needs the stay's admitted_at")
        if p.starts_on is not None and admitted is not None and p.starts_on < admitted:
            raise ValueError("starts_on is before the stay's admitted_at")
        return p

    @field_validator("disease_code")
    @classmethod
    def _icd(cls, v: str | None) -> str | None:
        if v is None:
            return v
        v = v.strip().upper()
        if not _ICD.match(v):
            raise ValueError("disease_code must be an ICD-10 code like C16.9")
        return v


def refuse_float_quantity(v: object) -> object:
    """A fee line's quantity is a decimal string (or int), never a float (shared by the ledger's fee lines)."""
    if isinstance(v, float):
        raise ValueError("quantity must be a decimal string, not a float")
    return v


class FeeLine(_Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    line_id: str = Field(min_length=1, max_length=64)
    code: str = Field(min_length=1, max_length=64)
    name: str = Field(max_length=200)
    fee_class: FeeClass = Field(alias="class")
    amount: NonNegativeYuan
    quantity: Decimal | None = Field(None, gt=0)
    unit_price: NonNegativeYuan | None = None
    occurred_at: datetime | date | None = None

    _no_float = field_validator("quantity", mode="before")(staticmethod(refuse_float_quantity))


YearCount = dict[StayKind, dict[HospitalLevel, int]]


class Accumulators(_Strict):
    """A person's year-to-date state (calendar year of the discharge date), kept by the ledger.

    Every money field is yuan on the wire and defaults to zero; `{}` is the first stay of the year.
    Maps are keyed by payer id (basic, critical_illness, …) so a policy may add payers freely;
    a missing key means zero, and zero entries are dropped so equal states compare equal.

    - `paid`: what each fund paid this year (the annual caps, 封顶线, are checked against it);
    - `deductible_paid`: the deductibles (起付线) the person bore this year, per payer; a payer whose
      deductible is yearly (`deductible_basis: per_year`, 年度起付线) charges only what is left of it;
    - `cumulative_self_pay`: the cumulative in-scope self-pay each `tiers` payer counted
      (critical illness: 大病保险年度累计合规自付), its threshold and segments are over this sum;
    - `stays`: stays quoted this year per stay kind and hospital level (a later inpatient stay
      at the same level waives the basic deductible of the poor, 003 二(三)1); a stay settled in
      parts counts once, by its first part, in its admission year;
    - `grants_used`: one-off grants received this year, per payer (charity: at most once).
    """

    paid: dict[str, Yuan] = Field(default_factory=dict)
    deductible_paid: dict[str, Yuan] = Field(default_factory=dict)
    cumulative_self_pay: dict[str, Yuan] = Field(default_factory=dict)
    stays: YearCount = Field(default_factory=dict)
    grants_used: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _drop_zeros(self) -> Accumulators:
        for name in ("paid", "deductible_paid", "cumulative_self_pay", "grants_used"):
            m = getattr(self, name)
            if any(v == 0 for v in m.values()):
                object.__setattr__(self, name, {k: v for k, v in m.items() if v != 0})
        stays = {k: {lv: n for lv, n in per.items() if n != 0} for k, per in self.stays.items()}
        stays = {k: per for k, per in stays.items() if per}
        if stays != self.stays:
            object.__setattr__(self, "stays", stays)
        return self

    def stays_at(self, kind: StayKind, level: HospitalLevel) -> int:
        return self.stays.get(kind, {}).get(level, 0)


class AccumulatorDelta(Accumulators):
    """What one stay adds to `Accumulators` (same fields); a reversal applies `negate(delta)`."""


def _nz(m: dict) -> dict:
    return {k: v for k, v in m.items() if v != 0}


def _add(a: dict, b: dict) -> dict:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + v
    return _nz(out)


def make_accumulators(cls: type[Accumulators] = Accumulators, *, paid: dict | None = None,
                      deductible_paid: dict | None = None, cumulative_self_pay: dict | None = None,
                      stays: dict | None = None, grants_used: dict | None = None) -> Accumulators:
    """Build from int fen values (no yuan parsing), dropping zero entries."""
    st = {k: _nz(per) for k, per in (stays or {}).items()}
    return cls.model_construct(
        paid=_nz(paid or {}),
        deductible_paid=_nz(deductible_paid or {}),
        cumulative_self_pay=_nz(cumulative_self_pay or {}),
        stays={k: per for k, per in st.items() if per},
        grants_used=_nz(grants_used or {}),
    )


def apply_delta(acc: Accumulators, delta: Accumulators) -> Accumulators:
    """acc + delta, field by field (zero entries dropped)."""
    stays: dict = {k: dict(v) for k, v in acc.stays.items()}
    for kind, per in delta.stays.items():
        stays[kind] = _add(stays.get(kind, {}), per)
    return make_accumulators(
        paid=_add(acc.paid, delta.paid),
        deductible_paid=_add(acc.deductible_paid, delta.deductible_paid),
        cumulative_self_pay=_add(acc.cumulative_self_pay, delta.cumulative_self_pay),
        stays=stays,
        grants_used=_add(acc.grants_used, delta.grants_used),
    )


def negate(delta: Accumulators) -> AccumulatorDelta:
    """The delta that undoes `delta` (a reversal, 结算撤销)."""
    return make_accumulators(  # type: ignore[return-value]
        AccumulatorDelta,
        paid={k: -v for k, v in delta.paid.items()},
        deductible_paid={k: -v for k, v in delta.deductible_paid.items()},
        cumulative_self_pay={k: -v for k, v in delta.cumulative_self_pay.items()},
        stays={k: {lv: -n for lv, n in per.items()} for k, per in delta.stays.items()},
        grants_used={k: -v for k, v in delta.grants_used.items()},
    )


class QuoteRequest(_Strict):
    """POST /v1/quotes (DESIGN §9.1). `region_code` is the insurance region (参保地)."""

    region_code: RegionCode
    date: date
    person: Person
    stay: Stay
    accumulators: Accumulators = Field(default_factory=Accumulators)
    lines: list[FeeLine] = Field(default_factory=list, max_length=20000)

    @field_validator("lines")
    @classmethod
    def _unique_ids(cls, lines: list[FeeLine]) -> list[FeeLine]:
        seen: set[str] = set()
        for line in lines:
            if line.line_id in seen:
                raise ValueError(f"duplicate line_id {line.line_id!r}")
            seen.add(line.line_id)
        return lines


# --------------------------------------------------------------------------- result


class PolicyRef(_Strict):
    id: str
    version: int
    parents: list[PolicyRef] = Field(default_factory=list, description="inherited policies used")


class PayerTrace(_Strict):
    """How one payer's amount came about: machine-readable fields and a sentence in Chinese."""

    kind: str
    base: Yuan = Field(description="the amount this payer's rule applies to")
    deductible: Yuan = 0
    ratio: DecimalString | None = None
    cap: Yuan | None = Field(None, description="annual cap (封顶线)")
    cap_left: Yuan | None = Field(None, description="cap minus what this fund paid this year, before it")
    amount: Yuan
    lines: list[str] = Field(default_factory=list, description="policy lines (paths) that applied")
    nhsa_code: str | None = Field(None, description="national fund_pay_type (999997: other)")
    deductible_borne: Yuan = Field(0, description="the deductible (起付线) the person bore in this payer's step "
                                                  "(this part of the stay, for a part)")
    text_zh: str


class PayerAmount(_Strict):
    payer: str
    name: str
    agency: str = ""
    amount: Yuan
    trace: PayerTrace


class TraceStep(_Strict):
    code: str
    text_zh: str
    lines: list[str] = Field(default_factory=list)


class CatalogueNote(_Strict):
    """Lines whose item code the local catalogue lacks: they were classified by the class HIS sent.

    One note per (code, HIS class), naming every such line; `text_zh` names the item and the count."""

    code: str
    his_class: FeeClass
    line_ids: list[str] = Field(min_length=1, description="the lines billed with this code and class")
    text_zh: str


class IllustrativeValue(_Strict):
    """A policy value the quote used that no seed states (marked `illustrative: true` in the file)."""

    path: str = Field(description="where it sits in the policy: payers by id, catalogue items by code, "
                                  "e.g. payers.basic.params.inpatient.county.deductible")
    value: str = Field(description="the value as written in the policy, e.g. \"300.00\" or \"0.75\"")


class QuoteResult(_Strict):
    policy: PolicyRef
    total: Yuan = Field(description="billable total (the package price under 按病种收费)")
    itemised_total: Yuan = Field(0, description="sum of the lines as billed")
    policy_scope: Yuan
    out_of_scope: Yuan
    class_c_amount: Yuan = 0
    over_limit_amount: Yuan = 0
    copay_first_amount: Yuan = 0
    payers: list[PayerAmount]
    self_pay: Yuan
    effective_ratio: DecimalString = Field(description="(total − self_pay) / total, 4 places")
    trace: list[TraceStep]
    delta: AccumulatorDelta
    catalogue_notes: list[CatalogueNote] = Field(default_factory=list)
    hosp_part_amt: Yuan = Field(0, description="itemised excess over the package price, borne by hospital")
    insurance: Insurance | None = None
    illustrative: list[IllustrativeValue] = Field(
        default_factory=list, description="the policy values this quote used that are illustrative (no seed "
                                          "states them), so invented numbers can be told from policy")
