"""A repayment plan's pure core: what makes it valid, and instalment statuses from payments, oldest first."""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onestop.ledger.domain.plans import Instalment, problems, statuses

D = date(2027, 1, 10)


def test_a_plan_must_add_up_ascend_and_not_lie_in_the_past() -> None:
    assert problems([(D, 100), (D + timedelta(days=30), 200)], 300, date(2026, 12, 1), date(2026, 12, 2)) == []
    wrong = problems([(D, 100), (D, 150), (date(2026, 11, 1), 50)], 400, date(2026, 11, 5), date(2026, 12, 2))
    assert wrong == [("instalments.1.due_date", "not after the previous instalment's"),
                     ("instalments.2.due_date", "before the settlement date 2026-11-05"),
                     ("instalments.2.due_date", "not after the previous instalment's"),
                     ("instalments", "add up to 3.00, but 4.00 is owed")]


@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=8), st.integers(0, 10**7), st.integers(0, 400))
def test_payments_fill_the_oldest_instalment_first(amounts: list[int], paid: int, days: int) -> None:
    plan = [Instalment(i + 1, D + timedelta(days=30 * i), a) for i, a in enumerate(amounts)]
    out = statuses(plan, paid, D + timedelta(days=days))
    assert sum(x.paid for x in out) == min(paid, sum(amounts))
    seen_unpaid = False
    for x in out:
        assert (x.status == "paid") == (x.paid == x.amount)
        if x.status != "paid":
            seen_unpaid = True
        else:
            assert not seen_unpaid  # nothing paid in full after one that is not
        assert x.status != "overdue" or x.due_date < D + timedelta(days=days)


def test_notices_remind_on_lead_days_and_tell_overdue_once_per_plan_after_the_grace() -> None:
    from onestop.ledger.domain.plans import notices

    as_of = date(2027, 3, 1)
    unpaid = [("p1", 1, date(2027, 3, 8), 100), ("p1", 2, date(2027, 4, 8), 100),
              ("p2", 1, date(2027, 1, 20), 50), ("p2", 2, date(2027, 2, 20), 70), ("p3", 1, date(2027, 2, 1), 10)]
    reminders, overdue = notices(unpaid, as_of, 30, (7, 3, 1))
    assert [(r.plan_id, r.number, r.days_before) for r in reminders] == [("p1", 1, 7)]
    assert [(o.plan_id, o.due_date, o.overdue, o.days_overdue) for o in overdue] == [
        ("p2", date(2027, 1, 20), 120, 40)]  # p3 is 28 days past due: within the grace
