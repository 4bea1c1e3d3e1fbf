"""The command line: tokens, and start-up problems answered in one line, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from onestop.cli.embedded import free_port
from onestop.common.keys import KeySet, parse_env_lines
from onestop.common.testing import key_env, session_keys
from onestop.common.tokens import TokenVerifier

ONESTOP = str(Path(sys.executable).parent / "onestop")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the session's keys for a service (a `serve` needs them), and `env` over them."""
    return subprocess.run([ONESTOP, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", **key_env("ledger"), **env})


def _issuer_env() -> dict[str, str]:
    return {"ONESTOP_ISSUER_KEY": session_keys().issuer_key}


def test_token_alone_on_last_line() -> None:
    out = _run("token", "--role", "payer", "--payer", "basic", "--region-code", "150222", **_issuer_env())
    assert out.returncode == 0, out.stderr
    keys = session_keys()
    p = TokenVerifier("rules", keys.issuer_public_keys(), keys.service_public_keys()).verify(
        out.stdout.strip().splitlines()[-1])
    assert p.payer == "basic" and p.region_code == "150222"
    assert "jti " in out.stderr  # what `onestop token revoke` takes
    bad = _run("token", "--role", "hospital", **_issuer_env())
    assert bad.returncode == 1 and "--hospital-code" in bad.stderr and "Traceback" not in bad.stderr
    too_long = _run("token", "--role", "operator", "--ttl", str(9 * 3600), **_issuer_env())
    assert too_long.returncode == 1 and "at most 28800" in too_long.stderr


def test_token_without_the_issuer_key_is_one_line(tmp_path: Path) -> None:
    out = _run("token", "--role", "operator", "--issuer-key-file", str(tmp_path / "none.key"), ONESTOP_ISSUER_KEY="")
    assert out.returncode == 1 and "no issuer key" in out.stderr and "Traceback" not in out.stderr


def test_keys_generate_prints_a_fresh_set_services_accept() -> None:
    from onestop.identity.settings import Settings as IdentitySettings

    first, second = _run("keys", "generate"), _run("keys", "generate")
    assert first.returncode == 0 and first.stdout != second.stdout
    keys = KeySet.from_env_lines(first.stdout)
    values = parse_env_lines(first.stdout)
    assert values["ONESTOP_ISSUER_KEY"] == keys.issuer_key and set(keys.service_keys) == {
        "identity", "ledger", "rules", "clearing"}
    settings = IdentitySettings(**{k.removeprefix("ONESTOP_").lower(): v
                                   for k, v in keys.service_env("identity").items()})
    assert settings.pii_cipher().current_key_id == keys.pii_current_kid


@pytest.mark.parametrize(("service", "missing"), [
    ("ledger", "ONESTOP_ISSUER_PUBLIC_KEYS"),
    ("rules", "ONESTOP_SERVICE_KEY"),
    ("identity", "ONESTOP_PII_INDEX_KEY"),
    ("identity", "ONESTOP_PII_KEYS"),
])
def test_a_service_without_its_keys_refuses_to_start_naming_the_setting(service: str, missing: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONESTOP_")}
    env.update({k: v for k, v in key_env(service).items() if k != missing}, COLUMNS="200")
    out = subprocess.run([ONESTOP, "serve", service, "--port", str(free_port())], capture_output=True, text=True,
                         timeout=60, env=env)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0] and "missing setting" in lines[0], out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_database_unreachable_is_one_line(tmp_path: Path) -> None:
    out = _run("serve", "ledger", "--port", str(free_port()),
               DATABASE_URL=f"postgresql+asyncpg://postgres@/postgres?host={tmp_path}&port=5999")
    assert out.returncode == 1
    assert "PostgreSQL is not reachable" in out.stderr and "Traceback" not in out.stderr + out.stdout
    assert len(out.stderr.strip().splitlines()) <= 2


def test_nats_down_is_one_line(pg_server: str, make_database) -> None:  # type: ignore[no-untyped-def]
    out = _run("serve", "ledger", "--port", str(free_port()), DATABASE_URL=pg_server,
               ONESTOP_DATABASE_NAME=make_database("ledger"),
               NATS_URL=f"nats://127.0.0.1:{free_port()}")
    assert out.returncode == 1, out.stderr
    assert "NATS is not reachable" in out.stderr and "Traceback" not in out.stderr + out.stdout


def test_port_taken_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = _run("serve", "rules", "--port", str(port))
    assert out.returncode == 1 and "already taken" in out.stderr and "Traceback" not in out.stderr


def test_bad_setting_fails_fast() -> None:
    out = _run("serve", "rules", "--port", str(free_port()), DATABASE_URL="mysql://x@y/z")
    assert out.returncode == 1 and "PostgreSQL" in out.stderr and "Traceback" not in out.stderr
