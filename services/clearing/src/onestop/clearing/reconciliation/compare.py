"""对总账/对明细 (NHSA 3201/3202), the pure core: the ledger's settlements against clearing's postings.

Both sides are reduced to legs, one per (settlement, fund), in fen: the ledger's from its settlements list (a
fund's amount in a settlement; a reversal's negative), clearing's from its transfers (an `advance` leg positive,
a `reversal` leg negative: a correction of an advance). Totals and counts are compared per hospital × fund ×
month; a group whose totals or counts differ gets its per-settlement detail (`mismatches`), the others none.
A fund with a zero amount posts nothing (domain/advances.py), so a zero leg is no leg on either side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    missing_in_clearing = "missing_in_clearing"
    missing_in_ledger = "missing_in_ledger"
    amount = "amount"


@dataclass(frozen=True, order=True)
class GroupKey:
    hospital_code: str
    payer: str
    region_code: str  # the fund's insurance region
    period: str  # YYYY-MM (NHSA setlym)


@dataclass(frozen=True)
class Leg:
    settlement_id: str
    key: GroupKey
    amount: int  # fen


@dataclass
class Side:
    count: int = 0
    amount: int = 0


@dataclass
class Group:
    key: GroupKey
    ledger: Side = field(default_factory=Side)
    clearing: Side = field(default_factory=Side)

    @property
    def equal(self) -> bool:
        return self.ledger == self.clearing


@dataclass(frozen=True)
class Mismatch:
    settlement_id: str
    key: GroupKey
    ledger_amount: int | None
    clearing_amount: int | None
    kind: Kind


@dataclass
class Result:
    groups: list[Group]
    mismatches: list[Mismatch]

    @property
    def equal(self) -> bool:
        return all(g.equal for g in self.groups)


def _by_leg(legs: Iterable[Leg]) -> dict[tuple[str, str, str], Leg]:
    """Legs by (settlement, payer, region), summed should one appear twice (it cannot on either side today)."""
    out: dict[tuple[str, str, str], Leg] = {}
    for leg in legs:
        if leg.amount == 0:
            continue
        k = (leg.settlement_id, leg.key.payer, leg.key.region_code)
        held = out.get(k)
        out[k] = leg if held is None else Leg(leg.settlement_id, held.key, held.amount + leg.amount)
    return out


def compare(ledger: Iterable[Leg], clearing: Iterable[Leg]) -> Result:
    """Totals per group for both sides, detail for the groups that differ.

    A clearing leg whose settlement the ledger also lists is counted in the ledger's group (its month is the
    ledger's `period`, which clearing does not store), so the same leg never lands in two groups."""
    lg, cl = _by_leg(ledger), _by_leg(clearing)
    cl = {k: (Leg(c.settlement_id, lg[k].key, c.amount) if k in lg else c) for k, c in cl.items()}
    groups: dict[GroupKey, Group] = {}
    for legs, side in ((lg, "ledger"), (cl, "clearing")):
        for leg in legs.values():
            g = groups.setdefault(leg.key, Group(leg.key))
            s: Side = getattr(g, side)
            s.count += 1
            s.amount += leg.amount
    differing = {k for k, g in groups.items() if not g.equal}
    mismatches = []
    for k in sorted(set(lg) | set(cl)):
        a, b = lg.get(k), cl.get(k)
        key = (a or b).key  # type: ignore[union-attr]
        if key not in differing or (a and b and a.amount == b.amount):
            continue
        kind = Kind.missing_in_clearing if b is None else Kind.missing_in_ledger if a is None else Kind.amount
        mismatches.append(Mismatch(k[0], key, a.amount if a else None, b.amount if b else None, kind))
    mismatches.sort(key=lambda m: (m.key, m.settlement_id))
    return Result(sorted(groups.values(), key=lambda g: g.key), mismatches)
