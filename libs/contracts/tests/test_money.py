"""Money: int fen inside, 2-place yuan strings outside, half-up, never float."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from onestop.contracts.money import MoneyError, NonNegativeYuan, Yuan, format_fen, mul_ratio, parse_yuan


class M(BaseModel):
    amount: Yuan
    fee: NonNegativeYuan = 0


@given(st.integers(min_value=-10**14, max_value=10**14))
def test_round_trip(fen: int) -> None:
    assert parse_yuan(format_fen(fen)) == fen


@pytest.mark.parametrize("text,fen", [("1234.50", 123450), ("0.01", 1), ("7", 700), ("-3.2", -320), ("12.5", 1250)])
def test_parse(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("bad", ["1.234", "abc", "1e3", "", " . ", 1.5, True, None, "NaN"])
def test_rejects(bad: object) -> None:
    with pytest.raises(MoneyError):
        parse_yuan(bad)


def test_model_edge() -> None:
    m = M(amount="1234.50")
    assert m.amount == 123450
    assert m.model_dump(mode="json") == {"amount": "1234.50", "fee": "0.00"}
    with pytest.raises(ValidationError) as exc:
        M(amount="1", fee="-0.01")
    assert exc.value.errors()[0]["loc"] == ("fee",)


def test_half_up() -> None:
    assert mul_ratio(5, Decimal("0.5")) == 3  # 2.5 fen -> 3
    assert mul_ratio(3, Decimal("0.5")) == 2  # 1.5 fen -> 2
    assert mul_ratio(100001, Decimal("0.05")) == 5000  # 5000.05 -> 5000
