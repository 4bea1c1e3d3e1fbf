"""The one money type used at every edge (re-exported from contracts; see its docstring)."""

from onestop.contracts.money import (
    MoneyError,
    NonNegativeYuan,
    Yuan,
    format_fen,
    half_up,
    mul_ratio,
    parse_yuan,
)

__all__ = ["MoneyError", "NonNegativeYuan", "Yuan", "format_fen", "half_up", "mul_ratio", "parse_yuan"]
