"""The quote: fee classification, then the payer waterfall in the policy's order (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Protocol, TypeVar

from pydantic import BaseModel

from onestop.contracts.enums import FeeClass
from onestop.contracts.money import mul_ratio
from onestop.contracts.quote import (
    AccumulatorDelta,
    CatalogueNote,
    PayerAmount,
    PayerTrace,
    Person,
    QuoteRequest,
    QuoteResult,
    Stay,
    TraceStep,
)
from onestop.rules.domain.calculators import pct, yuan
from onestop.rules.domain.illustrative import quote_illustrative
from onestop.rules.domain.plans import PayerPlan
from onestop.rules.domain.resolved import ResolvedPolicy
from onestop.rules.domain.steps import NO_CARRY, WHOLE, Step, Turn

_B, _C = FeeClass.B, FeeClass.C
TILTED = Turn(True, NO_CARRY, 0)
M = TypeVar("M", bound=BaseModel)


def _maker(cls: type[M]) -> Callable[..., M]:
    """A constructor of `cls` from trusted values of every field: `model_copy(update=…)` of an empty
    template, unvalidated like `model_construct` (money is already int fen: validating would read it
    as yuan) and half its cost on these wide result models, a quote building a dozen of them."""
    copy = cls.model_construct().model_copy
    return lambda **fields: copy(update=fields)


_trace, _payer = _maker(PayerTrace), _maker(PayerAmount)
_delta, _result = _maker(AccumulatorDelta), _maker(QuoteResult)

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


class _Line(Protocol):
    """What `classify` reads of a line (a `FeeLine`)."""

    @property
    def code(self) -> str: ...
    @property
    def fee_class(self) -> FeeClass: ...
    @property
    def amount(self) -> int: ...
    @property
    def quantity(self) -> Decimal | None: ...


Unknown = dict[tuple[str, FeeClass], list]
"""Lines whose code the catalogue lacks, by (code, HIS class), in bill order."""


def classify(rp: ResolvedPolicy, lines: Iterable[_Line], unknown: Unknown | None = None
             ) -> tuple[int, int, int, int, int, int]:
    """(total, policy_scope, class C, over price limit, B co-pay-first, lines unknown to the catalogue).

    `unknown`, when given, receives the lines whose code the catalogue lacks. A line's HIS class
    is read only for such a code, its quantity only under a price limit: reading a model's
    attribute is most of the cost of a line."""
    cat_get = rp.catalogue.get
    default = rp.plans.default_copay
    total = scope = c_amt = over = pre = n_unknown = 0
    for ln in lines:
        amt = ln.amount
        total += amt
        code = ln.code
        e = cat_get(code)
        if e is None:
            n_unknown += 1
            cls = ln.fee_class
            if unknown is not None:
                same = unknown.get((code, cls))
                if same is None:
                    unknown[code, cls] = [ln]
                else:
                    same.append(ln)
            if cls is _C:
                c_amt += amt
                continue
            if cls is not _B or default is None:
                scope += amt
                continue
            copay, limit = default, None
        else:
            kind, copay, limit = e
            if kind == "C":
                c_amt += amt
                continue
        allowed = amt
        if limit is not None:
            qty = ln.quantity
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
    return total, scope, c_amt, over, pre, n_unknown


def _ts(code: str, lines: list[str], text_zh: str) -> TraceStep:
    return TraceStep(code=code, lines=lines, text_zh=text_zh)  # no money in it: validated is cheapest


def _bill(rp: ResolvedPolicy, person: Person, stay: Stay, lines: Iterable[_Line],
          unknown: Unknown | None = None) -> tuple:
    """(package or None, total, scope, class C, over limit, co-pay-first, unknown lines, itemised, hosp part).

    Under a package (按病种, the final part of a stay only) the bill is its price, all in scope, the
    itemised excess the hospital's; an itemised bill below the price is billed as itemised where
    the policy says so (`when_itemised_lower`)."""
    pkg = None
    part = stay.part
    if rp.package is not None and (part is None or part.final) and rp.package.applies(person, stay):
        packages = rp.package.params_for(person.insurance)
        pkg = packages.find(stay.disease_code, person.age)
    if pkg is not None:
        itemised = sum(ln.amount for ln in lines)
        if itemised < pkg.price and packages.when_itemised_lower == "itemised":
            return pkg, itemised, itemised, 0, 0, 0, 0, itemised, 0
        return pkg, pkg.price, pkg.price, 0, 0, 0, 0, itemised, max(0, itemised - pkg.price)
    total, scope, c_amt, over, pre, n_unknown = classify(rp, lines, unknown)
    return None, total, scope, c_amt, over, pre, n_unknown, total, 0


def _turn(tilted: bool, req: QuoteRequest) -> Turn:
    """The part of the stay this quote settles, as the payer steps need it (WHOLE-like for a whole stay)."""
    stay = req.stay
    part = stay.part
    if part is None or part.index == 1:
        return Turn(tilted, NO_CARRY, 0)
    # a later part: the stay was counted by its first part, in the admission year's accumulators
    end = stay.discharged_at if part.final and stay.discharged_at else req.date
    admitted = stay.admitted_at
    return Turn(tilted, part.deductible_borne, 1 if admitted is not None and admitted.year == end.year else 0)


def _waterfall(rp: ResolvedPolicy, req: QuoteRequest, total: int, scope: int,
               steps: list[TraceStep] | None) -> tuple[list[tuple[PayerPlan, Step]], int]:
    """Every applicable payer in the policy's order: ([(payer plan, its step)], self_pay).

    The one place the money of a quote is computed: the full quote and the simulation replay both
    call it. `steps` (None: no sentences) receives the tilts and `replaces` trace steps. A part of
    a stay that is not its final part takes no one-off grant."""
    person, stay, acc = req.person, req.stay, req.accumulators
    plans = rp.plans
    lp = plans.levels[person.insurance, stay.kind, stay.hospital_level]
    who = plans.tilted(person, stay)
    tilted = who is not None
    part = stay.part
    turn = (TILTED if tilted else WHOLE) if part is None else _turn(tilted, req)
    explain = steps is not None
    if tilted and steps is not None:
        steps.append(_ts("tilts", ["tilts"], f"您属于{who}，享受倾斜支付政策。"))
    applicable = [q for q in lp.payers if not q.personal or q.payer.applies_to(person, stay)]
    if part is not None and not part.final:
        applicable = [q for q in applicable if q.kind != "grant"]
    if lp.replacing:
        replaced: set[str] = set()
        for q in applicable:
            p = q.payer
            if p.replaces:
                replaced |= p.replaces
                gone = [x.name for x in applicable if x.id in p.replaces]
                if gone and steps is not None:
                    steps.append(_ts("replaces", [f"{p.path}.replaces"],
                                     f"享受{p.name}的，不再享受{'、'.join(gone)}。"))
        applicable = [q for q in applicable if q.id not in replaced]
    rem, scope_left = total, scope
    out = []
    for q in applicable:
        if q.base_scope:
            r = q.step(scope_left, rem, total, person, acc, turn, explain)
            scope_left -= r[0]  # r.amount, read by index on this hot path
        else:
            r = q.step(rem, rem, total, person, acc, turn, explain)
            scope_left = max(0, scope_left - r[0])
        rem -= r[0]
        out.append((q, r))
    return out, rem


def replay(rp: ResolvedPolicy, req: QuoteRequest) -> tuple[int, int, Decimal, list[tuple[str, int]]]:
    """Policy simulation's replay: (total, self_pay, effective ratio, [(payer id, amount)]), nothing else.

    The same arithmetic as `compute_quote` (`_bill`, `_waterfall`), without building a result, a
    delta or a trace."""
    person, stay = req.person, req.stay
    bill = _bill(rp, person, stay, req.lines)
    total = bill[1]
    payers, self_pay = _waterfall(rp, req, total, bill[2], None)
    return total, self_pay, _effective_ratio(total - self_pay, total), [(q.id, r.amount) for q, r in payers]


def compute_quote(rp: ResolvedPolicy, req: QuoteRequest, *, explain: bool = True) -> QuoteResult:
    """The quote. `explain=False` leaves out the Chinese sentences and the catalogue notes; every
    amount, the delta and the machine-readable trace fields are the same."""
    person, stay = req.person, req.stay
    steps: list[TraceStep] = []
    notes: list[CatalogueNote] = []
    unknown_lines: Unknown = {}
    pkg, total, scope, c_amt, over, pre, unknown, itemised, hosp_part = _bill(
        rp, person, stay, req.lines, unknown_lines if explain else None)
    if pkg is not None:
        if explain:
            lower = total < pkg.price
            rest = f"低于病种收费标准，按实际费用{yuan(total)}结算。" if lower else \
                f"，超出部分{yuan(hosp_part)}由医院承担。"
            lines = [f"{rp.package.path}.params.packages.{pkg.icd10}"]
            if lower:
                lines.append(f"{rp.package.path}.params.when_itemised_lower")
            steps.append(_ts("package", lines, f"按病种收费：{pkg.name_zh}（{pkg.icd10}），病种收费标准"
                                               f"{yuan(pkg.price)}；明细费用{yuan(itemised)}{rest}"))
    elif unknown and explain:
        notes = [CatalogueNote(
            code=code, his_class=cls, line_ids=[ln.line_id for ln in same],
            text_zh=f"{same[0].name}（{code}）不在医保目录中，{len(same)}条收费明细按医院上传的{cls}类计算")
            for (code, cls), same in unknown_lines.items()]
        steps.append(_ts("catalogue", [], f"{unknown}项收费项目不在本地医保目录中，按医院上传的类别计算。"))
    out = total - scope
    if explain:
        steps.append(_ts("classify", ["catalogue"],
                         f"医疗费用{yuan(total)}，其中政策范围内{yuan(scope)}，政策范围外{yuan(out)}"
                         f"（丙类{yuan(c_amt)}、超限价{yuan(over)}、乙类先行自付{yuan(pre)}）。"))

    done, self_pay = _waterfall(rp, req, total, scope, steps if explain else None)
    payers: list[PayerAmount] = []
    d_paid: dict[str, int] = {}
    d_ded: dict[str, int] = {}
    d_cum: dict[str, int] = {}
    d_grants: dict[str, int] = {}
    insurance = person.insurance
    # the lines whose values the quote used (the steps' own lines name no number: tilts, catalogue, replaces)
    used = [] if pkg is None else [f"{rp.package.path}.params.packages.{pkg.icd10}"]  # type: ignore[union-attr]
    for q, r in done:
        pid, amount = q.id, r.amount
        if amount:
            d_paid[pid] = amount
        if r.borne:
            d_ded[pid] = r.borne
        if r.counted:
            d_cum[pid] = r.counted
        if r.grants:
            d_grants[pid] = r.grants
        trace = _trace(
            kind=q.kind, base=r.base, deductible=r.deductible, ratio=r.ratio, cap=r.cap, cap_left=r.cap_left,
            amount=amount, lines=list(r.lines), nhsa_code=q.nhsa_code, deductible_borne=r.borne, text_zh=r.text)
        used.extend(r.lines)
        payers.append(_payer(payer=pid, name=q.name, agency=q.agency, amount=amount, trace=trace))
    eff = _effective_ratio(total - self_pay, total)
    if explain:
        steps.append(_ts("self_pay", [], f"各项基金共支付{yuan(total - self_pay)}，个人自付{yuan(self_pay)}，"
                                         f"实际报销比例{pct(eff)}。"))
    # a stay counts once, in its admission year: by its first part where it is settled in parts
    counts = stay.part is None or stay.part.index == 1
    delta = _delta(
        paid=d_paid, deductible_paid=d_ded, cumulative_self_pay=d_cum,
        stays={stay.kind: {stay.hospital_level: 1}} if counts else {}, grants_used=d_grants)
    return _result(
        policy=rp.ref, total=total, itemised_total=itemised, policy_scope=scope, out_of_scope=out,
        class_c_amount=c_amt, over_limit_amount=over, copay_first_amount=pre, payers=payers,
        self_pay=self_pay, effective_ratio=eff, trace=steps, delta=delta, catalogue_notes=notes,
        hosp_part_amt=hosp_part, insurance=insurance,
        illustrative=quote_illustrative(rp.illustrative, tuple(used), insurance.value,
                                        [] if pkg is not None else rp.illustrative.of_bill(req.lines, rp.catalogue)))
