"""The command line: tokens, and start-up problems answered in one line, not a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from onestop.cli.embedded import free_port
from onestop.common.auth import TokenIssuer
from onestop.common.settings import ServiceSettings

ONESTOP = str(Path(sys.executable).parent / "onestop")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ONESTOP, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "200", **env})


def test_token_alone_on_last_line() -> None:
    out = _run("token", "--role", "payer", "--payer", "basic", "--region-code", "150222")
    assert out.returncode == 0
    s = ServiceSettings()
    p = TokenIssuer(s.jwt_keys, s.jwt_current_kid).verify(out.stdout.strip().splitlines()[-1])
    assert p.payer == "basic" and p.region_code == "150222"
    bad = _run("token", "--role", "hospital")
    assert bad.returncode == 1 and "--hospital-code" in bad.stderr and "Traceback" not in bad.stderr


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
