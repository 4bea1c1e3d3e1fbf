"""A real nats-server started with the configuration generated from deploy/subscribers.toml (issue 15), the
services' streams on it with a few events of two seeds' regions, and a subscriber's connection that records
the permissions violations the server reports asynchronously. Shared by the permission and replay tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerConfig

from onestop.cli.embedded import NatsServer
from onestop.cli.nats_auth import load_subscribers
from onestop.cli.nats_credentials import password, with_user, write_server_config
from onestop.cli.subscription import connect_as
from onestop.common.nats import ensure_stream
from onestop.contracts.events.base import Envelope

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIBERS = ROOT / "deploy" / "subscribers.toml"
GUYANG = "150000.150200.150222"  # 003 Guyang county
SHANZHOU = "410000.411200.411203"  # 001 Henan, 陕州区
OWN = f"onestop.ledger.*.*.{GUYANG}"


@dataclass
class Permissioned:
    server: NatsServer
    data_dir: Path

    @property
    def keys(self) -> Path:
        return self.data_dir / "keys"

    def password(self, user: str) -> str:
        pw = password(self.keys, user)
        assert pw is not None
        return pw


def start_permissioned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Permissioned]:
    """A module's fixture: the server, stopped at the end."""
    data = tmp_path_factory.mktemp("nats-auth")
    # bcrypt rounds 4: the same check by nats-server, a fraction of the CPU (the machine is shared)
    conf = write_server_config(load_subscribers(SUBSCRIBERS), data / "keys", data / "nats-auth.conf", rounds=4)
    server = NatsServer(data / "nats", config=conf).start()
    try:
        yield Permissioned(server, data)
    finally:
        server.stop()


def envelope(owner: str, type_: str, region: str) -> bytes:
    """A CloudEvents envelope as the outbox sends it (its payload is what the subscriber checks)."""
    return Envelope(source=f"/onestop/{owner}", type=type_, subject=str(uuid.uuid4()), time=datetime.now(UTC),
                    data={"region_code": region, "marker": uuid.uuid4().hex}).model_dump_json().encode()


async def as_service(p: Permissioned, service: str) -> Client:
    return await nats.connect(with_user(p.server.url, service, p.password(service)))


async def publish_samples(permissioned: Permissioned) -> Permissioned:
    """Each service provisions its stream with its own user and publishes a few events of two seeds' regions;
    the ledger has a durable of its own (a service's durable, which no subscriber may pull from)."""
    events = {
        "ledger": [("stay.admitted", GUYANG), ("stay.admitted", SHANZHOU), ("stay.admitted", "150000.150200.150200"),
                   ("stay.admitted", "150000.150200.150221")],
        "clearing": [("claim.submitted.basic", GUYANG), ("claim.submitted.assistance", GUYANG),
                     ("claim.submitted.basic", SHANZHOU)],
        "identity": [("credit.changed", GUYANG), ("credit.changed", SHANZHOU)],
    }
    for owner, items in events.items():
        nc = await as_service(permissioned, owner)
        js = nc.jetstream()
        await ensure_stream(js, owner, max_age_s=396 * 86400.0)
        for what, region in items:
            await js.publish(f"onestop.{owner}.{what}.{region}", envelope(owner, f"{owner}.{what}.v1", region))
        if owner == "ledger":
            await js.add_consumer("ONESTOP_LEDGER", ConsumerConfig(durable_name="ledger-cost-alerts",
                                                                   filter_subject="onestop.ledger.fees.posted.>"))
        await nc.close()
    return permissioned


class Watch:
    """A subscriber's connection and the errors the server sent it asynchronously."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    async def cb(self, exc: Exception) -> None:
        self.errors.append(str(exc).lower())

    async def violation(self, *needles: str, within: float = 3.0) -> str:
        """The permissions violation naming all of `needles` (lower case), once the server has sent it."""
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            for e in self.errors:
                if "permissions violation" in e and all(n.lower() in e for n in needles):
                    return e
            await asyncio.sleep(0.05)
        raise AssertionError(f"no permissions violation naming {needles}; got {self.errors}")


async def connect(p: Permissioned, user: str) -> tuple[Client, Watch]:
    watch = Watch()
    return await connect_as(p.server.url, user, p.password(user), watch.cb), watch
