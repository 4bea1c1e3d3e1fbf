"""The embedded run's keys: generated into the data directory on first start (0600), reused after, and each
service given only its own private key (never the issuer's)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from onestop.cli.stack import Stack
from onestop.common.keys import KeySet, private_key, public_text


def test_first_start_generates_private_files_and_later_starts_reuse_them(tmp_path: Path) -> None:
    keys_dir = tmp_path / ".data" / "keys"
    first = KeySet.load_or_create(keys_dir)
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    for f in keys_dir.iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert (keys_dir / "issuer.key").read_text().strip() == first.issuer_key
    assert KeySet.load_or_create(keys_dir) == first
    assert KeySet.load_or_create(tmp_path / "elsewhere") != first  # nothing shared between runs


def test_a_service_gets_its_own_key_and_never_the_issuers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = KeySet.generate()
    monkeypatch.setenv("ONESTOP_ISSUER_KEY", keys.issuer_key)
    stack = Stack(data_dir=tmp_path, keys=keys, database_url="postgresql+asyncpg://x@/y", nats_url="nats://h:1")
    ledger, identity = stack.service_env("ledger"), stack.service_env("identity")
    assert keys.issuer_key not in ledger.values() and keys.issuer_key not in identity.values()
    assert ledger["ONESTOP_SERVICE_KEY"] == keys.service_keys["ledger"] != identity["ONESTOP_SERVICE_KEY"]
    assert "ONESTOP_PII_KEYS" in identity and "ONESTOP_PII_KEYS" not in ledger
    assert public_text(private_key(keys.issuer_key)) in ledger["ONESTOP_ISSUER_PUBLIC_KEYS"]
