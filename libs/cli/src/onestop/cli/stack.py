"""Bring the whole system up on one machine: PostgreSQL, NATS, migrations, the four services."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from onestop.cli.embedded import EmbeddedPostgres, NatsServer, RuntimeProblem, port_in_use
from onestop.cli.nats_auth import Subscribers, SubscribersError, load_subscribers
from onestop.cli.nats_credentials import password, with_user, write_server_config
from onestop.common.keys import KeySet
from onestop.common.settings import ConnectionSettings

SERVICES = {"identity": 8001, "ledger": 8002, "rules": 8003, "clearing": 8004}


def migrate_all(server_url: str, services: list[str] | None = None) -> None:
    """Create each service's database if missing and run its Alembic migrations."""
    from onestop.common.migrations import ensure_database

    for name in services or list(SERVICES):
        settings = ConnectionSettings(service=name, DATABASE_URL=server_url)  # type: ignore[call-arg]
        url = settings.service_database_url()
        if not os.environ.get(f"{name.upper()}_DATABASE_URL"):
            ensure_database(server_url, f"onestop_{name}")
        module = importlib.import_module(f"onestop.{name}.store.migrate")
        module.upgrade(url)


@dataclass
class Stack:
    data_dir: Path
    keys: KeySet
    host: str = "127.0.0.1"
    pg: EmbeddedPostgres | None = None
    nats: NatsServer | None = None
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    database_url: str = ""
    nats_url: str = ""  # without credentials: each service's environment gets its own user's
    subscribers: Path | None = None  # the subscribers configuration (issue 15); None: services only
    nats_auth: bool = False

    def nats_config(self) -> Path:
        """Generate the embedded server's users and permissions (the services', the operator's and the
        subscribers'), their passwords under keys/nats, into nats-auth.conf."""
        config = Subscribers()
        if self.subscribers is not None:
            try:
                config = load_subscribers(self.subscribers)
            except (SubscribersError, OSError) as exc:
                raise RuntimeProblem(f"the subscribers configuration cannot be used: {exc}") from None
        return write_server_config(config, self.data_dir / "keys", self.data_dir / "nats-auth.conf")

    def start_infra(self) -> None:
        self.database_url = os.environ.get("DATABASE_URL", "")
        self.nats_url = os.environ.get("NATS_URL", "")
        if not self.database_url:
            self.pg = EmbeddedPostgres(self.data_dir / "pg").start()
            self.database_url = self.pg.url
        if not self.nats_url:  # an external NATS_URL is used as given (its own authentication, if any)
            self.nats = NatsServer(self.data_dir / "nats", config=self.nats_config()).start()
            self.nats_url = self.nats.url
            self.nats_auth = True
        (self.data_dir / "nats.url").write_text(self.nats_url + "\n")  # for `onestop token revoke`

    def start_services(self, ports: dict[str, int] | None = None) -> dict[str, str]:
        ports = ports or SERVICES
        for name, port in ports.items():
            if port_in_use(port, self.host):
                raise RuntimeProblem(
                    f"port {port} for the {name} service is already taken: stop what uses it "
                    f"(`ss -ltnp | grep {port}`) and run again"
                )
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        for name, port in ports.items():
            out = (logs / f"{name}.log").open("ab")
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "onestop.cli.main", "serve", name, "--host", self.host, "--port", str(port)],
                env=self.service_env(name), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        urls = {name: f"http://{self.host}:{port}" for name, port in ports.items()}
        self._wait_ready(urls, logs)
        return urls

    def service_env(self, name: str) -> dict[str, str]:
        """A service's environment: ours, the servers' URLs and its keys (the issuer's private key is
        `onestop token`'s alone: never in a service's environment)."""
        env = {k: v for k, v in os.environ.items() if k != "ONESTOP_ISSUER_KEY"}
        # clearing here is the catch-all posting worker of every payer, whatever the shell says (a dedicated
        # group per payer, ONESTOP_PAYER, is a deployment's choice: docker-compose.yml)
        env.pop("ONESTOP_PAYER", None)
        nats_url = self.nats_url
        pw = password(self.data_dir / "keys", name) if self.nats_auth else None
        if pw is not None:
            nats_url = with_user(nats_url, name, pw)
        return {**env, "DATABASE_URL": self.database_url, "NATS_URL": nats_url, **self.keys.service_env(name)}

    def _wait_ready(self, urls: dict[str, str], logs: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = dict(urls)
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                proc = self.procs[name]
                if proc.poll() is not None:
                    tail = (logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-3:]
                    raise RuntimeProblem(f"the {name} service exited at start: {' | '.join(tail)}")
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(0.2)
        if pending:
            raise RuntimeProblem(f"not ready after {timeout}s: {', '.join(pending)} (see {logs})")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs.clear()
        if self.nats:
            self.nats.stop()
        if self.pg:
            self.pg.stop()
