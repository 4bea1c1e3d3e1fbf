"""Key material: Ed25519 signing keys for tokens, 32-byte secrets for identity's PII, and a full set.

Keys travel as base64 text (settings, env files). A signing key's id (`kid`) is derived from its public
key, so a verifier's key list needs no ids of its own and two keys can never share one by mistake.
Nothing in the repository holds a key: `KeySet.generate()` makes a fresh set (`onestop keys generate`,
the embedded run's first start, the test session).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

SERVICES = ("identity", "ledger", "rules", "clearing")


class KeyFormatError(ValueError):
    """A key that is not base64 of the right length."""


def _raw(text: str, what: str, length: int) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise KeyFormatError(f"{what} is not valid base64") from None
    if len(raw) != length:
        raise KeyFormatError(f"{what} must decode to {length} bytes, got {len(raw)}")
    return raw


def private_key(text: str, what: str = "the private key") -> Ed25519PrivateKey:
    """An Ed25519 private key from base64 of its 32 raw bytes."""
    return Ed25519PrivateKey.from_private_bytes(_raw(text, what, 32))


def public_key(text: str, what: str = "the public key") -> Ed25519PublicKey:
    """An Ed25519 public key from base64 of its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(_raw(text, what, 32))


def public_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """base64 of a key's public half."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The `kid` of a signing key: the first 16 hex digits of the SHA-256 of its public key."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return hashlib.sha256(pub.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:16]


def new_signing_key() -> str:
    """A fresh Ed25519 private key, base64."""
    raw = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode("ascii")


def new_secret() -> str:
    """A fresh random 32-byte secret, base64 (a PII encryption key, the blind-index key)."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def service_key_variable(service: str) -> str:
    """The env-file variable holding a service's private key; the service reads it as ONESTOP_SERVICE_KEY."""
    return f"ONESTOP_{service.upper()}_SERVICE_KEY"


@dataclass(frozen=True)
class KeySet:
    """Every key of one installation: the issuer's, each service's, and identity's PII keys."""

    issuer_key: str
    service_keys: dict[str, str]
    pii_keys: dict[str, str]
    pii_current_kid: str
    pii_index_key: str

    @classmethod
    def generate(cls, services: tuple[str, ...] = SERVICES) -> KeySet:
        kid = "p" + secrets.token_hex(4)
        return cls(issuer_key=new_signing_key(), service_keys={s: new_signing_key() for s in services},
                   pii_keys={kid: new_secret()}, pii_current_kid=kid, pii_index_key=new_secret())

    def issuer_public_keys(self) -> list[str]:
        return [public_text(private_key(self.issuer_key))]

    def service_public_keys(self) -> dict[str, list[str]]:
        return {s: [public_text(private_key(k))] for s, k in self.service_keys.items()}

    def shared_env(self) -> dict[str, str]:
        """What every service is given (public keys only, and identity's PII keys)."""
        return {
            "ONESTOP_ISSUER_PUBLIC_KEYS": json.dumps(self.issuer_public_keys()),
            "ONESTOP_SERVICE_PUBLIC_KEYS": json.dumps(self.service_public_keys(), separators=(",", ":")),
            "ONESTOP_PII_KEYS": json.dumps(self.pii_keys, separators=(",", ":")),
            "ONESTOP_PII_CURRENT_KID": self.pii_current_kid,
            "ONESTOP_PII_INDEX_KEY": self.pii_index_key,
        }

    def service_env(self, service: str) -> dict[str, str]:
        """The environment one service starts with: the shared keys and its own private key."""
        env = self.shared_env()
        if service != "identity":
            for name in ("ONESTOP_PII_KEYS", "ONESTOP_PII_CURRENT_KID", "ONESTOP_PII_INDEX_KEY"):
                del env[name]
        return {**env, "ONESTOP_SERVICE_KEY": self.service_keys[service]}

    def env_lines(self) -> str:
        """The whole set as env-file lines (single-quoted: compose and a shell read them alike)."""
        lines = ["# the issuer's private key: for `onestop token` only, never give it to a service",
                 f"ONESTOP_ISSUER_KEY='{self.issuer_key}'",
                 "# every service: the verifying keys",
                 f"ONESTOP_ISSUER_PUBLIC_KEYS='{self.shared_env()['ONESTOP_ISSUER_PUBLIC_KEYS']}'",
                 f"ONESTOP_SERVICE_PUBLIC_KEYS='{self.shared_env()['ONESTOP_SERVICE_PUBLIC_KEYS']}'",
                 "# each service its own private key, as its ONESTOP_SERVICE_KEY"]
        lines += [f"{service_key_variable(s)}='{k}'" for s, k in self.service_keys.items()]
        lines += ["# identity only: the PII key ring and the blind-index key"]
        lines += [f"{k}='{v}'" for k, v in self.shared_env().items() if k.startswith("ONESTOP_PII_")]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_env_lines(cls, text: str) -> KeySet:
        values = parse_env_lines(text)
        services = {s: values[service_key_variable(s)] for s in SERVICES if service_key_variable(s) in values}
        return cls(issuer_key=values["ONESTOP_ISSUER_KEY"], service_keys=services,
                   pii_keys=json.loads(values["ONESTOP_PII_KEYS"]), pii_current_kid=values["ONESTOP_PII_CURRENT_KID"],
                   pii_index_key=values["ONESTOP_PII_INDEX_KEY"])

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> KeySet:
        """The embedded run's keys: read from `keys_dir`, or generated there (mode 0600) on first start."""
        env_file, issuer_file = keys_dir / "keys.env", keys_dir / "issuer.key"
        if env_file.exists():
            return cls.from_env_lines(env_file.read_text())
        keys = cls.generate()
        keys_dir.mkdir(parents=True, exist_ok=True)
        keys_dir.chmod(0o700)
        _write_private(env_file, keys.env_lines())
        _write_private(issuer_file, keys.issuer_key + "\n")
        return keys


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def parse_env_lines(text: str) -> dict[str, str]:
    """`NAME=value` lines (values optionally single- or double-quoted); comments and blanks skipped."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[name.strip()] = value
    return out
