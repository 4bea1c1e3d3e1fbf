"""HTTP calls to identity and rules with the ledger's own `service` token (ServiceTokenMinter.auth(...)).

identity grants the ledger only `POST /v1/eligibility` and `GET /v1/persons/{person_id}/name` (its
api/service_grants.py); rules answers the
hospital registry and the treat-first rule to any caller. A dependency that cannot be reached, or answers
5xx, is a 503 with Retry-After (never a 500): the caller retries the same Idempotency-Key.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from onestop.common.errors import InvalidInput, Unavailable
from onestop.contracts.eligibility import EligibilityAnswer
from onestop.contracts.money import parse_yuan
from onestop.contracts.treat_first import TreatFirstRule


class _Client:
    name = ""

    def __init__(self, base_url: str, auth: httpx.Auth, timeout_s: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout_s, auth=auth)

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            r = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the {self.name} service is unreachable", dependency=self.name) from exc
        if r.status_code >= 500 or r.status_code in (401, 403, 429):
            # 401/403: the ledger's own token refused, a deployment fault the caller cannot fix by changing input
            raise Unavailable(f"the {self.name} service answered {r.status_code}", dependency=self.name)
        return r

    async def close(self) -> None:
        await self._http.aclose()


class IdentityClient(_Client):
    name = "identity"

    async def eligibility(self, id_number: str, region_code: str, hospital_code: str, on: date) -> EligibilityAnswer:
        r = await self._call("POST", "/v1/eligibility", json={"id_number": id_number, "region_code": region_code,
                                                              "hospital_code": hospital_code,
                                                              "date": on.isoformat()})
        if r.status_code == 422:
            # identity refuses the input (a malformed ID number, region): the caller's field, passed on
            body = r.json()
            raise InvalidInput(body.get("detail", "identity refused the input"), errors=body.get("errors") or [])
        if r.status_code != 200:
            raise Unavailable(f"identity answered {r.status_code}", dependency="identity")
        return EligibilityAnswer.model_validate(r.json())

    async def patient(self, person_id: str) -> dict[str, str | None] | None:
        """The full name and masked ID number a printed document shows, read when it is rendered and kept
        nowhere (identity audits the read); None when identity knows no such person."""
        r = await self._call("GET", f"/v1/persons/{person_id}/name")
        if r.status_code == 404:
            return None
        if r.status_code != 200:
            raise Unavailable(f"identity answered {r.status_code}", dependency="identity")
        body = r.json()
        return {"name": body.get("name"), "id_number_masked": body.get("id_number_masked")}


class RulesClient(_Client):
    name = "rules"

    async def hospitals(self, region_code: str, on: date) -> dict[str, dict[str, Any]] | None:
        """The region's designated hospitals in force on the date by code; None when no policy covers it."""
        r = await self._call("GET", "/v1/hospitals", params={"region_code": region_code, "date": on.isoformat()})
        if r.status_code in (404, 422):
            return None
        return {h["hospital_code"]: h for h in r.json()}

    async def operations(self, region_code: str, on: date) -> dict[str, Any]:
        """The region's operational policy data in force on the date (`GET /v1/operations`); {} when no policy
        covers it."""
        r = await self._call("GET", "/v1/operations", params={"region_code": region_code, "date": on.isoformat()})
        if r.status_code in (404, 422):
            return {}
        return r.json().get("operations") or {}

    async def cost_alert_thresholds(self, region_code: str, on: date) -> list[int]:
        """The region's cost-alert thresholds in force on the date (estimated totals, yuan, ascending), in fen;
        [] when the region states none or no policy covers it."""
        alerts = (await self.operations(region_code, on)).get("cost_alerts") or {}
        return [parse_yuan(t) for t in alerts.get("thresholds", [])]

    async def repayment_terms(self, region_code: str, on: date) -> tuple[int, tuple[int, ...]] | None:
        """(grace days, reminder lead days) of the region's `repayment` terms on the date; None when it states none."""
        terms = (await self.operations(region_code, on)).get("repayment")
        if not terms:
            return None
        return int(terms["grace_days"]), tuple(int(d) for d in terms["reminder_lead_days"])

    async def documents_returned_on(self, region_code: str, on: date) -> str | None:
        """When the documents held under an agreement go back: `payment` or `signed_plan`; None when unstated."""
        documents = (await self.operations(region_code, on)).get("documents") or {}
        return documents.get("returned_on")

    async def treat_first(self, region_code: str, on: date) -> TreatFirstRule | None:
        r = await self._call("GET", f"/v1/treat-first/{region_code}", params={"date": on.isoformat()})
        if r.status_code in (404, 422):
            return None
        return TreatFirstRule.model_validate(r.json())
