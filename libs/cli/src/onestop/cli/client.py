"""The CLI talks to the running services over HTTP, like any other client."""

from __future__ import annotations

import os

import httpx
import typer
from rich.console import Console

from onestop.cli.commands.tokens import client_issuer

DEFAULT_URLS = {"identity": "http://127.0.0.1:8001", "ledger": "http://127.0.0.1:8002",
                "rules": "http://127.0.0.1:8003", "clearing": "http://127.0.0.1:8004"}


def service_url(service: str) -> str:
    """ONESTOP_<SERVICE>_URL, else the local default port."""
    return os.environ.get(f"ONESTOP_{service.upper()}_URL", DEFAULT_URLS[service])


def client(service: str, token: str | None = None, timeout: float = 60.0) -> httpx.Client:
    """An HTTP client for a service, authorised with ONESTOP_TOKEN or, where the issuer's key is at hand (a local
    run), a short operator token minted for this command."""
    tok = token or os.environ.get("ONESTOP_TOKEN")
    if not tok:
        issuer = client_issuer()
        if issuer is None:
            Console(stderr=True).print("[bold red]error:[/] set ONESTOP_TOKEN (mint one with "
                                       "`onestop token --role operator`)")
            raise typer.Exit(1)
        tok = issuer.mint("operator", subject="operator:cli", ttl_s=900)
    return httpx.Client(base_url=service_url(service), headers={"Authorization": f"Bearer {tok}"}, timeout=timeout)
