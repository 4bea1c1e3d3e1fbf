"""Test helpers: build valid ID numbers, as strategies and as plain functions."""

from __future__ import annotations

from datetime import date

from hypothesis import strategies as st

from onestop.identity.domain.id_number import VALID_PROVINCES, check_digit

TODAY = date(2026, 3, 10)


def make_id(region: str = "150222", born: date = date(1980, 1, 1), seq: int = 123) -> str:
    """An 18-character ID number with a correct check digit."""
    first17 = f"{region}{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


regions = st.builds(lambda p, rest: p + f"{rest:04d}", st.sampled_from(sorted(VALID_PROVINCES)),
                    st.integers(min_value=0, max_value=9999)).filter(lambda r: r != "000000")
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
seqs = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_id, regions, births, seqs)
legacy_ids = st.builds(lambda r, b, s: f"{r}{b:%y%m%d}{s:03d}", regions,
                       st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), seqs)
