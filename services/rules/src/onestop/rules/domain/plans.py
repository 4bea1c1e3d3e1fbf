"""The waterfall's plans: what each payer step needs that depends on the policy alone.

A policy is compiled once, when it is resolved, into one plan per (insurance, stay kind, hospital
level): the payers that may apply there in the policy's order, each with its parameter row, its
ratios as int pairs, its tilted variants and the fixed parts of its Chinese sentence. A quote then
only picks a plan, checks the person's conditions, picks a tilt variant and does the arithmetic
(the same arithmetic as `calculators`, in ints: every step rounds half-up to the fen once).
"""

from __future__ import annotations

from decimal import Decimal
from math import gcd
from typing import Any

from onestop.contracts.enums import Disability, HospitalLevel, Insurance, StayKind
from onestop.contracts.quote import Accumulators, Person, Stay
from onestop.rules.domain.calculators import ONE, pct, yuan
from onestop.rules.domain.conditions import TiltChooser
from onestop.rules.domain.payer import ResolvedPayer
from onestop.rules.domain.steps import Step, TierVariant, Tilted, Turn, Variant, _step
from onestop.rules.domain.tilts import Tilts, deductible_tilts, tilt_ratio

LEVEL_ZH = {
    HospitalLevel.village: "村卫生室", HospitalLevel.township: "乡镇卫生院",
    HospitalLevel.county: "县级医院", HospitalLevel.city: "市级医院", HospitalLevel.province: "省级医院",
}
KIND_ZH = {StayKind.inpatient: "住院", StayKind.outpatient: "门诊"}
TILT_ZH = {
    "tilts.deductible_factor": "贫困人口起付线降低50%",
    "tilts.repeat_stay_waiver_payers": "年内再次在同级别医疗机构住院，取消起付线",
    "tilts.disability_waiver": "残疾儿童及重度残疾人在县级及以下医疗机构住院，取消起付线",
    "tilts.inpatient_ratio_points": "贫困人口住院报销比例提高5个百分点",
    "tilts.outpatient": "贫困人口在县级及以下医疗机构门诊，报销比例提高",
}
_INPATIENT = StayKind.inpatient
# the policy line of each deductible tilt, in Tilted's order
_DED_LINES = (None, "tilts.repeat_stay_waiver_payers", "tilts.disability_waiver", "tilts.deductible_factor")


def _tilt_note(lines: tuple[str, ...]) -> str:
    t = [TILT_ZH[x] for x in lines if x in TILT_ZH]
    return f"（{'；'.join(t)}）" if t else ""


def _nd(r: Decimal) -> tuple[int, int]:
    return r.as_integer_ratio()


class PayerPlan:
    """One payer at one (insurance, kind, level); `step` is its arithmetic and sentence."""

    __slots__ = ("payer", "id", "name", "agency", "kind", "nhsa_code", "base_scope", "personal", "cap",
                 "cap_text", "lines", "where", "yearly", "each_part")

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel
                 ) -> None:
        self.payer, self.id, self.name, self.agency, self.kind = p, p.id, p.name, p.agency, p.kind
        self.nhsa_code = p.nhsa.get(ins)
        self.base_scope = p.base_scope(ins)
        self.personal = p.person_conditions  # conditions left for the quote to check
        self.cap: int | None = getattr(params, "annual_cap", None)
        self.cap_text = f"（已达年度封顶线{yuan(self.cap)}）" if self.cap else ""
        self.lines: tuple[str, ...] = (p.path,)
        self.where = f"在{LEVEL_ZH[level]}{KIND_ZH[kind]}"
        self.yearly = getattr(params, "deductible_basis", "per_stay") == "per_year"
        self.each_part = getattr(params, "part_deductible", "once_per_stay") == "each_part"

    def _deductible(self, ded: int, acc: Accumulators, turn: Turn) -> tuple[int, str]:
        """The deductible still to bear, and its name in the sentence: a yearly one less what the year
        bore (deductible_paid), a per-stay one less what the stay's earlier parts bore."""
        if self.yearly:
            before = acc.deductible_paid.get(self.id, 0)
            return (max(0, ded - before), "本年剩余起付线") if before else (ded, "年度起付线")
        before = 0 if self.each_part else turn.carried.get(self.id, 0)
        return (max(0, ded - before), "本次住院剩余起付线") if before else (ded, "起付线")

    def _left(self, acc: Accumulators) -> int | None:
        cap = self.cap
        return None if cap is None else max(0, cap - acc.paid.get(self.id, 0))

    def _cap_note(self, amount: int, left: int | None) -> str:
        return self.cap_text if left is not None and amount == left else ""

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        """What this payer pays of `base` (`rem`: all left unpaid, `total`: the bill)."""
        raise NotImplementedError


class _Nothing(PayerPlan):
    """A payer that applies but has no row at this level: it pays nothing, and says why."""

    __slots__ = ("text",)

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel,
                 text: str) -> None:
        super().__init__(p, params, ins, kind, level)
        self.text = text.format(name=p.name, where=self.where)

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        return _step(Step, (0, base, 0, None, None, None, 0, 0, 0, self.lines, self.text if explain else ""))


class _DeductibleRatio(PayerPlan):
    """deductible_ratio_cap, and the tilts' variants it shares with tiers: `untilted`, and `tilted`
    by the deductible tilt that applies."""

    __slots__ = ("untilted", "tilted", "repeat", "disabled", "halved", "level", "head")

    untilted: Any
    tilted: Tilted[Any] | None
    repeat: bool
    disabled: frozenset[Disability] | None
    halved: int | None

    def _tilts(self, t: Tilts, ded: int, kind: StayKind, level: HospitalLevel) -> list[int | None]:
        """The deductible under each deductible tilt, in Tilted's order (None: that tilt cannot apply here)."""
        self.level = level
        self.repeat, self.disabled, self.halved = deductible_tilts(t, self.id, ded, kind, level)
        return [ded, 0 if self.repeat else None, 0 if self.disabled is not None else None, self.halved]

    def _variant_for(self, person: Person, acc: Accumulators, turn: Turn) -> Any:
        """The variant for this person: a waiver beats the halving (tilts). A stay counts once for the
        repeat-stay waiver: a later part does not waive on its own earlier part."""
        t = self.tilted
        if not turn.tilted or t is None:
            return self.untilted
        if self.repeat and acc.stays.get(_INPATIENT, {}).get(self.level, 0) > turn.counted:
            return t.repeat_stay
        disabled = self.disabled
        if disabled is not None and person.disability in disabled:
            return t.disability
        return t.plain if t.halved is None else t.halved

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel,
                 row: Any, t: Tilts | None) -> None:
        super().__init__(p, params, ins, kind, level)
        self.lines = (p.path, f"{p.path}.params.{kind.value}.{level.value}")
        self.head = f"{p.name}：{self.where}，政策范围内费用"
        self.untilted = self._variant(row.deductible, row.ratio, self.lines)
        self.tilted = None
        if t is not None:
            ratio, rline = tilt_ratio(t, p.id, row.ratio, kind, level)
            variants = []
            for i, ded in enumerate(self._tilts(t, row.deductible, kind, level)):
                lines = self.lines + tuple(x for x in (_DED_LINES[i], rline) if x is not None)
                variants.append(None if ded is None else self._variant(ded, ratio, lines))
            self.tilted = Tilted(*variants)

    @staticmethod
    def _variant(ded: int, ratio: Decimal, lines: tuple[str, ...]) -> Variant:
        num, den = _nd(ratio)
        return Variant(ded, ratio, num, den, lines, f"后按{pct(ratio)}报销{_tilt_note(lines)}，支付")

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        v: Variant = self._variant_for(person, acc, turn)
        ded, num, den = v.deductible, v.num, v.den
        label = "起付线"
        if ded and (self.yearly or turn.carried):
            ded, label = self._deductible(ded, acc, turn)
        left = self._left(acc)
        amount = (2 * (base - ded) * num + den) // (2 * den) if base > ded else 0  # = mul, base − ded > 0
        if left is not None and amount > left:
            amount = left
        text = ""
        if explain:
            text = (f"{self.head}{yuan(base)}，扣除{label}{yuan(ded)}{v.after}{yuan(amount)}"
                    f"{self._cap_note(amount, left)}。")
        return _step(Step, (amount, base, ded, v.ratio, self.cap, left, min(ded, base), 0, 0, v.lines, text))


class _Tiers(_DeductibleRatio):
    """tiers: marginal ratios over the year's cumulative in-scope self-pay above the threshold."""

    __slots__ = ()

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel,
                 t: Tilts | None) -> None:
        PayerPlan.__init__(self, p, params, ins, kind, level)
        self.lines = (p.path, f"{p.path}.params.tiers")
        self.head = f"{p.name}：本年此前累计合规自付"
        segs = params.segments
        self.untilted = self._tiers_variant(params.threshold, segs, self.lines)
        self.tilted = None
        if t is not None:
            tilted = [(u, tilt_ratio(t, p.id, r, kind, level)) for u, r in segs]
            rline = tilted[0][1][1] if tilted else None  # the first segment's tilt names the line
            tsegs = [(u, r) for u, (r, _) in tilted]
            variants = []
            for i, thr in enumerate(self._tilts(t, params.threshold, kind, level)):
                lines = self.lines + tuple(x for x in (_DED_LINES[i], rline) if x is not None)
                variants.append(None if thr is None else self._tiers_variant(thr, tsegs, lines))
            self.tilted = Tilted(*variants)

    @staticmethod
    def _tiers_variant(threshold: int, segs: list[tuple[int | None, Decimal]], lines: tuple[str, ...]
                       ) -> TierVariant:
        rates = "、".join(pct(r) for _, r in segs)
        nds = tuple((u, *_nd(r)) for u, r in segs)
        mid = f"，超过年度起付线{yuan(threshold)}的部分分段按{rates}报销{_tilt_note(lines)}，支付"
        return TierVariant(threshold, segs[0][1] if segs else None, nds, lines, mid)

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        v: TierVariant = self._variant_for(person, acc, turn)
        threshold = v.threshold
        cum = acc.cumulative_self_pay.get(self.id, 0)
        lo_c, hi_c = cum, cum + base  # this stay moves the cumulative sum from lo_c to hi_c
        num, den = 0, 1  # the exact sum of every segment's (b − a) × ratio, in ints
        lo = threshold
        for hi, n, d in v.segs:
            a, b = max(lo, lo_c), hi_c if hi is None else min(hi, hi_c)
            if b > a:
                if d == den:
                    num += (b - a) * n
                else:
                    g = den * d // gcd(den, d)
                    num = num * (g // den) + (b - a) * n * (g // d)
                    den = g
            if hi is None:
                break
            lo = hi
        left = self._left(acc)
        amount = (2 * num + den) // (2 * den)  # half-up, num ≥ 0
        if left is not None and amount > left:
            amount = left
        borne = max(0, min(hi_c, threshold) - lo_c)
        text = ""
        if explain:
            text = (f"{self.head}{yuan(cum)}，本次合规自付{yuan(base)}{v.mid}{yuan(amount)}"
                    f"{self._cap_note(amount, left)}。")
        return _step(Step, (amount, base, threshold, v.first, self.cap, left, borne, base, 0, v.lines, text))


class _RatioCap(PayerPlan):
    """ratio_cap (an assistance fund's 救助 or an insurer's 报销) and share:
    min(half_up(max(base − deductible, 0) × ratio), cap_left)."""

    __slots__ = ("ded", "ratio", "num", "den", "head", "mid", "borne")

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel,
                 ratio: Decimal, share: bool) -> None:
        super().__init__(p, params, ins, kind, level)
        self.ratio, (self.num, self.den) = ratio, _nd(ratio)
        self.borne = not share  # a share bears no deductible
        if share:
            self.ded = 0
            self.lines = (p.path, f"{p.path}.params.ratios.{level.value}")
            self.head, self.mid = f"{p.name}：个人自付", f"，{self.where}按{pct(ratio)}保障，支付"
        else:
            self.ded = params.deductible
            verb = p.verb_zh(ins)
            self.head = f"{p.name}：{verb}基数"
            self.mid = f"后按{pct(ratio)}{verb}，支付"

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        ded, den = self.ded, self.den
        label = "起付线"
        if ded and (self.yearly or turn.carried):
            ded, label = self._deductible(ded, acc, turn)
        left = self._left(acc)
        amount = (2 * (base - ded) * self.num + den) // (2 * den) if base > ded else 0
        if left is not None and amount > left:
            amount = left
        text = ""
        if explain:
            cut = f"，扣除{label}{yuan(ded)}" if self.borne else ""
            text = f"{self.head}{yuan(base)}{cut}{self.mid}{yuan(amount)}{self._cap_note(amount, left)}。"
        return _step(Step, (amount, base, ded, self.ratio, self.cap, left, min(ded, base) if self.borne else 0,
                            0, 0, self.lines, text))


class _GapFill(PayerPlan):
    """gap_fill: what is left unpaid above the target self-pay half_up(total × (1 − r))."""

    __slots__ = ("ratio", "num", "den", "head")

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel
                 ) -> None:
        super().__init__(p, params, ins, kind, level)
        self.ratio = params.target_ratio
        self.num, self.den = _nd(ONE - self.ratio)  # the self-pay share 1 − r
        self.head = f"{p.name}：医疗费用"

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        den = self.den
        target = (2 * total * self.num + den) // (2 * den)  # = mul(total, 1 − r), total ≥ 0
        left = self._left(acc)
        amount = max(0, rem - target)
        if left is not None and amount > left:
            amount = left
        text = ""
        if explain:
            text = (f"{self.head}{yuan(total)}，实际报销比例补足到{pct(self.ratio)}，个人只需支付{yuan(target)}，"
                    f"本基金补足{yuan(amount)}{self._cap_note(amount, left)}。")
        return _step(Step, (amount, rem, 0, self.ratio, self.cap, left, 0, 0, 0, self.lines, text))


class _Grant(PayerPlan):
    """grant: a one-off amount, at most `per_year` times a year."""

    __slots__ = ("amount", "per_year", "used_text", "head")

    def __init__(self, p: ResolvedPayer, params: Any, ins: Insurance, kind: StayKind, level: HospitalLevel
                 ) -> None:
        super().__init__(p, params, ins, kind, level)
        self.amount, self.per_year = params.amount, params.per_year
        self.used_text = f"{p.name}：本年已享受过一次性帮扶，支付0.00元。"
        self.head = f"{p.name}：经确认完全无力支付，一次性帮扶"

    def step(self, base: int, rem: int, total: int, person: Person, acc: Accumulators, turn: Turn,
             explain: bool) -> Step:
        if acc.grants_used.get(self.id, 0) >= self.per_year:
            return _step(Step, (0, rem, 0, None, self.amount, 0, 0, 0, 0, self.lines,
                                self.used_text if explain else ""))
        paid = min(self.amount, rem)
        text = f"{self.head}{yuan(paid)}。" if explain else ""
        return _step(Step, (paid, rem, 0, None, self.amount, self.amount, 0, 0, 1 if paid > 0 else 0,
                            self.lines, text))


def payer_plan(p: ResolvedPayer, ins: Insurance, kind: StayKind, level: HospitalLevel,
               tilts: Tilts | None) -> PayerPlan:
    """The plan of a payer that applies at (ins, kind, level)."""
    params = p.params_for(ins)
    k = p.kind
    if k == "deductible_ratio_cap":
        row = params.row(kind, level)
        if row is None:
            return _Nothing(p, params, ins, kind, level, "{name}：{where}不在报销范围内，支付0.00元。")
        return _DeductibleRatio(p, params, ins, kind, level, row, tilts)
    if k == "tiers":
        return _Tiers(p, params, ins, kind, level, tilts)
    if k in ("ratio_cap", "share"):
        share = k == "share"
        ratio = params.ratios.get(level) if share else params.ratio_at(level)
        if ratio is None:
            text = "{name}：{where}就医不享受{name}，支付0.00元。" if share else \
                f"{{name}}：{{where}}不在{p.verb_zh(ins)}范围内，支付0.00元。"
            return _Nothing(p, params, ins, kind, level, text)
        return _RatioCap(p, params, ins, kind, level, ratio, share)
    if k == "gap_fill":
        return _GapFill(p, params, ins, kind, level)
    if k == "grant":
        return _Grant(p, params, ins, kind, level)
    raise AssertionError(f"unknown calculator kind {k}")


class LevelPlan:
    """The payers that may apply at one (insurance, kind, level), in the policy's order."""

    __slots__ = ("payers", "replacing", "package")

    def __init__(self, payers: tuple[PayerPlan, ...], package: ResolvedPayer | None) -> None:
        self.payers = payers
        self.replacing = any(q.payer.replaces for q in payers)  # else no payer can drop another
        self.package = package


class Plans:
    """A resolved policy's plans, by (insurance, stay kind, hospital level)."""

    __slots__ = ("levels", "tilt_population", "default_copay", "chooser")

    def __init__(self, payers: tuple[ResolvedPayer, ...], package: ResolvedPayer | None, tilts: Tilts | None,
                 default_copay: Decimal, chooser: TiltChooser | None = None) -> None:
        self.levels: dict[tuple[Insurance, StayKind, HospitalLevel], LevelPlan] = {}
        for ins in Insurance:
            for kind in StayKind:
                for level in HospitalLevel:
                    here = tuple(payer_plan(p, ins, kind, level, tilts) for p in payers
                                 if p.applies_at(ins, kind, level))
                    pkg = package if package is not None and package.applies_at(ins, kind, level) else None
                    self.levels[ins, kind, level] = LevelPlan(here, pkg)
        self.chooser = chooser  # the tilts name populations (conditions.tilt_chooser), else by categories
        self.tilt_population: frozenset | None = (
            frozenset(tilts.population) if tilts is not None and chooser is None else None)
        self.default_copay: tuple[int, int] | None = default_copay.as_integer_ratio() if default_copay else None

    def tilted(self, person: Person, stay: Stay) -> str | None:
        """The population whose tilts the person has on this stay, as the patient reads it (None: none)."""
        if self.chooser is not None:
            return self.chooser(person, stay)
        pop = self.tilt_population
        return "贫困人口" if pop is not None and not pop.isdisjoint(person.categories) else None

