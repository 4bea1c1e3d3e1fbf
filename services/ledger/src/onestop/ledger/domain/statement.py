"""A stay's bill as the patient is shown it (pure; no I/O): the day's lines of the daily statement (一日清单,
000 §2.4: 每天向患者出示费用清单), the running totals by class, which cost-alert thresholds an estimate crosses
(启东 004 二(三)), and how a settlement differs from the discharge notice told before it.

A refund (退费) is shown with the line it refunds and counts on its own date; totals by class use the refunded
line's class, so a refund takes back from the class it was charged in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.domain.bill import Line

CLASSES = ("A", "B", "C")


@dataclass(frozen=True)
class DayLine:
    """A charge line of the day, with its refunds dated up to the day."""

    line: Line
    refunds: tuple[Line, ...]

    @property
    def net_fen(self) -> int:
        return self.line.amount_fen + sum(r.amount_fen for r in self.refunds)


@dataclass(frozen=True)
class LateRefund:
    """A refund dated this day of a line charged on an earlier day."""

    refund: Line
    of: Line


def day_lines(lines: Iterable[Line], day: date) -> tuple[list[DayLine], list[LateRefund]]:
    """The day's charge lines (posting order), each with its refunds up to the day, and the day's refunds of
    earlier days' lines, each with the line it refunds."""
    lines = list(lines)
    charges = {x.line_id: x for x in lines if x.refunds_line_id is None}
    refunds: dict[str, list[Line]] = {}
    late: list[LateRefund] = []
    for x in lines:
        if x.refunds_line_id is None or x.occurred_on > day:
            continue
        refunds.setdefault(x.refunds_line_id, []).append(x)
        of = charges.get(x.refunds_line_id)
        if x.occurred_on == day and of is not None and of.occurred_on < day:
            late.append(LateRefund(x, of))
    today = [DayLine(x, tuple(refunds.get(x.line_id, ()))) for x in charges.values() if x.occurred_on == day]
    return today, late


def day_total_fen(lines: Iterable[Line], day: date) -> int:
    """What the day's lines add, refunds dated that day taken off."""
    return sum(x.amount_fen for x in lines if x.occurred_on == day)


def class_totals(lines: Iterable[Line], through: date) -> dict[str, int]:
    """Net per class (A 甲, B 乙, C 丙) of every line dated up to `through`, settled parts included."""
    lines = list(lines)
    class_of = {x.line_id: x.fee_class for x in lines if x.refunds_line_id is None}
    out = dict.fromkeys(CLASSES, 0)
    for x in lines:
        if x.occurred_on > through:
            continue
        cls = class_of.get(x.refunds_line_id, x.fee_class) if x.refunds_line_id else x.fee_class
        out[cls] = out.get(cls, 0) + x.amount_fen
    return out


def unsettled_through(lines: Iterable[Line], through: date) -> list[Line]:
    """The unsettled lines an estimate as of `through` bills: charges dated up to it and their refunds dated up
    to it (a refund of a line outside is left out by `bill.net`)."""
    return [x for x in lines if x.settlement_id is None and x.occurred_on <= through]


def crossed(thresholds_fen: Sequence[int], estimated_total_fen: int, raised: Iterable[int]) -> list[int]:
    """The thresholds the estimate has reached that were not raised before, ascending."""
    done = set(raised)
    return sorted(t for t in thresholds_fen if t <= estimated_total_fen and t not in done)


def funds_fen(payers: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Per payer, its amount in fen (a quote's `payers`)."""
    out: dict[str, int] = {}
    for p in payers:
        out[p["payer"]] = out.get(p["payer"], 0) + parse_yuan(p["amount"])
    return out


@dataclass(frozen=True)
class Difference:
    """The settlement less the notice: positive where the patient or a fund pays more than was told."""

    total_fen: int
    self_pay_fen: int
    funds_fen: dict[str, int]


def difference(told_total_fen: int, told_self_pay_fen: int, told_funds: Mapping[str, int], settled_total_fen: int,
               settled_self_pay_fen: int, settled_funds: Mapping[str, int]) -> Difference:
    payers = list(told_funds) + [p for p in settled_funds if p not in told_funds]
    return Difference(settled_total_fen - told_total_fen, settled_self_pay_fen - told_self_pay_fen,
                      {p: settled_funds.get(p, 0) - told_funds.get(p, 0) for p in payers})


def notice_view(notice: dict[str, Any] | None, settled: dict[str, Any], funds: list[dict[str, Any]]
                ) -> dict[str, Any] | None:
    """How a final settlement differs from the latest notice told before it (the settlement less the notice)."""
    if notice is None:
        return None
    diff = difference(
        notice["total_fen"], notice["self_pay_fen"], {f["payer"]: f["amount_fen"] for f in notice["funds"]},
        settled["total_fen"], settled["self_pay_fen"], {f["payer"]: f["amount_fen"] for f in funds})
    return {"notice_id": notice["notice_id"], "told_at": notice["told_at"].isoformat(),
            "expected_discharge": notice["expected_discharge"].isoformat(),
            "total": format_fen(notice["total_fen"]), "self_pay": format_fen(notice["self_pay_fen"]),
            "difference": {"total": format_fen(diff.total_fen), "self_pay": format_fen(diff.self_pay_fen),
                           "funds": {p: format_fen(v) for p, v in diff.funds_fen.items()}}}
