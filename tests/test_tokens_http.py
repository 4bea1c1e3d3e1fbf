"""Tokens at the public surface: what a service refuses (401 problem+json), service-to-service calls, and a
revocation by `onestop token revoke` honoured by every running service within seconds."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from onestop.common.keys import key_id, private_key
from onestop.common.testing import mint, running, session_keys
from onestop.common.tokens import ServiceTokenMinter

ONESTOP = str(Path(sys.executable).parent / "onestop")
HOSPITALS = "/v1/hospitals?region_code=150222"
# The HS256 key every checkout shipped with until the keys left the repository (git history, commit 1527508).
OLD_DEV_KEY = "onestop-dev-signing-key-change-me-0123456789"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _refused(client: httpx.AsyncClient, token: str, why: str) -> None:
    r = await client.get(HOSPITALS, headers=_bearer(token))
    assert r.status_code == 401, (why, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["type"].endswith("/unauthorized") and why in r.json()["detail"], r.json()


async def test_refused_tokens_are_401_problems(settings_for) -> None:  # type: ignore[no-untyped-def]
    from onestop.rules.app import create_app

    async with running(create_app(settings_for("rules"))) as client:
        assert (await client.get(HOSPITALS, headers=_bearer(mint("hospital", hospital_code="H1")))).status_code == 200
        now = int(time.time())
        await _refused(client, mint("operator", ttl_s=600, issued_at=now - 3600), "expired")
        old = jwt.encode({"iss": "onestop", "aud": "onestop", "sub": "operator:x", "role": "operator", "jti": "j1",
                          "iat": now, "exp": now + 600}, OLD_DEV_KEY, algorithm="HS256", headers={"kid": "dev"})
        await _refused(client, old, "signing key is unknown")
        identity = ServiceTokenMinter("identity", session_keys().service_keys["identity"])
        assert (await client.get(HOSPITALS, headers=_bearer(identity.token_for("rules")))).status_code == 200
        await _refused(client, identity.token_for("ledger"), "another audience")
        # a service's own key, claiming to be an operator (what a compromised service would try)
        key = private_key(session_keys().service_keys["identity"])
        forged = jwt.encode({"iss": "service:identity", "aud": "rules", "sub": "service:identity", "role": "operator",
                             "jti": "j2", "iat": now, "exp": now + 60}, key, algorithm="EdDSA",
                            headers={"kid": key_id(key)})
        await _refused(client, forged, "does not match")
        week = jwt.encode({"iss": "onestop", "aud": "onestop", "sub": "operator:x", "role": "operator", "jti": "j3",
                           "iat": now, "exp": now + 7 * 86400}, private_key(session_keys().issuer_key),
                          algorithm="EdDSA", headers={"kid": key_id(private_key(session_keys().issuer_key))})
        await _refused(client, week, "longer than")


def _revoke(nats_url: str, *args: str) -> None:
    out = subprocess.run([ONESTOP, "token", "revoke", *args, "--nats-url", nats_url], capture_output=True,
                         text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert out.returncode == 0 and "revoked" in out.stderr, out.stderr


async def _refused_within(clients: list[httpx.AsyncClient], token: str, seconds: float = 5.0) -> float:
    start = time.monotonic()
    pending = list(clients)
    while pending:
        assert time.monotonic() - start < seconds, "a service still accepts a revoked token"
        for client in list(pending):
            if (await client.get(HOSPITALS, headers=_bearer(token))).status_code == 401:
                pending.remove(client)
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_a_revocation_is_honoured_by_every_service_within_seconds(  # type: ignore[no-untyped-def]
        settings_for, nats_url: str) -> None:
    from onestop.ledger.app import create_app as ledger_app
    from onestop.rules.app import create_app as rules_app

    token = mint("hospital", hospital_code="H1", subject="hospital:H-revoke-jti")
    kept = mint("hospital", hospital_code="H1", subject="hospital:H-kept")
    old_of_subject = mint("bureau", region_code="150222", subject="bureau:revoke-me", issued_at=int(time.time()) - 5)
    rules_settings, ledger_settings = settings_for("rules"), settings_for("ledger")
    async with running(rules_app(rules_settings)) as rules, running(ledger_app(ledger_settings)) as ledger:
        assert (await rules.get(HOSPITALS, headers=_bearer(token))).status_code == 200
        assert (await rules.get(HOSPITALS, headers=_bearer(old_of_subject))).status_code == 200
        assert (await ledger.get("/v1/nothing-here", headers=_bearer(token))).status_code == 404  # accepted

        _revoke(nats_url, jwt.decode(token, options={"verify_signature": False})["jti"])
        assert await _refused_within([rules, ledger], token) < 5
        assert (await rules.get(HOSPITALS, headers=_bearer(kept))).status_code == 200  # only that token

        _revoke(nats_url, "--subject", "bureau:revoke-me")
        assert await _refused_within([rules, ledger], old_of_subject) < 5
        await asyncio.sleep(1.0)  # a subject's revocation covers tokens issued up to that second
        renewed = mint("bureau", region_code="150222", subject="bureau:revoke-me")
        assert (await rules.get(HOSPITALS, headers=_bearer(renewed))).status_code == 200

    # a service starting later loads the list before it serves
    async with running(rules_app(settings_for("rules"))) as late:
        r = await late.get(HOSPITALS, headers=_bearer(token))
        assert r.status_code == 401 and "revoked" in r.json()["detail"]
