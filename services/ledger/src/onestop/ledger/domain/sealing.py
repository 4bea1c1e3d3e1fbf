"""The ID number a stay needs to ask identity again, sealed (AES-256-GCM) so the ledger never holds it in clear.

identity answers eligibility only for an ID number, and a stay must be re-asked as of its admission date
(DESIGN §9.1), so the agreement keeps the number sealed. The key is derived (HKDF-SHA256, its own label) from
the ledger's own service key, a secret no other service holds: no new key to provision. Rotating the service
key makes older sealed numbers unreadable; such an agreement is then signed again (the admission says so).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_LABEL = b"onestop.ledger.agreement.id_number.v1"


class Unsealable(Exception):
    """The sealed value was made with another key (the service key was rotated) or was altered."""


class Sealer:
    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_LABEL).derive(secret.encode())
        self._aead = AESGCM(key)

    def seal(self, value: str, context: str) -> bytes:
        """`context` (the agreement id) is bound in: a sealed number copied to another row does not open."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, value.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], context.encode()).decode()
        except InvalidTag:
            raise Unsealable("sealed with another key") from None
