"""The revocation list survives a NATS outage: a service that was running through it still honours a
revocation made after NATS came back (its watch is resumed, not silently dead)."""

from __future__ import annotations

import asyncio
import time

import jwt

from onestop.common.nats import connect
from onestop.common.revocation import revoke
from onestop.common.testing import mint, running


async def test_a_revocation_after_a_nats_restart_is_honoured(settings_for, nats_factory) -> None:  # type: ignore[no-untyped-def]
    from onestop.rules.app import create_app

    nats = nats_factory()
    token = mint("hospital", hospital_code="H1", subject="hospital:H-outage")
    headers = {"Authorization": f"Bearer {token}"}
    async with running(create_app(settings_for("rules", nats=nats.url))) as client:
        assert (await client.get("/v1/hospitals?region_code=150222", headers=headers)).status_code == 200
        nats.stop()
        await asyncio.sleep(2.0)
        nats.start()
        nc = await connect(nats.url, name="revoker")
        try:
            await revoke(nc.jetstream(), jti=jwt.decode(token, options={"verify_signature": False})["jti"])
        finally:
            await nc.close()
        deadline = time.monotonic() + 5  # the reconnect (0.5 s waits) and a fresh watch
        while (await client.get("/v1/hospitals?region_code=150222", headers=headers)).status_code != 401:
            assert time.monotonic() < deadline, "the revocation was not seen within 5 s of NATS coming back"
            await asyncio.sleep(0.2)

