"""Resident ID numbers (GB 11643-1999): checksum, legacy conversion, birth date, sex, region, masking.

Nothing in this module ever puts an ID number into an exception message: reasons are fixed
sentences, so an error that reaches a log or an HTTP answer cannot leak the number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from operator import mul
from typing import Literal

Sex = Literal["male", "female"]

# ISO 7064 MOD 11-2 weights for positions 1..17 (2^(18-i) mod 11) and the check character table.
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ZERO = ord("0")
_WEIGHTED_ZERO = sum(_WEIGHTS) * _ZERO

# First two digits of GB/T 2260 codes: provinces, autonomous regions, municipalities, Taiwan, HK, Macau.
VALID_PROVINCES: frozenset[str] = frozenset(
    [str(n) for n in range(11, 16)] + [str(n) for n in range(21, 24)] + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)] + [str(n) for n in range(50, 55)] + [str(n) for n in range(61, 66)]
    + ["71", "81", "82"]
)

# ASCII digits only: `\d` alone also matches full-width and other scripts' digits, which the checksum
# cannot weigh (a full-width number once passed these patterns and crashed the check digit with a 500).
_RE_18 = re.compile(r"^[0-9]{17}[0-9X]$")
_RE_15 = re.compile(r"^[0-9]{15}$")
_RE_REGION = re.compile(r"^[0-9]{6}$")
# Spaces a clerk or an IME leaves inside a number (NFKC has already turned U+3000 into a plain space).
_SPACES = re.compile(r"\s+")
_EARLIEST = date(1900, 1, 1)


class InvalidIdNumber(ValueError):
    """An ID number (or a region code) that fails validation; `reason` never contains the number."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


# Not frozen: a frozen dataclass's __init__ costs 2.5x, paid once per row of a million-row import.
@dataclass(slots=True)
class IdNumber:
    """A validated 18-character ID number and what it encodes."""

    number: str
    birth_date: date
    sex: Sex
    region_code: str

    def __repr__(self) -> str:
        # Keep the number out of reprs, which end up in logs and tracebacks.
        return f"IdNumber({mask(self.number)!r})"


def check_digit(first17: str) -> str:
    """The MOD 11-2 check character ('0'-'9' or 'X') for the first 17 digits."""
    if len(first17) != 17 or not (first17.isascii() and first17.isdigit()):
        raise ValueError("check_digit needs exactly 17 ASCII digits")
    # Summing weights × byte values and subtracting weights × ord('0') once is ~2x faster than per digit,
    # which matters at a million rows per import.
    return _CHECK[(sum(map(mul, _WEIGHTS, first17.encode("ascii"))) - _WEIGHTED_ZERO) % 11]


def has_valid_checksum(number: str) -> bool:
    """True if an 18-character number's last character is its MOD 11-2 check character."""
    return bool(_RE_18.match(number)) and check_digit(number[:17]) == number[17]


def convert_15_to_18(legacy: str) -> str:
    """A 15-digit legacy number (born 19YY) -> its 18-character form with the check digit."""
    if not _RE_15.match(legacy):
        raise InvalidIdNumber("id_number", "a legacy ID number must have exactly 15 digits")
    first17 = legacy[:6] + "19" + legacy[6:]
    return first17 + check_digit(first17)


def is_plausible_region(code: str) -> bool:
    """True if a 6-digit code looks like a GB/T 2260 region: not all zeros, a real province prefix."""
    return bool(_RE_REGION.match(code)) and code != "000000" and code[:2] in VALID_PROVINCES


def check_region_code(code: str, field: str = "region_code") -> str:
    """Validate a 6-digit region code, returning it or raising InvalidIdNumber naming the field."""
    if not _RE_REGION.match(code):
        raise InvalidIdNumber(field, "region code must be exactly 6 digits")
    if not is_plausible_region(code):
        raise InvalidIdNumber(field, "region code is not a valid administrative division code")
    return code


def _birth(number18: str, today: date) -> date:
    try:
        born = date(int(number18[6:10]), int(number18[10:12]), int(number18[12:14]))
    except ValueError:
        raise InvalidIdNumber("id_number", "the birth date in the ID number is not a real date") from None
    if born < _EARLIEST:
        raise InvalidIdNumber("id_number", "the birth date in the ID number is before 1900")
    if born > today:
        raise InvalidIdNumber("id_number", "the birth date in the ID number is in the future")
    return born


def clean(raw: str) -> str:
    """The number as typed, made comparable: NFKC (full-width digits and Ｘ become ASCII), no spaces, upper X.

    Digits of other scripts (Arabic-Indic, Devanagari…) are left as they are and refused by `parse`.
    """
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw)).upper()


def normalize(raw: str, *, today: date, field: str = "id_number") -> str:
    """Validate an ID number and return its 18-character form (15-digit legacy numbers converted)."""
    return parse(raw, today=today, field=field).number


def parse(raw: str, *, today: date, field: str = "id_number") -> IdNumber:
    """Validate an ID number fully and return it with birth date, sex and region."""
    if not isinstance(raw, str):
        raise InvalidIdNumber(field, "ID number must be text")
    text = clean(raw)
    if not text:
        raise InvalidIdNumber(field, "ID number is empty")
    if len(text) == 15:
        if not _RE_15.match(text):
            raise InvalidIdNumber(field, "a legacy ID number must have exactly 15 digits")
        text = convert_15_to_18(text)
    elif len(text) != 18:
        raise InvalidIdNumber(field, "ID number must have 18 characters (or 15 digits for a legacy number)")
    elif not _RE_18.match(text):
        raise InvalidIdNumber(field, "ID number must be 17 digits followed by a digit or X")
    elif check_digit(text[:17]) != text[17]:
        raise InvalidIdNumber(field, "ID number check digit does not match (a digit is probably mistyped)")
    region = text[:6]
    if not is_plausible_region(region):
        raise InvalidIdNumber(field, "the region in the ID number is not a valid administrative division")
    try:
        born = _birth(text, today)  # the caller's today: a birth date after it is refused
    except InvalidIdNumber as exc:
        raise InvalidIdNumber(field, exc.reason) from None
    return IdNumber(number=text, birth_date=born, sex=sex_of(text), region_code=region)


def is_valid(raw: str, *, today: date) -> bool:
    """True if `raw` is a valid 18-character or 15-digit legacy ID number."""
    try:
        parse(raw, today=today)
    except InvalidIdNumber:
        return False
    return True


def birth_date_of(number18: str) -> date:
    """The birth date encoded in an already validated 18-character number."""
    return date(int(number18[6:10]), int(number18[10:12]), int(number18[12:14]))


def sex_of(number18: str) -> Sex:
    """Sex from the 17th digit: odd = male, even = female."""
    return "male" if (ord(number18[16]) - _ZERO) % 2 else "female"


def region_of(number18: str) -> str:
    """The first 6 digits: the region where the number was issued (GB/T 2260)."""
    return number18[:6]


def mask(number: str) -> str:
    """'150202198001011234' -> '1502**********1234': first 4 and last 4 shown, the rest starred."""
    if len(number) <= 8:
        # Too short to show 8 characters without revealing (nearly) all of it.
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
