from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from identity_unit_helpers import TODAY, legacy_ids, make_id, valid_ids

from onestop.identity.domain import id_number as idn
from onestop.identity.domain.id_number import InvalidIdNumber


def test_known_number_from_the_standard() -> None:
    # The worked example of GB 11643-1999 (its check character is X).
    assert idn.check_digit("11010519491231002") == "X"
    parsed = idn.parse("11010519491231002x", today=TODAY)
    assert parsed.number == "11010519491231002X"
    assert parsed.birth_date == date(1949, 12, 31)
    assert parsed.sex == "female"
    assert parsed.region_code == "110105"


@given(valid_ids)
def test_valid_ids_round_trip(number: str) -> None:
    parsed = idn.parse(number, today=TODAY)
    assert parsed.number == number
    assert idn.normalize(f"  {number.lower()} ", today=TODAY) == number
    assert idn.has_valid_checksum(number)
    assert parsed.birth_date == idn.birth_date_of(number)
    assert parsed.sex == ("male" if int(number[16]) % 2 else "female")
    assert parsed.region_code == number[:6]


@given(valid_ids, st.integers(min_value=0, max_value=17), st.integers(min_value=1, max_value=9))
def test_changing_any_single_digit_breaks_the_checksum(number: str, pos: int, delta: int) -> None:
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    current = alphabet.index(number[pos])
    changed = number[:pos] + alphabet[(current + delta) % len(alphabet)] + number[pos + 1:]
    assert not idn.has_valid_checksum(changed)
    assert not idn.is_valid(changed, today=TODAY)


@given(legacy_ids)
def test_legacy_15_digit_numbers_convert(legacy: str) -> None:
    converted = idn.normalize(legacy, today=TODAY)
    assert len(converted) == 18
    assert converted[:6] == legacy[:6]
    assert converted[6:8] == "19"
    assert converted[8:17] == legacy[6:]
    assert idn.has_valid_checksum(converted)
    assert idn.convert_15_to_18(legacy) == converted


@given(st.text(alphabet="0123456789X", min_size=0, max_size=30))
def test_mask_never_reveals_the_middle(number: str) -> None:
    masked = idn.mask(number)
    assert len(masked) == len(number)
    if len(number) > 8:
        assert masked[:4] == number[:4] and masked[-4:] == number[-4:]
        assert set(masked[4:-4]) == {"*"}
    else:
        assert set(masked) <= {"*"}


def test_mask_format() -> None:
    assert idn.mask("150202198001011234") == "1502**********1234"


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("", "empty"),
        ("12345", "18 characters"),
        ("15022219800101123", "18 characters"),
        ("1502221980010112AX", "17 digits"),
        ("15022219800101A23", "18 characters"),
        ("15022219800101A", "15 digits"),
        (make_id("000000"), "region"),
        (make_id("990101"), "region"),
        (make_id("150222", date(1899, 12, 31)), "before 1900"),
        (make_id("150222", date(2030, 1, 1)), "future"),
    ],
)
def test_invalid_numbers_are_refused_without_echoing_them(raw: str, fragment: str) -> None:
    with pytest.raises(InvalidIdNumber) as info:
        idn.parse(raw, today=TODAY)
    assert info.value.field == "id_number"
    assert fragment in info.value.reason
    if raw:
        assert raw not in str(info.value) and raw not in info.value.reason


def test_impossible_birth_date() -> None:
    first17 = "15022219800230123"  # 30 February
    raw = first17 + idn.check_digit(first17)
    with pytest.raises(InvalidIdNumber, match="not a real date"):
        idn.parse(raw, today=TODAY)


def test_bad_check_digit() -> None:
    good = make_id()
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    with pytest.raises(InvalidIdNumber, match="check digit"):
        idn.parse(bad, today=TODAY)


def test_region_codes() -> None:
    assert idn.is_plausible_region("653200")
    assert idn.is_plausible_region("810000")
    for bad in ("000000", "160000", "990000", "70000", "7100001", "4100a0"):
        assert not idn.is_plausible_region(bad)
    with pytest.raises(InvalidIdNumber) as info:
        idn.check_region_code("12345", field="region_code")
    assert info.value.field == "region_code"


def test_repr_masks_the_number() -> None:
    number = make_id()
    assert number not in repr(idn.parse(number, today=TODAY))


def _full_width(text: str) -> str:
    """'1502…X' typed with a Chinese IME in full-width mode: '１５０２…Ｘ'."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


@given(valid_ids)
def test_full_width_digits_and_spaces_are_normalised(number: str) -> None:
    typed = _full_width(number[:6]) + "\u3000" + _full_width(number[6:].lower())
    assert idn.parse(typed, today=TODAY).number == number


@pytest.mark.parametrize("digits", ["\u0660", "\u0966", "\U0001d7ce"])  # Arabic-Indic, Devanagari, math bold 0
def test_other_scripts_digits_are_refused_not_crashed(digits: str) -> None:
    # These are str.isdigit() and matched \d, so they passed the pattern and check_digit raised ValueError.
    number = digits * 18
    with pytest.raises(InvalidIdNumber) as exc:
        idn.parse(number, today=TODAY)
    assert exc.value.field == "id_number" and number not in exc.value.reason
    with pytest.raises(InvalidIdNumber):
        idn.parse(digits * 15, today=TODAY)
    with pytest.raises(InvalidIdNumber):
        idn.check_region_code(digits * 6)
