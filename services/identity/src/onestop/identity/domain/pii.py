"""Personal data at rest: AES-256-GCM with a rotatable key ring, and a keyed blind index for lookups.

Token layout (bytes): version (1) | key id length (1) | key id (ASCII) | nonce (12) | ciphertext+tag.
The header is authenticated as associated data, so changing the key id or version is detected.
Keys come in as base64 strings from settings; nothing here reads the environment.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = 1
_NONCE = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Domain separation: the same index key must never produce a tag that means something elsewhere.
_INDEX_CONTEXT = b"onestop.identity.id_number.v1\x00"


class PiiKeyError(ValueError):
    """A key ring that cannot be used: bad base64, wrong length, unknown current key id."""


class PiiDecryptError(ValueError):
    """A token that cannot be decrypted: malformed, tampered with, or sealed with an unknown key."""


def _decode_key(key_b64: str, *, what: str, exact: int | None = 32, minimum: int = 32) -> bytes:
    try:
        raw = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise PiiKeyError(f"{what} is not valid base64") from None
    if exact is not None and len(raw) != exact:
        raise PiiKeyError(f"{what} must decode to {exact} bytes, got {len(raw)}")
    if len(raw) < minimum:
        raise PiiKeyError(f"{what} must decode to at least {minimum} bytes, got {len(raw)}")
    return raw


def generate_key() -> str:
    """A fresh random 32-byte key, base64-encoded, for settings or a rotation."""
    return base64.b64encode(os.urandom(32)).decode("ascii")


class PiiCipher:
    """Encrypts personal data with the current key, decrypts with any key in the ring; blind-indexes IDs."""

    __slots__ = ("_aeads", "_current", "_index_key", "_header", "_index_mac")

    def __init__(self, keys: Mapping[str, str], current_key_id: str, index_key: str) -> None:
        if not keys:
            raise PiiKeyError("the key ring is empty")
        aeads: dict[str, AESGCM] = {}
        raws: set[bytes] = set()
        for key_id, key_b64 in keys.items():
            if not _KEY_ID.match(key_id):
                raise PiiKeyError("key ids must be 1-64 characters of letters, digits, '_', '.', ':', '-'")
            raw = _decode_key(key_b64, what=f"encryption key {key_id!r}")
            raws.add(raw)
            aeads[key_id] = AESGCM(raw)
        if current_key_id not in aeads:
            raise PiiKeyError(f"current key id {current_key_id!r} is not in the key ring")
        index_raw = _decode_key(index_key, what="index key", exact=None, minimum=32)
        if index_raw in raws:
            # One key for two purposes would tie the lookup hash to the encryption key's lifetime.
            raise PiiKeyError("the index key must differ from every encryption key")
        self._aeads = aeads
        self._current = current_key_id
        self._index_key = index_raw
        # HMAC state after the key and the context: each index copies it (a fresh hmac.new costs 3x more).
        self._index_mac = hmac.new(index_raw, _INDEX_CONTEXT, hashlib.sha256)
        self._header = self._make_header(current_key_id)

    @staticmethod
    def _make_header(key_id: str) -> bytes:
        kid = key_id.encode("ascii")
        return bytes([_VERSION, len(kid)]) + kid

    @property
    def current_key_id(self) -> str:
        """The key id new ciphertexts are sealed with."""
        return self._current

    def encrypt(self, plaintext: str) -> bytes:
        """Seal text with the current key; every call uses a fresh random nonce."""
        nonce = os.urandom(_NONCE)
        sealed = self._aeads[self._current].encrypt(nonce, plaintext.encode("utf-8"), self._header)
        return self._header + nonce + sealed

    def _split(self, token: bytes) -> tuple[bytes, str, bytes, bytes]:
        if not isinstance(token, bytes | bytearray | memoryview):
            raise PiiDecryptError("ciphertext must be bytes")
        token = bytes(token)
        if len(token) < 2 or token[0] != _VERSION:
            raise PiiDecryptError("ciphertext has an unknown format version")
        n = token[1]
        end = 2 + n
        if n == 0 or len(token) < end + _NONCE + 16:
            raise PiiDecryptError("ciphertext is truncated")
        try:
            key_id = token[2:end].decode("ascii")
        except UnicodeDecodeError:
            raise PiiDecryptError("ciphertext has a malformed key id") from None
        return token[:end], key_id, token[end:end + _NONCE], token[end + _NONCE:]

    def key_id_of(self, token: bytes) -> str:
        """The id of the key a token was sealed with (readable without decrypting)."""
        return self._split(token)[1]

    def decrypt(self, token: bytes) -> str:
        """Open a token sealed with any key of the ring; tampering raises PiiDecryptError."""
        header, key_id, nonce, sealed = self._split(token)
        aead = self._aeads.get(key_id)
        if aead is None:
            raise PiiDecryptError(f"ciphertext was sealed with key {key_id!r}, which is not in the key ring")
        try:
            return aead.decrypt(nonce, sealed, header).decode("utf-8")
        except InvalidTag:
            raise PiiDecryptError("ciphertext failed authentication (tampered or wrong key)") from None

    def needs_rotation(self, token: bytes) -> bool:
        """True if a token was sealed with a key other than the current one."""
        return self.key_id_of(token) != self._current

    def rotate(self, token: bytes) -> bytes:
        """Re-seal a token under the current key (unchanged tokens are re-sealed too, with a new nonce)."""
        return self.encrypt(self.decrypt(token))

    def blind_index(self, id_number: str) -> str:
        """HMAC-SHA256 of a normalized 18-character ID number, hex: the lookup key stored beside it."""
        # Callers pass the normalized number; strip/upper only so 'x' and 'X' never index apart.
        mac = self._index_mac.copy()
        mac.update(id_number.strip().upper().encode("utf-8"))
        return mac.hexdigest()

    def __repr__(self) -> str:
        return f"PiiCipher(current_key_id={self._current!r}, keys={sorted(self._aeads)!r})"
