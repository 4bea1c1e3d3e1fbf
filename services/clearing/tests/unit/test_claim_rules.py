"""The pure rules of claims: which month is closed (Asia/Shanghai dates), what a decision approves, the
calendar's month."""

from __future__ import annotations

from datetime import date

import pytest

from onestop.clearing.claims.calendar import previous_month
from onestop.clearing.claims.decisions import Decision, approved_of
from onestop.clearing.claims.service import month_ended
from onestop.common.errors import InvalidInput


def test_a_month_is_closed_from_the_first_of_the_next() -> None:
    assert not month_ended("202603", date(2026, 3, 31))
    assert month_ended("202603", date(2026, 4, 1))
    assert not month_ended("202612", date(2026, 12, 31)) and month_ended("202612", date(2027, 1, 1))


def test_previous_month_crosses_the_year() -> None:
    assert previous_month(date(2026, 1, 10)) == "202512" and previous_month(date(2026, 4, 10)) == "202603"


def test_what_each_decision_approves() -> None:
    assert approved_of(Decision("s", "approve"), 100_00, 0) == 100_00
    assert approved_of(Decision("s", "reject", reason="x"), 100_00, 0) == 0
    assert approved_of(Decision("s", "deduct", 60_00, "x"), 100_00, 0) == 60_00
    for bad, field in ((Decision("s", "reject"), "items[3].reason"),
                       (Decision("s", "deduct", 100_00, "x"), "items[3].approved_amount"),
                       (Decision("s", "deduct", None, "x"), "items[3].approved_amount"),
                       (Decision("s", "approve", 1), "items[3].approved_amount")):
        with pytest.raises(InvalidInput) as e:
            approved_of(bad, 100_00, 3)
        assert e.value.errors[0]["field"] == field
