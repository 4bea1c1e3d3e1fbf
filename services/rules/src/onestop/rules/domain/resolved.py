"""A policy resolved for one region and date: typed, checked, precomputed for fast quotes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from onestop.contracts.enums import FeeClass, Insurance
from onestop.contracts.quote import PolicyRef
from onestop.contracts.treat_first import TreatFirstRule
from onestop.rules.domain.calculators import PARAMS, Ratio
from onestop.rules.domain.conditions import Population, TiltChooser, tilt_chooser, when_predicate
from onestop.rules.domain.illustrative import IllustrativeIndex, illustrative_values
from onestop.rules.domain.operations import Operations
from onestop.rules.domain.payer import ResolvedPayer, fund_codes, in_period
from onestop.rules.domain.plans import Plans
from onestop.rules.domain.policy import (
    CatalogueEntry,
    Conditions,
    Hospital,
    PolicyError,
    PolicyFile,
    PolicyInvalid,
    at_date,
    pydantic_errors,
)
from onestop.rules.domain.tilts import Tilts


@dataclass(frozen=True)
class ResolvedPolicy:
    id: str
    version: int
    region_code: str
    name: str
    on_date: date
    valid_from: date
    date_basis: str
    ref: PolicyRef
    payers: tuple[ResolvedPayer, ...]
    package: ResolvedPayer | None
    catalogue: dict[str, tuple[str, tuple[int, int] | None, int | None]]  # code → class, copay n/d, limit
    catalogue_entries: tuple[CatalogueEntry, ...]
    default_copay: Decimal
    tilts: Tilts | None
    hospitals: tuple[Hospital, ...]  # in force on `on_date`
    hospital_entries: tuple[Hospital, ...]  # every one listed, with its own valid_from / valid_to
    treat_first: TreatFirstRule | None
    illustrative: IllustrativeIndex  # the values no seed states, by path (quotes list those they used)
    operations: Operations | None  # operational data (cost alerts, repayment, claims, funds, indicators)
    plans: Plans  # the waterfall's per-(insurance, kind, level) plans, compiled here once
    seeds: dict[str, str] = field(default_factory=dict)

    def payer(self, payer_id: str) -> ResolvedPayer | None:
        return next((p for p in self.payers if p.id == payer_id), None)


def _tilt_chooser(tilts: Tilts | None, populations: dict[str, Population]) -> TiltChooser | None:
    """Whose tilts a quote applies, where the tilts name populations (None: by categories alone)."""
    if tilts is None or not tilts.population_names():
        return None
    pop = tilts.population
    if isinstance(pop, str):
        main, main_zh = populations[pop].predicate(), populations[pop].name_zh
    else:
        cats = frozenset(pop)
        main, main_zh = (lambda p, s: not cats.isdisjoint(p.categories)), "贫困人口"
    also = [(frozenset(a.levels), populations[a.population].predicate(), populations[a.population].name_zh)
            for a in (tilts.outpatient.also if tilts.outpatient else [])]
    return tilt_chooser(main, main_zh, also)


def build(doc: dict[str, Any], on: date, file: str, parents: list[PolicyRef] | None = None,
          seeds: dict[str, str] | None = None) -> ResolvedPolicy:
    """Type and check the effective document as in force on `on`; raise PolicyInvalid."""
    raw_errs: list[str] = []
    d = at_date(doc, on, "", raw_errs)
    errors = [PolicyError(file, *e.split("\t", 1)) for e in raw_errs]
    if errors:
        raise PolicyInvalid(errors)
    try:
        pf = PolicyFile.model_validate(d)
    except ValidationError as exc:
        raise PolicyInvalid(pydantic_errors(file, exc)) from None

    def validate(model: Any, data: Any, path: str) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            errors.extend(pydantic_errors(file, exc, path))
            return None

    all_ids = {p.id for p in pf.payers}
    populations: dict[str, Population] = pf.populations or {}

    def known(names: list[str], path: str) -> None:
        for n in names:
            if n not in populations:
                errors.append(PolicyError(file, path, f"no population {n!r} in populations "
                                                      f"(defined: {', '.join(sorted(populations)) or 'none'})"))
    payers: list[ResolvedPayer] = []
    package: ResolvedPayer | None = None
    for i, p in enumerate(pf.payers):
        at = f"payers[{i}]"
        for fld in ("name", "kind", "agency"):
            if not getattr(p, fld):
                errors.append(PolicyError(file, f"{at}.{fld}", "required (not given here nor in the parent)"))
        if p.kind is None or not in_period(p.valid_from, p.valid_to, on):
            continue
        model = PARAMS[p.kind]
        params: dict[Insurance | None, Any] = {}
        if p.by_insurance:
            for ins, raw in p.by_insurance.items():
                params[ins] = validate(model, raw, f"{at}.by_insurance.{ins.value}")
        elif p.params is not None:
            params[None] = validate(model, p.params, f"{at}.params")
        else:
            errors.append(PolicyError(file, f"{at}.params", "required: the calculator's parameters"))
        for j, r in enumerate(p.replaces or []):
            if r not in all_ids or r == p.id:
                errors.append(PolicyError(file, f"{at}.replaces[{j}]", f"no other payer {r!r} to replace"))
        nhsa = fund_codes(p.id, p.fund_pay_type or p.nhsa_code)
        when = p.when or Conditions()
        known(when.population, f"{at}.when.population")
        rp = ResolvedPayer.make(id=p.id, name=p.name or p.id, agency=p.agency or "", kind=p.kind,
                                path=f"payers.{p.id}", conditions=when, _match=when_predicate(when, populations),
                                replaces=frozenset(p.replaces or ()), params=params, nhsa=nhsa,
                                seed=p.seed)
        if p.kind == "package":
            if package is not None:
                errors.append(PolicyError(file, at, "only one package payer per policy"))
            if payers:
                errors.append(PolicyError(file, at, "the package payer must come first (it sets the bill)"))
            package = rp
        else:
            payers.append(rp)

    tilts = None
    if pf.tilts:
        tilts = validate(Tilts, pf.tilts, "tilts")
        if tilts:
            for pid in sorted(tilts.payer_ids() - all_ids):
                errors.append(PolicyError(file, "tilts", f"names payer {pid!r}, which this policy lacks"))
            known(tilts.population_names(), "tilts.population")

    default_copay = Decimal(0)
    if pf.catalogue_defaults:
        from pydantic import TypeAdapter

        try:
            default_copay = TypeAdapter(Ratio).validate_python(pf.catalogue_defaults.get("copay_first", "0"))
        except ValidationError as exc:
            errors.extend(pydantic_errors(file, exc, "catalogue_defaults.copay_first"))
    catalogue: dict[str, tuple[str, tuple[int, int] | None, int | None]] = {}
    for i, e in enumerate(pf.catalogue):
        if e.code in catalogue:
            errors.append(PolicyError(file, f"catalogue[{i}].code", f"item {e.code} listed twice"))
        copay = None
        if e.fee_class == FeeClass.B:
            copay = e.copay_first if e.copay_first is not None else default_copay
        elif e.copay_first:
            errors.append(PolicyError(file, f"catalogue[{i}].copay_first",
                                      "only class B has a co-pay-first share"))
        catalogue[e.code] = (e.fee_class.value, copay.as_integer_ratio() if copay else None, e.price_limit)

    treat_first = None
    if pf.treat_first is not None:
        tf = dict(pf.treat_first, region_code=pf.region_code)
        tf.setdefault("valid_from", pf.valid_from)
        treat_first = validate(TreatFirstRule, tf, "treat_first")
        if treat_first is not None and treat_first.valid_from > on:
            treat_first = None  # its own start (和田: payers from 2018, treat-first in force from 2019)

    operations = validate(Operations, pf.operations, "operations") if pf.operations else None
    for i, f in enumerate(operations.funds if operations else []):
        if f.payer not in all_ids:
            errors.append(PolicyError(file, f"operations.funds[{i}].payer", f"no payer {f.payer!r} in this policy"))

    hospitals = tuple(h for h in pf.hospitals if in_period(h.valid_from, h.valid_to, on))
    hospital_codes = [h.hospital_code for h in pf.hospitals]
    for i, c in enumerate(hospital_codes):
        if c in hospital_codes[:i]:
            errors.append(PolicyError(file, f"hospitals[{i}].hospital_code", f"{c} listed twice"))
    if errors:
        raise PolicyInvalid(errors)
    return ResolvedPolicy(
        id=pf.id, version=pf.version, region_code=pf.region_code, name=pf.name, on_date=on,
        valid_from=pf.valid_from, date_basis=pf.date_basis,
        ref=PolicyRef(id=pf.id, version=pf.version, parents=parents or []),
        payers=tuple(payers), package=package, catalogue=catalogue,
        catalogue_entries=tuple(pf.catalogue), default_copay=default_copay, tilts=tilts,
        hospitals=hospitals, hospital_entries=tuple(pf.hospitals), treat_first=treat_first, seeds=seeds or {},
        illustrative=IllustrativeIndex(illustrative_values(d)), operations=operations,
        plans=Plans(tuple(payers), package, tilts, default_copay, _tilt_chooser(tilts, populations)),
    )
