"""What a patient may pay, may be refunded and owes, and a cashier's daily close: pure arithmetic in fen.

A stay's `due` is the patient's share of its standing settlements (a reversal cancels its original), `paid` the
sum of its payment records (a refund's and a void's amounts are negative). While the stay is open the patient may
pay on account (分阶段付费, 001 三(二)) up to the current estimate's share of the unsettled part plus what settled
parts left owing; once it is settled, up to what is owed. A refund gives back what was paid above that.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Balance:
    due: int  # the patient's share of the standing settlements
    paid: int  # payments less refunds and voids
    estimate: int = 0  # the current estimate's share of the unsettled part (an open stay), else 0

    @property
    def payable(self) -> int:
        """The most the patient may pay now."""
        return max(self.due + self.estimate - self.paid, 0)

    @property
    def owed(self) -> int:
        """What the settled parts leave owing."""
        return max(self.due - self.paid, 0)

    @property
    def refundable(self) -> int:
        """What was paid above the settled share and the estimate of the rest."""
        return max(self.paid - self.due - self.estimate, 0)

    @property
    def credit(self) -> int:
        """Paid on account above the settled share: what the next settlement credits (payments_on_account)."""
        return max(self.paid - self.due, 0)


KINDS = ("on_account", "self_pay", "refund", "void")


def daily_close(rows: list[dict[str, object]]) -> dict[str, object]:
    """Rows of (cashier, method, kind, count, amount_fen) as the store groups them → per cashier and method:
    records, received (payments on account and of the share), refunded, voided (signed: a void of a refund is
    positive), net; and the day's totals per method and overall. All amounts in fen."""
    lines: dict[tuple[str, str], dict[str, int]] = {}
    for r in rows:
        key = (str(r["cashier"]), str(r["method"]))
        line = lines.setdefault(key, {"count": 0, "received": 0, "refunded": 0, "voided": 0, "net": 0})
        amount, kind = int(r["amount_fen"]), str(r["kind"])  # type: ignore[call-overload]
        line["count"] += int(r["count"])  # type: ignore[call-overload]
        line["received" if kind in ("on_account", "self_pay") else "refunded" if kind == "refund" else "voided"] \
            += amount
        line["net"] += amount
    by_method: dict[str, dict[str, int]] = {}
    for (_cashier, method), line in lines.items():
        m = by_method.setdefault(method, {"count": 0, "received": 0, "refunded": 0, "voided": 0, "net": 0})
        for k, v in line.items():
            m[k] += v
    total = {k: sum(m[k] for m in by_method.values()) for k in ("count", "received", "refunded", "voided", "net")}
    return {"lines": [{"cashier": c, "method": m, **v} for (c, m), v in sorted(lines.items())],
            "by_method": dict(sorted(by_method.items())), "total": total}
