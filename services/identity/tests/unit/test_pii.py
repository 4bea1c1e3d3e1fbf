from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from identity_unit_helpers import make_id, valid_ids

from onestop.identity.domain.pii import PiiCipher, PiiDecryptError, PiiKeyError, generate_key

K1, K2, K3, IDX = generate_key(), generate_key(), generate_key(), generate_key()
OLD = PiiCipher({"k1": K1}, "k1", IDX)
# After a rotation: k2 seals new data, k1 still opens what it sealed.
NEW = PiiCipher({"k1": K1, "k2": K2}, "k2", IDX)


@given(st.text(max_size=200))
def test_round_trip(text: str) -> None:
    assert NEW.decrypt(NEW.encrypt(text)) == text


@given(st.text(max_size=50))
def test_old_ciphertext_decrypts_after_rotation_and_rotates(text: str) -> None:
    old_token = OLD.encrypt(text)
    assert NEW.key_id_of(old_token) == "k1"
    assert NEW.needs_rotation(old_token)
    assert NEW.decrypt(old_token) == text
    rotated = NEW.rotate(old_token)
    assert NEW.key_id_of(rotated) == "k2" and not NEW.needs_rotation(rotated)
    assert NEW.decrypt(rotated) == text
    # The old ring does not know k2: it cannot open what the new key sealed.
    with pytest.raises(PiiDecryptError, match="not in the key ring"):
        OLD.decrypt(rotated)


@settings(max_examples=50)
@given(valid_ids, st.data())
def test_tampering_any_byte_is_rejected(number: str, data: st.DataObject) -> None:
    token = bytearray(NEW.encrypt(number))
    pos = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    flip = data.draw(st.integers(min_value=1, max_value=255))
    token[pos] ^= flip
    with pytest.raises(PiiDecryptError):
        NEW.decrypt(bytes(token))


def test_truncated_and_garbage_tokens() -> None:
    token = NEW.encrypt("x")
    for bad in (b"", b"\x01", token[:10], b"\x02" + token[1:], b"not a token at all, no no no no no"):
        with pytest.raises(PiiDecryptError):
            NEW.decrypt(bad)


def test_ciphertext_does_not_contain_plaintext_and_is_randomised() -> None:
    number = make_id()
    a, b = NEW.encrypt(number), NEW.encrypt(number)
    assert a != b
    assert number.encode() not in a


def test_blind_index_is_keyed_deterministic_and_normalised() -> None:
    number = make_id("653221")
    assert NEW.blind_index(number) == OLD.blind_index(number)  # same index key, any encryption ring
    assert len(NEW.blind_index(number)) == 64
    x_number = "11010519491231002X"
    assert NEW.blind_index(x_number) == NEW.blind_index(" 11010519491231002x ")
    other = PiiCipher({"k1": K1}, "k1", K3)
    assert other.blind_index(number) != NEW.blind_index(number)
    assert NEW.blind_index(number) != NEW.blind_index(make_id("653221", seq=124))


def test_key_ring_validation() -> None:
    with pytest.raises(PiiKeyError):
        PiiCipher({}, "k1", IDX)
    with pytest.raises(PiiKeyError, match="not in the key ring"):
        PiiCipher({"k1": K1}, "k9", IDX)
    with pytest.raises(PiiKeyError, match="32 bytes"):
        PiiCipher({"k1": base64.b64encode(b"short").decode()}, "k1", IDX)
    with pytest.raises(PiiKeyError, match="base64"):
        PiiCipher({"k1": "!!!not base64!!!"}, "k1", IDX)
    with pytest.raises(PiiKeyError, match="differ"):
        PiiCipher({"k1": K1}, "k1", K1)
    with pytest.raises(PiiKeyError, match="key ids"):
        PiiCipher({"bad id": K1}, "bad id", IDX)


def test_repr_shows_no_key_material() -> None:
    assert K1 not in repr(NEW) and "k2" in repr(NEW)
