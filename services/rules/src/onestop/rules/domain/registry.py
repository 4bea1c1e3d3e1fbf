"""The façade the HTTP layer calls: load, validate, resolve and publish policies.

Resolution: a region's own files if any, else its city (XXYY00), else its province (XX0000).
Among a region's versions, the highest version whose valid_from ≤ date is in force; a file with a
`parent` is merged over the parent's policy in force on the same date.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from onestop.contracts.quote import PolicyRef, QuoteRequest
from onestop.contracts.treat_first import TreatFirstRule
from onestop.rules.domain.policy import (
    CatalogueEntry,
    Hospital,
    NoPolicyInForce,
    ParsedPolicy,
    PolicyError,
    PolicyInvalid,
    breakpoints,
    merge,
    parse_policy_text,
)
from onestop.rules.domain.resolved import ResolvedPolicy, build

MAX_PARENTS = 4


BY_DATE_MAX = 50_000


def basis_dates(req: QuoteRequest) -> tuple[date, date]:
    """(admission, discharge) dates a quote's policy is chosen by; either defaults to the request's
    `date`. A part of a stay (中途结算) has its own: it starts on `part.starts_on` (part 1: at
    admission) and ends on the request's `date` (the final part: at discharge)."""
    stay, on = req.stay, req.date
    part = stay.part
    if part is None:
        return stay.admitted_at or on, stay.discharged_at or on
    start = part.starts_on or (stay.admitted_at if part.index == 1 else None) or on
    end = (stay.discharged_at if part.final else None) or on
    return start, end


def _candidates(region_code: str) -> list[str]:
    out = [region_code, region_code[:4] + "00", region_code[:2] + "0000"]
    return list(dict.fromkeys(out))


@dataclass(frozen=True)
class PolicyRegistry:
    versions: dict[str, tuple[ParsedPolicy, ...]] = field(default_factory=dict)
    errors: tuple[PolicyError, ...] = ()
    _cache: dict = field(default_factory=dict, compare=False, repr=False)
    # (region_code, date) → resolved policy: a quote's lookup is one dict probe (bounded: cleared when full)
    _by_date: dict = field(default_factory=dict, compare=False, repr=False)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(cls, directory: str | Path, *, strict: bool = True) -> PolicyRegistry:
        """Every `<region_code>/*.yaml` under `directory`. Invalid files are never put in force:
        with `strict` they raise PolicyInvalid, otherwise they are skipped and listed in `errors`."""
        root = Path(directory)
        reg = cls()
        errors: list[PolicyError] = []
        parsed: list[ParsedPolicy] = []
        for path in sorted(root.glob("*/*.yaml")):
            name = str(path.relative_to(root))
            p, errs = parse_policy_text(name, path.read_text(encoding="utf-8"))
            if p is not None and p.file.region_code != path.parent.name:
                errs = [PolicyError(name, "region_code", f"file sits under {path.parent.name}/")]
            errors.extend(errs)
            if p is not None and not errs:
                parsed.append(p)
        # parents first
        parsed.sort(key=lambda p: (p.file.parent is not None, p.file.region_code, p.version))
        for p in parsed:
            try:
                reg = reg.with_version(p)
            except PolicyInvalid as exc:
                errors.extend(exc.errors)
        if errors and strict:
            raise PolicyInvalid(errors)
        return PolicyRegistry(reg.versions, tuple(errors))

    def with_version(self, parsed: ParsedPolicy) -> PolicyRegistry:
        """A new registry with `parsed` added, after validating the effective policy at every date
        where any of its values (or its parent's) changes. Raises PolicyInvalid."""
        pid = parsed.file.region_code
        existing = self.versions.get(pid, ())
        if any(v.version >= parsed.version for v in existing):
            raise PolicyInvalid([PolicyError(parsed.filename, "version",
                                             f"version {parsed.version} of {pid} is not above "
                                             f"{max(v.version for v in existing)}")])
        candidate = PolicyRegistry({**self.versions, pid: (*existing, parsed)})
        errors = candidate._check(parsed)
        for vs in candidate.versions.values():  # children that inherit from this policy
            for child in vs:
                if child.file.parent == pid and not errors:
                    errors = candidate._check(child)
        if errors:
            raise PolicyInvalid(errors)
        return candidate

    def _check(self, parsed: ParsedPolicy) -> list[PolicyError]:
        f = parsed.file
        if f.parent is not None and f.parent not in self.versions:
            return [PolicyError(parsed.filename, "parent", f"no policy {f.parent} to inherit from")]
        dates = {f.valid_from} | {d for d in breakpoints(parsed.doc) if d > f.valid_from}
        if f.parent is not None:
            for v in self.versions[f.parent]:
                dates |= {d for d in breakpoints(v.doc) if d > f.valid_from}
        errors: list[PolicyError] = []
        for d in sorted(dates):
            try:
                self._build(parsed, d)
            except PolicyInvalid as exc:
                errors.extend(e for e in exc.errors if e not in errors)
            except NoPolicyInForce as exc:
                errors.append(PolicyError(parsed.filename, "parent", str(exc)))
        return errors

    # ------------------------------------------------------------------ resolution

    def _version_at(self, region_code: str, on: date) -> ParsedPolicy | None:
        live = [v for v in self.versions.get(region_code, ()) if v.file.valid_from <= on]
        return max(live, key=lambda v: v.version) if live else None

    def _effective(self, parsed: ParsedPolicy, on: date, depth: int = 0) -> tuple[dict, list[PolicyRef]]:
        if parsed.file.parent is None:
            return parsed.doc, []
        parent = self._version_at(parsed.file.parent, on)
        if parent is None or depth > MAX_PARENTS:
            raise NoPolicyInForce(parsed.file.parent, on)
        pdoc, prefs = self._effective(parent, on, depth + 1)
        return merge(pdoc, parsed.doc), [PolicyRef(id=parent.id, version=parent.version), *prefs]

    def _build(self, parsed: ParsedPolicy, on: date) -> ResolvedPolicy:
        doc, parents = self._effective(parsed, on)
        return build(doc, on, parsed.filename, parents, parsed.seeds)

    def resolve(self, region_code: str, on_date: date) -> ResolvedPolicy:
        """The policy in force for `region_code` (or its city / province) on `on_date`."""
        hit = self._by_date.get((region_code, on_date))
        if hit is None:
            hit = self._resolve(region_code, on_date)
            if len(self._by_date) >= BY_DATE_MAX:
                self._by_date.clear()
            self._by_date[(region_code, on_date)] = hit
        return hit

    def resolve_stay(self, region_code: str, admission: date, discharge: date) -> ResolvedPolicy:
        """The policy for a stay (or a part of one, `basis_dates`): the version in force on the
        discharge date, unless it counts by admission date (`date_basis`): then the one in force on
        the admission date."""
        rp = self.resolve(region_code, discharge)
        if rp.date_basis == "admission" and admission != discharge:
            return self.resolve(region_code, admission)
        return rp

    def _resolve(self, region_code: str, on_date: date) -> ResolvedPolicy:
        for code in _candidates(region_code):
            parsed = self._version_at(code, on_date)
            if parsed is None:
                continue
            doc, parents = self._effective(parsed, on_date)
            bps = [d for d in breakpoints(doc) if d <= on_date]
            key = (code, parsed.version, tuple((p.id, p.version) for p in parents), max(bps, default=None))
            hit = self._cache.get(key)
            if hit is None:
                hit = build(doc, on_date, parsed.filename, parents, parsed.seeds)
                self._cache[key] = hit
            return hit
        raise NoPolicyInForce(region_code, on_date)

    def hospitals(self, region_code: str, on_date: date | None = None, *, upcoming: bool = False
                  ) -> list[Hospital]:
        """Designated hospitals of the region (inherited ones included) in force on `on_date`. With
        `upcoming`, also those whose own start is later (启东's pilot hospitals start in the second and
        third quarter), each with its dates, but not those already ended. No date: the latest version's
        start, upcoming ones included."""
        if on_date is None:
            upcoming = True
            vs = self.versions.get(region_code) or next(
                (self.versions[c] for c in _candidates(region_code) if c in self.versions), ())
            if not vs:
                raise NoPolicyInForce(region_code, date.max)
            on_date = max(v.file.valid_from for v in vs)
        rp = self.resolve(region_code, on_date)
        if not upcoming:
            return list(rp.hospitals)
        return [h for h in rp.hospital_entries if h.valid_to is None or h.valid_to >= on_date]

    def catalogue(self, region_code: str, on_date: date) -> list[CatalogueEntry]:
        return list(self.resolve(region_code, on_date).catalogue_entries)

    def treat_first(self, region_code: str, on_date: date) -> TreatFirstRule:
        rule = self.resolve(region_code, on_date).treat_first
        if rule is None:
            raise NoPolicyInForce(region_code, on_date)
        return rule

    def policies(self) -> list[tuple[str, int, date]]:
        return sorted((v.id, v.version, v.file.valid_from) for vs in self.versions.values() for v in vs)


def validate_policy_text(filename: str, yaml_text: str,
                         registry: PolicyRegistry | None = None) -> list[PolicyError]:
    """Every reason the file cannot be put in force ([] = valid). With a registry, the file is also
    checked merged over its parent and against the versions already published."""
    parsed, errors = parse_policy_text(filename, yaml_text)
    if parsed is None:
        return errors
    reg = registry or PolicyRegistry()
    if parsed.file.parent is not None and registry is None:
        return []  # a child can only be checked in full against its parent
    try:
        reg.with_version(parsed)
    except PolicyInvalid as exc:
        return exc.errors
    return []
