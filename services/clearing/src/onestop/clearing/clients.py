"""HTTP calls to the ledger with clearing's own `service` token (the ledger grants it `GET /v1/settlements`).

A ledger that cannot be reached, or answers 5xx (or refuses clearing's token), is a 503 with Retry-After,
never a 500: the reconciliation is asked again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from onestop.common.errors import Unavailable
from onestop.contracts.settlement_list import SettlementItem, SettlementPage

PAGE = 500  # the ledger's largest page


class LedgerClient:
    def __init__(self, base_url: str, auth: httpx.Auth, timeout_s: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout_s, auth=auth)

    async def settlements(self, **filters: str | None) -> list[SettlementItem]:
        """Every settlement of the filter, walking the cursor (its totals are not used: they are not as of a
        cut-off, the caller sums the items it keeps)."""
        params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        params["limit"] = PAGE
        out: list[SettlementItem] = []
        while True:
            try:
                r = await self._http.get("/v1/settlements", params=params)
            except httpx.HTTPError as exc:
                raise Unavailable("the ledger service is unreachable", dependency="ledger") from exc
            if r.status_code != 200:
                raise Unavailable(f"the ledger service answered {r.status_code}", dependency="ledger")
            page = SettlementPage.model_validate(r.json())
            out += page.items
            if not page.next_cursor:
                return out
            params["cursor"] = page.next_cursor

    async def close(self) -> None:
        await self._http.aclose()


class RulesClient:
    """The policy's operational data (`GET /v1/operations`): the fund budgets (003) and the claim calendar."""

    def __init__(self, base_url: str, auth: httpx.Auth, timeout_s: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout_s, auth=auth)

    async def operations(self, region_code: str, on: date) -> dict[str, Any]:
        """The region's operations in force on the date; {} when no policy covers it."""
        try:
            r = await self._http.get("/v1/operations", params={"region_code": region_code, "date": on.isoformat()})
        except httpx.HTTPError as exc:
            raise Unavailable("the rules service is unreachable", dependency="rules") from exc
        if r.status_code in (404, 422):
            return {}
        if r.status_code != 200:
            raise Unavailable(f"the rules service answered {r.status_code}", dependency="rules")
        return r.json().get("operations") or {}

    async def close(self) -> None:
        await self._http.aclose()
