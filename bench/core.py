"""What every benchmark shares: the infrastructure of the run and the result rows."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from onestop.cli.embedded import EmbeddedPostgres, NatsServer


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

