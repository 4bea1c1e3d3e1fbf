"""GB/T 2260 region codes: how specific a code is, whether one lies inside another, scopes by digits.

One definition for every service: auth's token scopes (a bureau of 410000 sees 411203), identity's
import scopes, eligibility's hospital and blacklist scopes and the credit feed's reach all compare
regions this way (issue 10 point 8: it was written twice, in libs/common/auth.py and in identity).
"""

from __future__ import annotations

# How many leading digits of a 6-digit code each scope compares.
SCOPE_DIGITS: dict[str, int] = {"hospital": 6, "county": 6, "city": 4, "province": 2}


def significant_digits(code: str) -> int:
    """How specific a code is: 2 for a province (xx0000), 4 for a city (xxxx00), else 6."""
    if code[2:] == "0000":
        return 2
    if code[4:] == "00":
        return 4
    return 6


def region_within(code: str, region: str) -> bool:
    """True if `code` lies inside `region` (411203 lies inside 410000; 150200 does not lie in 150222)."""
    n = significant_digits(region)
    return significant_digits(code) >= n and code[:n] == region[:n]


def region_matches(scope: str, a: str, b: str) -> bool:
    """True if regions a and b are the same at `scope` (county: 6 digits, city: 4, province: 2).

    A code registered at a coarser level (a prefecture hospital 653200, a city-wide blacklist entry)
    stands for its whole area, so the comparison never uses more digits than either code has.
    """
    n = min(SCOPE_DIGITS[scope], significant_digits(a), significant_digits(b))
    return a[:n] == b[:n]


def scope_region(code: str, scope: str) -> str:
    """The region a scope around `code` covers, as a code: 411203 at city scope is 411200."""
    n = SCOPE_DIGITS[scope]
    return code[:n].ljust(6, "0")
