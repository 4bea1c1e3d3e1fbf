"""Which policy values a quote used that no seed states (issue 11 point 7).

Parsing marks every checked number whose nearest annotation is `illustrative: true`
(policy.IllustrativeStr / IllustrativeInt); the mark travels with the value through inheritance
and dating. Here the resolved document is indexed by path — payers by id, catalogue items by code,
packages by ICD-10 (`payers.basic.params.inpatient.county.deductible`) — and a quote's policy lines
(its trace's `lines`) pick the values under them, so an operator or a bureau can tell invented
numbers from policy without reading the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from onestop.contracts.enums import FeeClass
from onestop.contracts.quote import IllustrativeValue
from onestop.rules.domain.policy import IllustrativeInt, IllustrativeStr

_KEYS = ("id", "code", "icd10")
_NAMES = frozenset({*_KEYS, "hospital_code", "region_code", "nhsa_code"})  # digits, but names, not numbers
_B = FeeClass.B


def _walk(node: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in _NAMES:
                _walk(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            key = next((v[k] for k in _KEYS if isinstance(v, dict) and isinstance(v.get(k), str)), None)
            _walk(v, f"{path}.{key}" if key else f"{path}[{i}]", out)
    elif isinstance(node, IllustrativeStr | IllustrativeInt):
        out[path] = str(node)


def illustrative_values(doc: dict[str, Any]) -> dict[str, str]:
    """Every illustrative value of a resolved (dated, merged) document, by path."""
    out: dict[str, str] = {}
    _walk(doc, "", out)
    return out


class IllustrativeIndex:
    """A resolved policy's illustrative values, and the ones a quote's policy lines used (memoised:
    a policy has few distinct sets of lines)."""

    __slots__ = ("values", "by_insurance", "catalogue", "default_copay", "_memo", "answers")

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.by_insurance = {p.split(".")[1] for p in values if p.split(".")[2:3] == ["by_insurance"]}
        self.catalogue: dict[str, list[tuple[str, str]]] = {}
        for p, v in values.items():
            if p.startswith("catalogue."):
                self.catalogue.setdefault(p.split(".")[1], []).append((p, v))
        self.default_copay = values.get("catalogue_defaults.copay_first")
        self._memo: dict[tuple, tuple[tuple[str, str], ...]] = {}
        self.answers: dict[tuple, tuple[IllustrativeValue, ...]] = {}

    def _under(self, line: str, insurance: str) -> list[tuple[str, str]]:
        parts = line.split(".")
        if parts[0] != "payers" or len(parts) < 2:
            # tilts.* and the like: the values under a named line; a bare part name ("tilts") names none
            return [] if len(parts) == 1 else self._prefixed(line)
        pid = parts[1]
        root = f"payers.{pid}.by_insurance.{insurance}" if pid in self.by_insurance else f"payers.{pid}.params"
        if len(parts) == 2:  # the payer itself: the scalars of its parameters (a cap, a ratio, an amount)
            return [(p, v) for p, v in self.values.items()
                    if p.startswith(root + ".") and "." not in p[len(root) + 1:] and "[" not in p[len(root) + 1:]]
        if parts[2] == "params":
            line = ".".join([root, *parts[3:]])
        return self._prefixed(line)

    def _prefixed(self, line: str) -> list[tuple[str, str]]:
        return [(p, v) for p, v in self.values.items() if p == line or p.startswith((line + ".", line + "["))]

    def used(self, lines: tuple[str, ...], insurance: str) -> tuple[tuple[str, str], ...]:
        key = (lines, insurance)
        hit = self._memo.get(key)
        if hit is None:
            found: dict[str, str] = {}
            for line in lines:
                found.update(self._under(line, insurance))
            hit = self._memo[key] = tuple(sorted(found.items()))
        return hit

    def of_bill(self, lines: Iterable[Any], known: dict[str, Any]) -> list[tuple[str, str]]:
        """The catalogue's illustrative values for the bill's codes, and the default co-pay-first share
        where a class B line's code is not in the catalogue."""
        if not self.catalogue and self.default_copay is None:
            return []
        out: list[tuple[str, str]] = []
        seen: set[str] = set()
        default_used = False
        cat = self.catalogue
        for ln in lines:
            code = ln.code
            if code in cat:
                if code not in seen:
                    seen.add(code)
                    out.extend(cat[code])
            elif not default_used and code not in known and ln.fee_class is _B:
                default_used = True
        if default_used and self.default_copay is not None:
            out.append(("catalogue_defaults.copay_first", self.default_copay))
        return out


def quote_illustrative(index: IllustrativeIndex, lines: tuple[str, ...], insurance: str,
                       bill: list[tuple[str, str]]) -> list[IllustrativeValue]:
    """The quote's `illustrative` list; its items are built once per distinct answer and shared
    (they are never changed after construction)."""
    key = (lines, insurance, tuple(bill))
    hit = index.answers.get(key)
    if hit is None:
        pairs = index.used(lines, insurance)
        if bill:
            pairs = tuple(sorted(set(pairs) | set(bill)))
        if len(index.answers) >= 4096:  # distinct bills can grow it: bounded
            index.answers.clear()
        hit = index.answers[key] = tuple(IllustrativeValue(path=p, value=v) for p, v in pairs)
    return list(hit)
