"""The named values a payer step takes and gives: its Turn (the quote's context), its Step (the
result), and the tilt variants a plan precomputes (Variant, TierVariant, Tilted)."""

from __future__ import annotations

from decimal import Decimal
from typing import Generic, NamedTuple, TypeVar

V = TypeVar("V")


class Step(NamedTuple):
    """What one payer step came to; money in fen."""

    amount: int
    base: int
    deductible: int
    ratio: Decimal | None
    cap: int | None
    cap_left: int | None
    borne: int  # the deductible the person bore in this step (accumulators' deductible_paid)
    counted: int  # the in-scope self-pay counted into cumulative_self_pay (tiers)
    grants: int  # one-off grants used
    lines: tuple[str, ...]  # the policy lines that applied
    text: str  # the sentence; "" when unexplained


class Turn(NamedTuple):
    """What a quote tells every payer step beyond the bill and the accumulators."""

    tilted: bool  # the tilts cover the person
    carried: dict[str, int]  # per payer, the per-stay deductible the stay's earlier parts bore (中途结算)
    counted: int  # 1 when the accumulators' stays already count this stay (a later part in its admission year)


NO_CARRY: dict[str, int] = {}
WHOLE = Turn(False, NO_CARRY, 0)


# a Step from a tuple of its fields in order, as Step._make does without its Python-level call: a
# quote builds one per payer, and Step(...)'s generated __new__ costs ~0.3 us more each
_step = tuple.__new__


class Variant(NamedTuple):
    """A deductible_ratio_cap row as one tilt leaves it: deductible, ratio (and as ints), lines, and the
    sentence after the deductible."""

    deductible: int
    ratio: Decimal
    num: int
    den: int
    lines: tuple[str, ...]
    after: str


class TierVariant(NamedTuple):
    """A tiers payer as one tilt leaves it: threshold, first ratio, (upto, num, den) segments, lines, sentence."""

    threshold: int
    first: Decimal | None
    segs: tuple[tuple[int | None, int, int], ...]
    lines: tuple[str, ...]
    mid: str


class Tilted(NamedTuple, Generic[V]):
    """A payer's variants for a tilted person, by the deductible tilt that applies (None: cannot apply)."""

    plain: V  # no deductible tilt: only the ratio tilts
    repeat_stay: V | None
    disability: V | None
    halved: V | None

