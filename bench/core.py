"""What every benchmark shares: the infrastructure of the run and the result rows."""

from __future__ import annotations

import asyncio
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from onestop.cli.embedded import EmbeddedPostgres, NatsServer
from onestop.common.migrations import ensure_database
from onestop.common.settings import ConnectionSettings
from onestop.common.testing import key_env


@dataclass
class Row:
    group: str
    name: str
    value: float
    unit: str
    anchor: str | None = None  # name of the anchor row this is a ratio to
    ratio: float | None = None
    target: str | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Context:
    """One PostgreSQL and one nats-server for the whole run (embedded unless DATABASE_URL/NATS_URL)."""

    base: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="onestop-bench-")))
    pg: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    rows: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not os.environ.get("DATABASE_URL"):
            self.pg = EmbeddedPostgres(self.base / "pg").start()
        if not os.environ.get("NATS_URL"):
            self.nats = NatsServer(self.base / "nats" / "store").start()

    @property
    def database_url(self) -> str:
        return os.environ.get("DATABASE_URL") or self.pg.url  # type: ignore[union-attr]

    @property
    def nats_url(self) -> str:
        return os.environ.get("NATS_URL") or self.nats.url  # type: ignore[union-attr]

    def anchor(self, name: str) -> float | None:
        for r in self.rows:
            if r.group == "anchor" and r.name == name:
                return r.value
        return None

    def add(self, row: Row) -> Row:
        if row.anchor and row.ratio is None:
            a = self.anchor(row.anchor)
            if a:
                row.ratio = row.value / a
        self.rows.append(row)
        return row

    def close(self) -> None:
        """Stop the servers and delete the run's files (a full run leaves ~4 GB of database and CSV)."""
        if self.nats:
            self.nats.stop()
        if self.pg:
            self.pg.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def cpu_seconds(pattern: str, *, tree: bool = False) -> float:
    """CPU time (user + system) so far of every process whose command line contains `pattern` (Linux /proc;
    0 elsewhere), and with `tree` of their descendants too (uvicorn's workers): sampled before and after a
    phase, it says where a phase's CPU went."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    procs: dict[int, tuple[int, float, bool]] = {}  # pid -> (parent, cpu seconds, matches)
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                matches = pattern.encode() in f.read()
            if not (matches or tree):
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(pid)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, matches)

    def counted(pid: int) -> bool:
        for _ in range(64):  # up the parent chain
            entry = procs.get(pid)
            if entry is None:
                return False
            if entry[2]:
                return True
            if not tree:
                return False
            pid = entry[0]
        return False

    return sum(cpu for pid, (_, cpu, _) in procs.items() if counted(pid))



def database(ctx: Context, service: str) -> str:
    """A fresh database of the service's, migrated to head: its name."""
    name = f"bench_{service}_{uuid.uuid4().hex[:8]}"
    ensure_database(ctx.database_url, name)
    url = ConnectionSettings(service=service, DATABASE_URL=ctx.database_url, database_name=name).service_database_url()
    importlib.import_module(f"onestop.{service}.store.migrate").upgrade(url)
    return name


def serve(ctx: Context, service: str, port: int, workers: int = 1, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`onestop serve <service>` (uvicorn with uvloop and httptools) on its own fresh database, this run's keys,
    once ready: the process and the database's name. Ready within 3 minutes: on a busy 2-CPU machine one worker's
    start (imports, lifespan) was seen to take 26 s, and every worker starts at once."""
    name = database(ctx, service)
    # PYTHONDONTWRITEBYTECODE off for the services: with it every worker compiled SQLAlchemy, pydantic and the
    # rest from source at each start (a minute and more of CPU on a busy machine, seen 142 s to ready)
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environ = {**inherited, "DATABASE_URL": ctx.database_url, "NATS_URL": ctx.nats_url,
               "ONESTOP_DATABASE_NAME": name, "ONESTOP_LOG_LEVEL": "WARNING", **key_env(service), **env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "onestop.cli.main", "serve", service, "--port", str(port),  # uvloop, httptools
         "--workers", str(workers)],
        env=environ, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc, name
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError(f"{service} did not become ready")


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """Stop the subprocesses `serve` started (ours only), killing one that does not stop within 10 s."""
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def asyncpg_dsn(ctx: Context, service: str, db_name: str | None = None) -> str:
    """asyncpg's DSN for a service's bench database, or without a name for the server's maintenance database."""
    url = ctx.database_url if db_name is None else ConnectionSettings(
        service=service, DATABASE_URL=ctx.database_url, database_name=db_name).service_database_url()
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def quiet(conn: Any, started: float, limit_s: float) -> None:
    """Wait until no autovacuum worker runs (at most `limit_s` from `started`), then CHECKPOINT."""
    import asyncpg

    while time.perf_counter() - started < limit_s:
        if not await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"):
            break
        await asyncio.sleep(2)
    try:
        await conn.execute("CHECKPOINT")
    except asyncpg.InsufficientPrivilegeError:
        pass  # an external server where the bench's role may not checkpoint: measured as it is
