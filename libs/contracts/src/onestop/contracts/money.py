"""Money: integer fen inside, 2-place decimal strings in yuan at every edge (DESIGN §5).

This lives in contracts (which imports nothing of ours) so event and quote schemas can use it;
`onestop.common.money` re-exports it as the one type used everywhere.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

_YUAN = re.compile(r"^-?\d{1,13}(\.\d{1,2})?$")


class MoneyError(ValueError):
    """A value that is not an amount of money in yuan with at most two decimals."""


def parse_yuan(value: Any) -> int:
    """'1234.50' (or Decimal, or int fen-free yuan) -> 123450 fen. Floats are refused."""
    if type(value) is str:  # fast path for the common "123.45" / "123" (a quote has hundreds)
        whole, dot, frac = value.partition(".")
        if whole.isdigit() and whole.isascii() and len(whole) <= 13 and (
            not dot or (frac.isdigit() and frac.isascii() and 1 <= len(frac) <= 2)
        ):
            return int(whole) * 100 + (int(frac.ljust(2, "0")) if dot else 0)
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError("amount must be a decimal string like \"1234.50\", not a float")
    if isinstance(value, int):
        return value * 100
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise MoneyError("amount must be a decimal string like \"1234.50\"")
    if not _YUAN.match(text):
        raise MoneyError("amount must be a decimal string with at most 2 decimal places, like \"1234.50\"")
    try:
        d = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - regex already guards
        raise MoneyError("amount is not a number") from exc
    return int((d * 100).to_integral_value())


def format_fen(fen: int) -> str:
    """123450 -> '1234.50'."""
    sign = "-" if fen < 0 else ""
    q, r = divmod(abs(fen), 100)
    return f"{sign}{q}.{r:02d}"


def half_up(value: Decimal) -> int:
    """Round a fen amount given as Decimal to whole fen, half away from zero (DESIGN §5)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mul_ratio(fen: int, ratio: Decimal) -> int:
    """fen × ratio, rounded half-up to the fen."""
    return half_up(Decimal(fen) * ratio)


def _validate(value: Any) -> int:
    return parse_yuan(value)


Yuan = Annotated[
    int,
    BeforeValidator(_validate),
    PlainSerializer(format_fen, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "examples": ["1234.50"]}),
]
"""An amount held as int fen, read and written as a yuan string with 2 places."""


def _validate_non_negative(value: Any) -> int:
    fen = parse_yuan(value)
    if fen < 0:
        raise MoneyError("amount must not be negative")
    return fen


NonNegativeYuan = Annotated[
    int,
    BeforeValidator(_validate_non_negative),
    PlainSerializer(format_fen, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1234.50"]}),
]


def _validate_positive(value: Any) -> int:
    fen = parse_yuan(value)
    if fen <= 0:
        raise MoneyError("amount must be above 0.00")
    return fen


PositiveYuan = Annotated[
    int,
    BeforeValidator(_validate_positive),
    PlainSerializer(format_fen, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["1234.50"]}),
]
"""A payment's amount: above zero."""
