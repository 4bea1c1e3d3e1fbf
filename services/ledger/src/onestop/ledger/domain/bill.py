"""A stay's bill as a quote sees it: refunds netted against their lines, the part a settlement takes, and the
quote request built from the stay's snapshot (pure; no I/O).

- A refund (退费, NHSA 2301 `init_feedetl_sn`) is a line of its own with a negative amount naming the line it
  refunds; before quoting it is netted against that line, which never goes below zero (DESIGN §4).
- A settlement takes the stay's lines not yet taken by an earlier part; a mid-stay part (中途结算) only those dated
  up to its last day, so a line posted late but dated inside a settled part goes into the next part.
- A later part carries what the earlier ones bore: per payer the per-stay deductible (`deductible_borne`) and
  the billed total (`billed_before`), so the stay is charged what one settlement of it would charge (rules
  decides how, DESIGN §4; issue 11).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from onestop.contracts.money import format_fen, parse_yuan


@dataclass(frozen=True)
class Line:
    line_id: str
    code: str
    name: str
    fee_class: str
    amount_fen: int  # negative for a refund
    occurred_at: datetime
    occurred_on: date
    quantity: Decimal | None = None
    unit_price_fen: int | None = None
    refunds_line_id: str | None = None
    settlement_id: str | None = None


@dataclass(frozen=True)
class NetLine:
    """A line with its refunds taken off: what the quote bills."""

    line: Line
    amount_fen: int
    refunded_fen: int


def net(lines: Iterable[Line]) -> list[NetLine]:
    """The charge lines in posting order, each less its refunds; fully refunded lines are left out."""
    charges: list[Line] = []
    refunded: dict[str, int] = {}
    for line in lines:
        if line.refunds_line_id is None:
            charges.append(line)
        else:
            refunded[line.refunds_line_id] = refunded.get(line.refunds_line_id, 0) - line.amount_fen
    out = []
    for line in charges:
        back = refunded.get(line.line_id, 0)
        if line.amount_fen - back > 0:
            out.append(NetLine(line, line.amount_fen - back, back))
    return out


def part_lines(lines: Iterable[Line], through: date | None) -> list[Line]:
    """The unsettled lines a settlement takes: all of them, or (a mid-stay part) those dated up to `through`.

    A refund goes with the line it refunds, whatever its own date."""
    unsettled = [x for x in lines if x.settlement_id is None]
    if through is None:
        return unsettled
    taken = {x.line_id for x in unsettled if x.refunds_line_id is None and x.occurred_on <= through}
    return [x for x in unsettled if (x.refunds_line_id or x.line_id) in taken]


def total_fen(lines: Iterable[Line]) -> int:
    return sum(x.amount_fen for x in lines)


@dataclass(frozen=True)
class EarlierPart:
    """What a settled (not reversed) earlier part of the stay bore."""

    through: date
    total_fen: int
    deductible_borne: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Part:
    index: int
    final: bool
    starts_on: date
    deductible_borne: dict[str, int]
    billed_before_fen: int

    def wire(self) -> dict[str, Any] | None:
        """The quote's `stay.part`; None for a stay settled once (one part, the final one)."""
        if self.index == 1 and self.final:
            return None
        return {"index": self.index, "final": self.final, "starts_on": self.starts_on.isoformat(),
                "deductible_borne": {k: format_fen(v) for k, v in self.deductible_borne.items() if v},
                "billed_before": format_fen(self.billed_before_fen)}


def next_part(admitted_on: date, earlier: Sequence[EarlierPart], *, final: bool) -> Part:
    borne: dict[str, int] = {}
    for p in earlier:
        for payer, fen in p.deductible_borne.items():
            borne[payer] = borne.get(payer, 0) + fen
    starts = admitted_on if not earlier else max(p.through for p in earlier) + timedelta(days=1)
    return Part(index=len(earlier) + 1, final=final, starts_on=max(starts, admitted_on),
                deductible_borne=borne, billed_before_fen=sum(p.total_fen for p in earlier))


def deductible_borne(quote: Mapping[str, Any]) -> dict[str, int]:
    """Per payer, the deductible the person bore in a quote's steps (its `trace.deductible_borne`), in fen."""
    out: dict[str, int] = {}
    for p in quote.get("payers", []):
        fen = parse_yuan(p.get("trace", {}).get("deductible_borne", "0"))
        if fen:
            out[p["payer"]] = fen
    return out


def quote_request(stay: Mapping[str, Any], lines: Sequence[NetLine], accumulators: Mapping[str, Any], *,
                  on: date, admitted_on: date, part: Part, disease_code: str | None,
                  confirmed_unable_to_pay: bool = False) -> dict[str, Any]:
    """The pinned quote shape (DESIGN §9.1) from the stay's snapshot; `on` is the part's last day."""
    return {
        "region_code": stay["insurance_region_code"],
        "date": on.isoformat(),
        "person": stay["person_facts"],
        "stay": {"kind": stay["kind"], "hospital_level": stay["hospital_level"],
                 "disease_code": disease_code, "confirmed_unable_to_pay": confirmed_unable_to_pay,
                 "hospital_code": stay["hospital_code"], "chronic": stay["chronic"],
                 "admitted_at": admitted_on.isoformat(), "discharged_at": on.isoformat(), "part": part.wire()},
        "accumulators": accumulators,
        "lines": [_wire(n) for n in lines],
    }


def _wire(n: NetLine) -> dict[str, Any]:
    x = n.line
    out: dict[str, Any] = {"line_id": x.line_id, "code": x.code, "name": x.name, "class": x.fee_class,
                           "amount": format_fen(n.amount_fen), "occurred_at": x.occurred_at.isoformat()}
    if not n.refunded_fen:  # a partly refunded line's quantity and price no longer describe its amount
        if x.quantity is not None:
            out["quantity"] = format(x.quantity.normalize(), "f")
        if x.unit_price_fen is not None:
            out["unit_price"] = format_fen(x.unit_price_fen)
    return out
