"""Policy files: their schema, annotations (seed / illustrative), periods and inheritance.

A policy file is YAML (see services/rules/policies/). Numbers that drive money sit in `params`,
`tilts`, `catalogue`, `budget` and `operations` and must each say where they come from: either the seed
clause (`seed: "003 二(三)1"`) or `illustrative: true`, given on the value itself
(`{value: "0.95", seed: "…"}`) or on any mapping that encloses it. A value may change over time:
`{by_date: [{from: 2017-01-01, value: "0.80"}, {from: 2019-01-01, value: "0.85"}]}`; a payer or
hospital may carry `valid_from` / `valid_to`.

A county file names its `parent` (its city or province); the effective policy is the parent's
with the child's parts merged over it (payers by id, catalogue by code, hospitals by code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

import yaml  # type: ignore[import-untyped]  # no stubs in the lock; only safe_load is used
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from onestop.contracts.enums import Category, FeeClass, HospitalLevel, Household, Insurance, StayKind
from onestop.contracts.money import Yuan
from onestop.contracts.quote import DiseaseClass
from onestop.rules.domain.conditions import Condition, Population

META_KEYS = frozenset({"seed", "illustrative", "note"})
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
PAYER_ID = r"^[a-z][a-z0-9_]*$"
FundCode = Annotated[str, Field(pattern=r"^\d{6}$")]


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class PolicyError:
    """One reason a policy cannot be put in force."""

    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '<root>'}: {self.reason}"


class PolicyInvalid(ValueError):
    def __init__(self, errors: list[PolicyError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors[:10]))


class NoPolicyInForce(LookupError):
    def __init__(self, region_code: str, on_date: date):
        self.region_code, self.date = region_code, on_date
        super().__init__(f"no policy in force for region {region_code} on {on_date.isoformat()}")


def loc_path(loc: tuple | list, prefix: str = "") -> str:
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def pydantic_errors(file: str, exc: ValidationError, prefix: str = "") -> list[PolicyError]:
    return [PolicyError(file, loc_path(e["loc"], prefix), e["msg"]) for e in exc.errors()]


# --------------------------------------------------------------------------- file models


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Hospital(_M):
    hospital_code: str = Field(min_length=1)
    name: str
    level: HospitalLevel
    public: bool = True
    region_code: str = Field(pattern=r"^\d{6}$")
    illustrative: bool = False
    seed: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None


class CatalogueEntry(_M):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    code: str = Field(min_length=1)
    name: str = ""
    fee_class: FeeClass = Field(alias="class")
    copay_first: Decimal | None = Field(None, ge=0, le=1)
    price_limit: Yuan | None = Field(None, ge=0)
    illustrative: bool = False
    seed: str | None = None


class Conditions(_M):
    """A payer applies when every given condition holds (lists: any of; empty: anyone)."""

    categories: list[Category] = Field(default_factory=list)
    disease_class: list[DiseaseClass] = Field(default_factory=list)
    hospital_levels: list[HospitalLevel] = Field(default_factory=list)
    stay_kinds: list[StayKind] = Field(default_factory=list)
    insurance: list[Insurance] = Field(default_factory=list)
    labour: bool | None = None
    confirmed_unable_to_pay: bool | None = None
    disease_codes: list[str] = Field(default_factory=list, description="ICD-10 prefixes")
    household: list[Household] = Field(default_factory=list, description="person.household any of")
    chronic: bool | None = Field(None, description="stay.chronic: an outpatient 门诊慢特病 visit")
    population: list[str] = Field(default_factory=list, description="member of any of these `populations`")
    match: list[Condition] = Field(default_factory=list, description="every one of {field, op, value}")


Kind = Literal["deductible_ratio_cap", "tiers", "ratio_cap", "gap_fill", "share", "grant", "package"]


class PayerSpec(_M):
    """A payer as written in a file; in a child file only `id` and the changed fields are needed."""

    id: str = Field(pattern=PAYER_ID)
    name: str | None = None
    kind: Kind | None = None
    agency: str | None = None
    when: Conditions | None = None
    replaces: list[str] | None = None
    params: dict[str, Any] | None = None
    by_insurance: dict[Insurance, dict[str, Any]] | None = None
    nhsa_code: FundCode | None = Field(None, description="one fund code for every insurance (older spelling)")
    fund_pay_type: FundCode | dict[Insurance, FundCode] | None = Field(
        None, description="national fund code (fund_pay_type), one or per insurance; default: the national table")
    budget: Yuan | None = Field(None, description="the fund's size, informational")
    valid_from: date | None = None
    valid_to: date | None = None
    seed: str | None = None
    illustrative: bool = False
    note: str | None = None


class PolicyFile(_M):
    id: str = Field(min_length=1)
    version: int = Field(ge=1)
    region_code: str = Field(pattern=r"^\d{6}$")
    name: str
    level: Literal["province", "city", "prefecture", "county"]
    parent: str | None = Field(None, pattern=r"^\d{6}$")
    valid_from: date
    date_basis: Literal["admission", "discharge"] = "discharge"
    seed: str
    note: str | None = None
    hospitals: list[Hospital] = Field(default_factory=list)
    catalogue: list[CatalogueEntry] = Field(default_factory=list)
    catalogue_defaults: dict[str, Any] | None = None
    treat_first: dict[str, Any] | None = None
    tilts: dict[str, Any] | None = None
    populations: dict[str, Population] | None = None
    operations: dict[str, Any] | None = None  # checked by operations.Operations when resolved
    payers: list[PayerSpec] = Field(default_factory=list)
    payer_order: list[str] | None = None


# --------------------------------------------------------------------------- annotations


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int | float | Decimal):
        return True
    return isinstance(v, str) and bool(_NUMBER.match(v.strip()))


def _covered(node: dict) -> bool:
    return bool(node.get("seed")) or node.get("illustrative") is True


class IllustrativeStr(str):
    """A number a seed does not state (`illustrative: true`): it stays a str for every reader, and
    the resolved policy lists where such values are (`illustrative.illustrative_values`)."""

    __slots__ = ()


class IllustrativeInt(int):
    """As IllustrativeStr, for a number written as a YAML integer (days, counts)."""

    __slots__ = ()


yaml.SafeDumper.add_representer(IllustrativeStr, yaml.SafeDumper.represent_str)
yaml.SafeDumper.add_representer(IllustrativeInt, yaml.SafeDumper.represent_int)


def _mark(node: Any) -> Any:
    if isinstance(node, int) and not isinstance(node, bool):
        return IllustrativeInt(node)
    return IllustrativeStr(node) if isinstance(node, str) else node


def _illustrative_here(node: dict, outer: bool) -> bool:
    """The nearest annotation wins: a seed on a value inside an illustrative mapping is the seed's."""
    if node.get("seed"):
        return False
    return True if node.get("illustrative") is True else outer


def strip(node: Any, path: str, *, covered: bool, check: bool, meta: bool,
          errors: list[str], seeds: dict[str, str], illus: bool = False) -> Any:
    """Remove annotation wrappers; with `check`, every number must be covered by an annotation.

    `meta` also removes seed/illustrative/note keys of plain mappings (inside params and tilts).
    `errors` collects "path\\treason"; `seeds` maps paths to the seed clause that names them.
    A checked number whose nearest annotation is `illustrative: true` comes back marked
    (IllustrativeStr / IllustrativeInt), so merging and dating carry the mark with the value.
    """
    if isinstance(node, float):
        errors.append(f"{path}\twrite numbers as strings (\"0.80\", \"300.00\"), not floats")
        return node
    if isinstance(node, list):
        return [strip(v, f"{path}[{i}]", covered=covered, check=check, meta=meta, errors=errors,
                      seeds=seeds, illus=illus) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        if check and _is_number(node):
            if not covered:
                errors.append(f"{path}\tnumber {node!r} names no seed and is not marked illustrative: true")
            elif illus:
                return _mark(node)
        return node
    here = covered or _covered(node)
    ill = _illustrative_here(node, illus)
    if node.get("seed"):
        seeds[path] = str(node["seed"])
    if "value" in node and set(node) <= META_KEYS | {"value"}:
        return strip(node["value"], path, covered=here, check=check, meta=meta, errors=errors, seeds=seeds,
                     illus=ill)
    if "by_date" in node:
        extra = set(node) - META_KEYS - {"by_date"}
        entries = node["by_date"]
        if extra or not isinstance(entries, list) or not entries:
            errors.append(f"{path}\tby_date must be a non-empty list of {{from, value}} and nothing else")
            return node
        out = []
        for i, e in enumerate(entries):
            p = f"{path}.by_date[{i}]"
            if not isinstance(e, dict) or "from" not in e or "value" not in e:
                errors.append(f"{p}\teach period needs `from` (a date) and `value`")
                continue
            if not isinstance(e["from"], date):
                errors.append(f"{p}.from\tnot a date (YYYY-MM-DD)")
                continue
            if e.get("seed"):
                seeds[p] = str(e["seed"])
            v = strip(e["value"], p + ".value", covered=here or _covered(e), check=check, meta=meta,
                      errors=errors, seeds=seeds, illus=_illustrative_here(e, ill))
            out.append({"from": e["from"], "value": v})
        return {"by_date": sorted(out, key=lambda e: e["from"])}
    fields: dict[str, Any] = {}
    for k, v in node.items():
        if meta and k in META_KEYS:
            continue
        sub = f"{path}.{k}" if path else str(k)
        sub_check = check and k not in META_KEYS
        fields[k] = strip(v, sub, covered=here, check=sub_check, meta=meta, errors=errors, seeds=seeds,
                          illus=ill)
    return fields


def _as_date(v: Any) -> date | None:
    """A date as YAML gives it, or quoted ("2021-01-01", as an API-added hospital is written back)."""
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        try:
            return date.fromisoformat(v)
        except ValueError:
            return None  # the schema check names the field
    return None


def breakpoints(node: Any, acc: set[date] | None = None) -> set[date]:
    """Every date at which some value of the document changes."""
    acc = set() if acc is None else acc
    if isinstance(node, dict):
        if "by_date" in node and isinstance(node["by_date"], list):
            acc.update(e["from"] for e in node["by_date"])
        for k, v in node.items():
            if k in ("valid_from", "valid_to"):
                d = _as_date(v)
                if d is not None:
                    acc.add(d)
            else:
                breakpoints(v, acc)
    elif isinstance(node, list):
        for v in node:
            breakpoints(v, acc)
    return acc


def at_date(node: Any, on: date, path: str, errors: list[str]) -> Any:
    """The document as in force on `on`: each by_date replaced by the value of its period."""
    if isinstance(node, list):
        return [at_date(v, on, f"{path}[{i}]", errors) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    if "by_date" in node:
        chosen = [e for e in node["by_date"] if e["from"] <= on]
        if not chosen:
            errors.append(f"{path}\tno value in force on {on.isoformat()} (first period starts later)")
            return None
        return at_date(chosen[-1]["value"], on, path, errors)
    return {k: at_date(v, on, f"{path}.{k}" if path else str(k), errors) for k, v in node.items()}


# --------------------------------------------------------------------------- parsing


@dataclass
class ParsedPolicy:
    """One policy file, checked on its own, with annotations stripped."""

    filename: str
    file: PolicyFile
    doc: dict[str, Any]
    seeds: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.file.id

    @property
    def version(self) -> int:
        return self.file.version


def parse_policy_text(filename: str, text: str) -> tuple[ParsedPolicy | None, list[PolicyError]]:
    """Parse and check one file on its own (the effective policy is checked by the registry)."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else ""
        return None, [PolicyError(filename, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(raw, dict):
        return None, [PolicyError(filename, "", "a policy file is a mapping at the top level")]
    errs: list[str] = []
    seeds: dict[str, str] = {}
    doc: dict[str, Any] = {}
    checked = {"payers", "tilts", "catalogue", "catalogue_defaults", "operations"}
    for key, value in raw.items():
        if key in checked:
            doc[key] = _strip_part(key, value, errs, seeds)
        else:
            doc[key] = strip(value, key, covered=True, check=False, meta=False, errors=errs, seeds=seeds)
    errors = [PolicyError(filename, *e.split("\t", 1)) for e in errs]
    try:
        pf = PolicyFile.model_validate(_first_values(doc))
    except ValidationError as exc:
        return None, errors + pydantic_errors(filename, exc)
    if pf.region_code != pf.id:
        errors.append(PolicyError(filename, "id", f"policy id {pf.id} must equal its region_code"))
    ids = [p.id for p in pf.payers]
    for i, pid in enumerate(ids):
        if pid in ids[:i]:
            errors.append(PolicyError(filename, f"payers[{i}].id", f"payer id {pid!r} appears twice"))
    if errors:
        return None, errors
    return ParsedPolicy(filename, pf, doc, seeds), []


def _strip_part(key: str, value: Any, errs: list[str], seeds: dict[str, str]) -> Any:
    if key == "payers" and isinstance(value, list):
        out = []
        for i, p in enumerate(value):
            if not isinstance(p, dict):
                out.append(p)
                continue
            q = {}
            for k, v in p.items():
                sub = f"payers[{i}].{k}"
                if k in ("params", "by_insurance", "budget"):
                    cov = _covered(p) if k == "budget" else False
                    ill = _illustrative_here(p, False) if k == "budget" else False
                    q[k] = strip(v, sub, covered=cov, check=True, meta=True, errors=errs, seeds=seeds, illus=ill)
                else:
                    q[k] = strip(v, sub, covered=True, check=False, meta=False, errors=errs, seeds=seeds)
            out.append(q)
        return out
    if key == "catalogue" and isinstance(value, list):
        return [strip(e, f"catalogue[{i}]", covered=False, check=True, meta=False, errors=errs, seeds=seeds)
                for i, e in enumerate(value)]
    return strip(value, key, covered=False, check=True, meta=True, errors=errs, seeds=seeds)


def _first_values(node: Any) -> Any:
    """For the file-level schema check: each by_date as its first value (all are checked later)."""
    if isinstance(node, list):
        return [_first_values(v) for v in node]
    if isinstance(node, dict):
        if "by_date" in node and isinstance(node["by_date"], list) and node["by_date"]:
            return _first_values(node["by_date"][0]["value"])
        return {k: _first_values(v) for k, v in node.items()}
    return node


# --------------------------------------------------------------------------- inheritance


def _deep_merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict) and "by_date" not in over and "by_date" not in base:
        out = dict(base)
        for k, v in over.items():
            out[k] = _deep_merge(base.get(k), v) if k in base else v
        return out
    return over


def merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """The effective document of `child` over its (already effective) `parent`."""
    out = {k: v for k, v in parent.items() if k not in ("payer_order",)}
    for k, v in child.items():
        if k == "payers":
            by_id = {p["id"]: p for p in parent.get("payers", [])}
            order = [p["id"] for p in parent.get("payers", [])]
            for p in v:
                if p["id"] in by_id:
                    by_id[p["id"]] = _deep_merge(by_id[p["id"]], p)
                else:
                    by_id[p["id"]] = p
                    order.append(p["id"])
            out["payers"] = [by_id[i] for i in order]
        elif k in ("hospitals", "catalogue"):
            key = "hospital_code" if k == "hospitals" else "code"
            items = {e[key]: e for e in parent.get(k, [])}
            items.update({e[key]: e for e in v})
            out[k] = list(items.values())
        elif k in ("tilts", "catalogue_defaults", "populations", "operations") and v is not None:
            out[k] = _deep_merge(parent.get(k) or {}, v)
        else:
            out[k] = v
    if child.get("payer_order"):
        by_id = {p["id"]: p for p in out.get("payers", [])}
        out["payers"] = [by_id[i] for i in child["payer_order"] if i in by_id] + [
            p for p in out.get("payers", []) if p["id"] not in child["payer_order"]
        ]
    return out
