"""A repayment plan's arithmetic (延期、分期还款, 000 §3, 001 三(三)): what makes a plan valid, and each instalment's
status from what was paid towards the plan, paid in due-date order (the oldest instalment first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from onestop.contracts.money import format_fen


@dataclass(frozen=True)
class Instalment:
    number: int
    due_date: date
    amount: int  # fen


@dataclass(frozen=True)
class InstalmentStatus:
    number: int
    due_date: date
    amount: int
    paid: int
    status: str  # paid | due | overdue


def problems(instalments: list[tuple[date, int]], owed: int, settled_on: date, today: date) -> list[tuple[str, str]]:
    """(field, reason) for each way the instalments are not a plan for `owed`; [] when they are."""
    out: list[tuple[str, str]] = []
    for i, (due, amount) in enumerate(instalments):
        if amount <= 0:
            out.append((f"instalments.{i}.amount", "must be above 0.00"))
        if due < settled_on:
            out.append((f"instalments.{i}.due_date", f"before the settlement date {settled_on.isoformat()}"))
        elif due < today:
            out.append((f"instalments.{i}.due_date", "in the past"))
        if i and due <= instalments[i - 1][0]:
            out.append((f"instalments.{i}.due_date", "not after the previous instalment's"))
    total = sum(a for _d, a in instalments)
    if total != owed:
        out.append(("instalments", f"add up to {format_fen(total)}, but {format_fen(owed)} is owed"))
    return out


def statuses(instalments: list[Instalment], paid_towards: int, as_of: date) -> list[InstalmentStatus]:
    """Each instalment's share of `paid_towards` (oldest first) and its status on `as_of`: paid in full, due (not
    yet past its date), or overdue (its date passed with something unpaid)."""
    left, out = max(paid_towards, 0), []
    for x in sorted(instalments, key=lambda i: i.number):
        paid = min(left, x.amount)
        left -= paid
        status = "paid" if paid == x.amount else "overdue" if x.due_date < as_of else "due"
        out.append(InstalmentStatus(x.number, x.due_date, x.amount, paid, status))
    return out


@dataclass(frozen=True)
class Reminder:
    plan_id: str
    number: int
    due_date: date
    unpaid: int
    days_before: int


@dataclass(frozen=True)
class Overdue:
    plan_id: str
    due_date: date  # the oldest unpaid instalment's
    overdue: int  # unpaid of every instalment past its date
    days_overdue: int


def notices(unpaid: list[tuple[str, int, date, int]], as_of: date, grace_days: int,
            lead_days: tuple[int, ...]) -> tuple[list[Reminder], list[Overdue]]:
    """From unpaid instalments (plan, number, due date, unpaid fen): a reminder for each falling due exactly a lead
    day after `as_of`, and per plan an overdue notice once its oldest unpaid instalment is more than `grace_days`
    past due (000 §3.3: 逾期未还 → 入户走访)."""
    reminders = [Reminder(p, n, d, u, (d - as_of).days) for p, n, d, u in unpaid if (d - as_of).days in lead_days]
    by_plan: dict[str, list[tuple[int, date, int]]] = {}
    for p, n, d, u in unpaid:
        if d < as_of:
            by_plan.setdefault(p, []).append((n, d, u))
    overdue = []
    for plan_id, items in by_plan.items():
        oldest = min(d for _n, d, _u in items)
        days = (as_of - oldest).days
        if days > grace_days:
            overdue.append(Overdue(plan_id, oldest, sum(u for _n, _d, u in items), days))
    return reminders, overdue
