"""The pure arithmetic of payments: what may be paid, refunded and credited, and the daily close's totals."""

from hypothesis import given
from hypothesis import strategies as st

from onestop.ledger.domain.payments import Balance, daily_close

fen = st.integers(min_value=0, max_value=10**9)


@given(fen, fen, fen)
def test_what_may_be_paid_and_refunded_never_overlap(due: int, paid: int, estimate: int) -> None:
    b = Balance(due, paid, estimate)
    assert b.payable == 0 or b.refundable == 0
    assert b.payable - b.refundable == due + estimate - paid
    assert b.owed <= b.payable
    assert Balance(due, paid).credit == max(paid - due, 0)


def test_a_settled_share_paid_in_full_leaves_nothing_owed_or_refundable() -> None:
    b = Balance(due=123_45, paid=123_45)
    assert (b.owed, b.payable, b.refundable, b.credit) == (0, 0, 0, 0)


rows = st.lists(st.fixed_dictionaries({
    "cashier": st.sampled_from(["a", "b"]), "method": st.sampled_from(["cash", "wechat"]),
    "kind": st.sampled_from(["on_account", "self_pay", "refund", "void"]), "count": st.integers(1, 5),
    "amount_fen": st.integers(-10**6, 10**6)}), max_size=12)


@given(rows)
def test_the_daily_close_adds_up(rs: list[dict[str, object]]) -> None:
    out = daily_close(rs)
    total = out["total"]
    assert total["net"] == sum(int(r["amount_fen"]) for r in rs)  # type: ignore[index, call-overload]
    assert total["count"] == sum(int(r["count"]) for r in rs)  # type: ignore[index, call-overload]
    assert total["net"] == total["received"] + total["refunded"] + total["voided"]  # type: ignore[index]
    assert sum(x["net"] for x in out["lines"]) == total["net"]  # type: ignore[attr-defined, index]
