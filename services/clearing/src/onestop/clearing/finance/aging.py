"""Aging of what funds have not paid a hospital, by days since discharge (pure).

Buckets 0–30, 31–60, 61–90, > 90 days (issue 14 point 8). The day counted from is the settlement's: the ledger
settles a stay at discharge (001 三(二): 出院时结算), and clearing stores that moment (`settled_at`), not the
discharge date itself; both are Asia/Shanghai days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

BUCKETS = ("0-30", "31-60", "61-90", "90+")


def bucket(days: int) -> str:
    if days <= 30:
        return BUCKETS[0]
    if days <= 60:
        return BUCKETS[1]
    return BUCKETS[2] if days <= 90 else BUCKETS[3]


@dataclass(frozen=True)
class Aged:
    settlement_id: str
    payer: str
    region_code: str
    settled_on: date
    days: int
    bucket: str
    amount: int  # fen


def age(settlement_id: str, payer: str, region_code: str, settled_on: date, amount: int, today: date) -> Aged:
    days = max(0, (today - settled_on).days)
    return Aged(settlement_id, payer, region_code, settled_on, days, bucket(days), amount)


def totals(items: list[Aged]) -> dict[str, tuple[int, int]]:
    """bucket -> (count, amount in fen), every bucket present."""
    out = {b: (0, 0) for b in BUCKETS}
    for i in items:
        n, a = out[i.bucket]
        out[i.bucket] = (n + 1, a + i.amount)
    return out
