"""The quote: fee classification, then the payer waterfall in the policy's order (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from operator import attrgetter

from onestop.contracts.enums import FeeClass, HospitalLevel, StayKind
from onestop.contracts.money import mul_ratio
from onestop.contracts.quote import (
    AccumulatorDelta,
    Accumulators,
    CatalogueNote,
    PayerAmount,
    PayerTrace,
    Person,
    QuoteRequest,
    QuoteResult,
    Stay,
    TraceStep,
)
from onestop.rules.domain import calculators as calc
from onestop.rules.domain.calculators import Step, pct, yuan
from onestop.rules.domain.resolved import ResolvedPayer, ResolvedPolicy
from onestop.rules.domain.tilts import tilt_deductible, tilt_ratio

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
_B, _C = FeeClass.B, FeeClass.C
_new = object.__new__
_set = object.__setattr__


def _mk(cls, kw):
    """model_construct without its per-call overhead: `kw` must hold every field (hot path only)."""
    obj = _new(cls)
    _set(obj, "__dict__", kw)
    _set(obj, "__pydantic_fields_set__", set(kw))
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _ratio_int(r: Decimal | None) -> tuple[int, int] | None:
    return None if r is None else r.as_integer_ratio()


_ZERO4 = Decimal("0.0000")
_EFF: dict[int, Decimal] = {}


def _effective_ratio(paid: int, total: int) -> Decimal:
    """half_up(paid / total) to 4 places, in ints (equals the Decimal quantize)."""
    if not total:
        return _ZERO4
    n = (2 * paid * 10000 + total) // (2 * total)
    d = _EFF.get(n)
    if d is None:
        d = _EFF[n] = Decimal(n).scaleb(-4)
    return d


LineRow = tuple[str, FeeClass, int, Decimal | None]
line_row = attrgetter("code", "fee_class", "amount", "quantity")
"""A fee line as the arithmetic reads it: (code, class, amount in fen, quantity)."""


def line_rows(req: QuoteRequest) -> list[LineRow]:
    """A request's lines read once (a simulation replays each stay under two policies)."""
    return list(map(line_row, req.lines))


def classify(rp: ResolvedPolicy, rows: Iterable[LineRow]) -> tuple[int, int, int, int, int, int]:
    """(total, policy_scope, class C, over price limit, B co-pay-first, lines unknown to the catalogue)."""
    cat_get = rp.catalogue.get
    default = _ratio_int(rp.default_copay or None)
    total = scope = c_amt = over = pre = unknown = 0
    for code, cls, amt, qty in rows:
        total += amt
        e = cat_get(code)
        if e is None:
            unknown += 1
            if cls is _C:
                c_amt += amt
                continue
            if cls is not _B or default is None:
                scope += amt
                continue
            copay, limit = default, None
        else:
            cls, copay, limit = e
            if cls == "C":
                c_amt += amt
                continue
        allowed = amt
        if limit is not None:
            lim = limit if qty is None else mul_ratio(limit, qty)
            if amt > lim:
                over += amt - lim
                allowed = lim
        if copay is not None:  # half-up of allowed × num/den, in ints (equals mul_ratio)
            num, den = copay
            part = (2 * allowed * num + den) // (2 * den)
            pre += part
            allowed -= part
        scope += allowed
    return total, scope, c_amt, over, pre, unknown


def _ts(code: str, lines: list[str], text_zh: str) -> TraceStep:
    return _mk(TraceStep, {"code": code, "lines": lines, "text_zh": text_zh})


def _bill(rp: ResolvedPolicy, person: Person, stay: Stay, rows: Iterable[LineRow]) -> tuple:
    """(package or None, total, scope, class C, over limit, co-pay-first, unknown lines, itemised, hosp part)."""
    pkg = None
    if rp.package is not None and rp.package.applies(person, stay):
        pkg = rp.package.params_for(person.insurance).find(stay.disease_code, person.age)
    if pkg is not None:
        itemised = sum(r[2] for r in rows)
        return pkg, pkg.price, pkg.price, 0, 0, 0, 0, itemised, max(0, itemised - pkg.price)
    total, scope, c_amt, over, pre, unknown = classify(rp, rows)
    return None, total, scope, c_amt, over, pre, unknown, total, 0


def _waterfall(rp: ResolvedPolicy, person: Person, stay: Stay, acc: Accumulators, total: int, scope: int,
               steps: list[TraceStep] | None) -> tuple[list[tuple[ResolvedPayer, Step, str, list[str]]], int]:
    """Every applicable payer in the policy's order: ([(payer, step, sentence, policy lines)], self_pay).

    The one place the money of a quote is computed: the full quote and the simulation replay both
    call it. `steps` (None: no sentences) receives the tilts and `replaces` trace steps."""
    explain = steps is not None
    tilts = rp.tilts if rp.tilts is not None and rp.tilts.covers(person) else None
    if tilts is not None and steps is not None:
        steps.append(_ts("tilts", ["tilts"], "您属于贫困人口，享受倾斜支付政策。"))
    applicable = [p for p in rp.payers if p.applies(person, stay)]
    replaced: set[str] = set()
    for p in applicable:
        if p.replaces:
            replaced |= p.replaces
            gone = [q.name for q in applicable if q.id in p.replaces]
            if gone and steps is not None:
                steps.append(_ts("replaces", [f"{p.path}.replaces"], f"享受{p.name}的，不再享受{'、'.join(gone)}。"))
    rem, scope_left = total, scope
    out = []
    insurance = person.insurance
    for p in applicable:
        if p.id in replaced:
            continue
        lines = [p.path]
        base_scope = p.base_scope(insurance)
        base = scope_left if base_scope else rem
        step, text = _step(p, p.params_for(insurance), base, rem, total, person, stay, acc, tilts, lines,
                           explain)
        amount = step.amount
        rem -= amount
        scope_left = scope_left - amount if base_scope else max(0, scope_left - amount)
        out.append((p, step, text, lines))
    return out, rem


def replay(rp: ResolvedPolicy, req: QuoteRequest, rows: list[LineRow] | None = None
           ) -> tuple[int, int, Decimal, list[tuple[str, int]]]:
    """Policy simulation's replay: (total, self_pay, effective ratio, [(payer id, amount)]), nothing else.

    The same arithmetic as `compute_quote` (`_bill`, `_waterfall`), without building a result, a
    delta or a trace; `rows` are the request's `line_rows` when the caller already read them."""
    person, stay = req.person, req.stay
    bill = _bill(rp, person, stay, map(line_row, req.lines) if rows is None else rows)
    total = bill[1]
    payers, self_pay = _waterfall(rp, person, stay, req.accumulators, total, bill[2], None)
    return total, self_pay, _effective_ratio(total - self_pay, total), [(p.id, s.amount) for p, s, _, _ in payers]


def compute_quote(rp: ResolvedPolicy, req: QuoteRequest, *, explain: bool = True) -> QuoteResult:
    """The quote. `explain=False` leaves out the Chinese sentences and the catalogue notes; every
    amount, the delta and the machine-readable trace fields are the same."""
    person, stay = req.person, req.stay
    steps: list[TraceStep] = []
    notes: list[CatalogueNote] = []
    pkg, total, scope, c_amt, over, pre, unknown, itemised, hosp_part = _bill(rp, person, stay,
                                                                              map(line_row, req.lines))
    if pkg is not None:
        if explain:
            steps.append(_ts("package", [f"{rp.package.path}.params.packages.{pkg.icd10}"],
                             f"按病种收费：{pkg.name_zh}（{pkg.icd10}），病种收费标准{yuan(pkg.price)}；"
                             f"明细费用{yuan(itemised)}，超出部分{yuan(hosp_part)}由医院承担。"))
    elif unknown and explain:
        catalogue = rp.catalogue
        notes = [_mk(CatalogueNote, {
            "line_id": ln.line_id, "code": ln.code, "his_class": ln.fee_class,
            "text_zh": f"{ln.name}（{ln.code}）不在医保目录中，按医院上传的{ln.fee_class}类计算"})
            for ln in req.lines if ln.code not in catalogue]
        steps.append(_ts("catalogue", [], f"{unknown}项收费项目不在本地医保目录中，按医院上传的类别计算。"))
    out = total - scope
    if explain:
        steps.append(_ts("classify", ["catalogue"],
                         f"医疗费用{yuan(total)}，其中政策范围内{yuan(scope)}，政策范围外{yuan(out)}"
                         f"（丙类{yuan(c_amt)}、超限价{yuan(over)}、乙类先行自付{yuan(pre)}）。"))

    done, self_pay = _waterfall(rp, person, stay, req.accumulators, total, scope, steps if explain else None)
    payers: list[PayerAmount] = []
    d_paid: dict[str, int] = {}
    d_ded: dict[str, int] = {}
    d_cum: dict[str, int] = {}
    d_grants: dict[str, int] = {}
    insurance = person.insurance
    for p, step, text, lines in done:
        amount = step.amount
        pid = p.id
        if amount:
            d_paid[pid] = amount
        if step.deductible_borne:
            d_ded[pid] = step.deductible_borne
        if step.counted:
            d_cum[pid] = step.counted
        if step.grant:
            d_grants[pid] = step.grant
        trace = _mk(PayerTrace, {
            "kind": p.kind, "base": step.base, "deductible": step.deductible, "ratio": step.ratio, "cap": step.cap,
            "cap_left": step.cap_left, "amount": amount, "lines": lines, "nhsa_code": p.nhsa.get(insurance),
            "text_zh": text})
        payers.append(_mk(PayerAmount, {"payer": pid, "name": p.name, "agency": p.agency, "amount": amount,
                                        "trace": trace}))
    eff = _effective_ratio(total - self_pay, total)
    if explain:
        steps.append(_ts("self_pay", [], f"各项基金共支付{yuan(total - self_pay)}，个人自付{yuan(self_pay)}，"
                                         f"实际报销比例{pct(eff)}。"))
    delta = _mk(AccumulatorDelta, {"paid": d_paid, "deductible_paid": d_ded, "cumulative_self_pay": d_cum,
                                   "stays": {stay.kind: {stay.hospital_level: 1}}, "grants_used": d_grants})
    return _mk(QuoteResult, {
        "policy": rp.ref, "total": total, "itemised_total": itemised, "policy_scope": scope, "out_of_scope": out,
        "class_c_amount": c_amt, "over_limit_amount": over, "copay_first_amount": pre, "payers": payers,
        "self_pay": self_pay, "effective_ratio": eff, "trace": steps, "delta": delta, "catalogue_notes": notes,
        "hosp_part_amt": hosp_part, "insurance": insurance})


def _cap_note(step: Step) -> str:
    if step.cap_left is not None and step.amount == step.cap_left and step.cap_left is not None:
        return f"（已达年度封顶线{yuan(step.cap)}）" if step.cap else ""
    return ""


def _tilt_note(lines: list[str]) -> str:
    t = [TILT_ZH[x] for x in lines if x in TILT_ZH]
    return f"（{'；'.join(t)}）" if t else ""


def _step(p: ResolvedPayer, params, base: int, rem: int, total: int, person: Person, stay: Stay,
          acc: Accumulators, tilts, lines: list[str], explain: bool = True) -> tuple[Step, str]:
    paid = acc.paid.get(p.id, 0)
    kind, name = p.kind, p.name
    if kind == "deductible_ratio_cap":
        row = params.row(stay.kind, stay.hospital_level)
        if row is None:
            return Step(0, base), f"{name}：{_where(stay)}不在报销范围内，支付0.00元。" if explain else ""
        lines.append(f"{p.path}.params.{stay.kind}.{stay.hospital_level}")
        ded, ratio = row.deductible, row.ratio
        if tilts is not None:
            ded = tilt_deductible(tilts, p.id, ded, person, stay, acc, lines)
            ratio = tilt_ratio(tilts, p.id, ratio, stay, lines)
        s = calc.deductible_ratio(base, ded, ratio, params.annual_cap, paid)
        if not explain:
            return s, ""
        return s, (f"{name}：{_where(stay)}，政策范围内费用{yuan(base)}，扣除起付线{yuan(ded)}后按{pct(ratio)}报销"
                   f"{_tilt_note(lines)}，支付{yuan(s.amount)}{_cap_note(s)}。")
    if kind == "tiers":
        threshold = params.threshold
        segs = params.segments
        lines.append(f"{p.path}.params.tiers")
        if tilts is not None:
            threshold = tilt_deductible(tilts, p.id, threshold, person, stay, acc, lines)
            segs = [(u, tilt_ratio(tilts, p.id, r, stay, lines if i == 0 else [])) for i, (u, r) in
                    enumerate(segs)]
        cum = acc.cumulative_self_pay.get(p.id, 0)
        s = calc.tiers(base, cum, threshold, segs, params.annual_cap, paid)
        if not explain:
            return s, ""
        rates = "、".join(pct(r) for _, r in segs)
        return s, (f"{name}：本年此前累计合规自付{yuan(cum)}，本次合规自付{yuan(base)}，"
                   f"超过年度起付线{yuan(threshold)}的部分分段按{rates}报销{_tilt_note(lines)}，"
                   f"支付{yuan(s.amount)}{_cap_note(s)}。")
    if kind == "ratio_cap":
        ratio = params.ratio_at(stay.hospital_level)
        if ratio is None:
            return Step(0, base), f"{name}：{_where(stay)}不在救助范围内，支付0.00元。" if explain else ""
        s = calc.deductible_ratio(base, params.deductible, ratio, params.annual_cap, paid)
        if not explain:
            return s, ""
        return s, (f"{name}：救助基数{yuan(base)}，扣除起付线{yuan(params.deductible)}后按{pct(ratio)}救助，"
                   f"支付{yuan(s.amount)}{_cap_note(s)}。")
    if kind == "share":
        ratio = params.ratios.get(stay.hospital_level)
        if ratio is None:
            return Step(0, base), f"{name}：{_where(stay)}就医不享受{name}，支付0.00元。" if explain else ""
        lines.append(f"{p.path}.params.ratios.{stay.hospital_level}")
        s = calc.deductible_ratio(base, 0, ratio, params.annual_cap, paid)
        s.deductible_borne = 0
        if not explain:
            return s, ""
        return s, (f"{name}：个人自付{yuan(base)}，{_where(stay)}按{pct(ratio)}保障，"
                   f"支付{yuan(s.amount)}{_cap_note(s)}。")
    if kind == "gap_fill":
        r = params.target_ratio
        s = calc.gap_fill(rem, total, r, params.annual_cap, paid)
        if not explain:
            return s, ""
        target = calc.mul(total, calc.ONE - r)
        return s, (f"{name}：医疗费用{yuan(total)}，实际报销比例补足到{pct(r)}，个人只需支付{yuan(target)}，"
                   f"本基金补足{yuan(s.amount)}{_cap_note(s)}。")
    if kind == "grant":
        used = acc.grants_used.get(p.id, 0)
        s = calc.grant(rem, params.amount, used, params.per_year)
        if used >= params.per_year:
            return s, f"{name}：本年已享受过一次性帮扶，支付0.00元。" if explain else ""
        return s, f"{name}：经确认完全无力支付，一次性帮扶{yuan(s.amount)}。" if explain else ""
    raise AssertionError(f"unknown calculator kind {kind}")


def _where(stay) -> str:
    return f"在{LEVEL_ZH[stay.hospital_level]}{KIND_ZH[stay.kind]}"
