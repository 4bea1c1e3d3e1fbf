"""The daily statement's pure core: the day's lines with their refunds, totals by class, thresholds crossed, and a
settlement's difference from its notice (domain/statement.py)."""

from datetime import date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from onestop.common.clock import TZ
from onestop.ledger.domain import bill, statement
from onestop.ledger.domain.bill import Line

D0 = date(2026, 3, 10)


def _line(line_id: str, fen: int, day: int, cls: str = "A", refunds: str | None = None,
          settled: str | None = None) -> Line:
    on = D0 + timedelta(days=day)
    return Line(line_id=line_id, code="c", name="n", fee_class=cls, amount_fen=fen,
                occurred_at=datetime(on.year, on.month, on.day, 10, tzinfo=TZ), occurred_on=on,
                refunds_line_id=refunds, settlement_id=settled)


def test_refunds_show_with_their_line_and_count_on_their_own_date_in_the_charged_class() -> None:
    lines = [_line("A1", 1000, 0), _line("C1", 300, 0, "C"), _line("B2", 500, 1, "B"),
             _line("R1", -300, 1, "A", refunds="C1"),  # the refund line says A; it takes back from C
             _line("R2", -100, 2, refunds="B2")]
    today, late = statement.day_lines(lines, D0 + timedelta(days=1))
    assert [(d.line.line_id, [r.line_id for r in d.refunds], d.net_fen) for d in today] == [("B2", [], 500)]
    assert [(x.refund.line_id, x.of.line_id) for x in late] == [("R1", "C1")]
    assert statement.class_totals(lines, D0) == {"A": 1000, "B": 0, "C": 300}
    assert statement.class_totals(lines, D0 + timedelta(days=1)) == {"A": 1000, "B": 500, "C": 0}
    assert statement.class_totals(lines, D0 + timedelta(days=2)) == {"A": 1000, "B": 400, "C": 0}
    today, _ = statement.day_lines(lines, D0)
    assert [r.line_id for r in today[1].refunds] == []  # a refund dated later is not on an earlier day's statement
    assert statement.day_total_fen(lines, D0 + timedelta(days=1)) == 200


def test_an_estimate_as_of_a_day_bills_the_unsettled_lines_and_refunds_up_to_it() -> None:
    lines = [_line("S1", 700, 0, settled="s"), _line("A1", 1000, 1), _line("A2", 50, 3),
             _line("R1", -400, 2, refunds="A1")]
    assert [(n.line.line_id, n.amount_fen) for n in bill.net(statement.unsettled_through(lines, D0 + timedelta(1)))
            ] == [("A1", 1000)]
    assert [(n.line.line_id, n.amount_fen) for n in bill.net(statement.unsettled_through(lines, D0 + timedelta(2)))
            ] == [("A1", 600)]


def test_thresholds_are_crossed_once_each() -> None:
    assert statement.crossed([1_000_000, 3_000_000, 5_000_000], 999_999, []) == []
    assert statement.crossed([1_000_000, 3_000_000, 5_000_000], 1_000_000, []) == [1_000_000]
    assert statement.crossed([5_000_000, 1_000_000, 3_000_000], 6_000_000, [1_000_000]) == [3_000_000, 5_000_000]


def test_the_difference_is_the_settlement_less_the_notice_over_every_payer_of_either() -> None:
    diff = statement.difference(300_000, 30_000, {"basic": 250_000, "assistance": 20_000},
                                350_000, 40_000, {"basic": 290_000, "critical_illness": 20_000})
    assert (diff.total_fen, diff.self_pay_fen) == (50_000, 10_000)
    assert diff.funds_fen == {"basic": 40_000, "assistance": -20_000, "critical_illness": 20_000}


_lines = st.lists(st.tuples(st.integers(1, 10_000), st.integers(0, 5), st.sampled_from("ABC"),
                            st.integers(0, 100)), min_size=1, max_size=12)


@given(_lines, st.integers(0, 6))
def test_totals_by_class_add_up_to_every_line_dated_up_to_the_day(spec, upto) -> None:  # type: ignore[no-untyped-def]
    lines: list[Line] = []
    for i, (fen, day, cls, pct) in enumerate(spec):
        lines.append(_line(f"L{i}", fen, day, cls))
        back = fen * pct // 100
        if back:
            lines.append(_line(f"R{i}", -back, day + 1, refunds=f"L{i}"))
    through = D0 + timedelta(days=upto)
    totals = statement.class_totals(lines, through)
    assert sum(totals.values()) == sum(x.amount_fen for x in lines if x.occurred_on <= through)
    assert all(v >= 0 for v in totals.values())  # a refund never takes a class below what was charged in it
    days = {x.occurred_on for x in lines}
    assert sum(statement.day_total_fen(lines, d) for d in days if d <= through) == sum(totals.values())
