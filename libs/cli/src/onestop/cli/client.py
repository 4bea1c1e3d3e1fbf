"""The CLI talks to the running services over HTTP, like any other client."""

from __future__ import annotations

import os

import httpx

from onestop.common.auth import TokenIssuer
from onestop.common.settings import ServiceSettings

DEFAULT_URLS = {"identity": "http://127.0.0.1:8001", "ledger": "http://127.0.0.1:8002",
                "rules": "http://127.0.0.1:8003", "clearing": "http://127.0.0.1:8004"}


def service_url(service: str) -> str:
    """ONESTOP_<SERVICE>_URL, else the local default port."""
    return os.environ.get(f"ONESTOP_{service.upper()}_URL", DEFAULT_URLS[service])


def client(service: str, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
    """An HTTP client for a service, authorised with ONESTOP_TOKEN or a locally minted operator token."""
    tok = token or os.environ.get("ONESTOP_TOKEN")
    if not tok:
        s = ServiceSettings()
        tok = TokenIssuer(s.jwt_keys, s.jwt_current_kid, s.jwt_issuer).mint("operator", subject="operator:cli")
    return httpx.Client(base_url=service_url(service), headers={"Authorization": f"Bearer {tok}"}, timeout=timeout)
