"""A stay's document (DESIGN §9.1 `GET /v1/stays/{id}/documents/{kind}`): the ledger's read of the kind, the
patient's name and masked ID number asked of identity with the ledger's `service` token when it is rendered (never
stored here; identity audits the read), the hospital's name from rules' registry, then HTML or PDF.

Scope is the stay's (stays.service.check_scope: its hospital, a bureau of its region, an operator); another
hospital's token is told the stay does not exist. identity or rules unreachable: 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from anyio import to_thread

from onestop.common.auth import Principal, require_role
from onestop.common.clock import as_shanghai, now, today
from onestop.common.errors import NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.money import format_fen
from onestop.ledger.agreements import service as agreements
from onestop.ledger.clients import IdentityClient, RulesClient
from onestop.ledger.documents import contexts
from onestop.ledger.documents.html import render_html
from onestop.ledger.documents.model import Document
from onestop.ledger.documents.pdf import render_pdf
from onestop.ledger.receivables import plans
from onestop.ledger.settlements import reads
from onestop.ledger.statements import daily
from onestop.ledger.stays import service as stays
from onestop.ledger.store import statements

KINDS = ("agreement", "daily-statement", "discharge-notice", "settlement", "repayment-plan")
HTML, PDF = "text/html", "application/pdf"
ENDPOINT = "GET /v1/stays/{stay_id}/documents/{kind}"


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise NotFound("no such document kind", errors=[field_error("kind", "one of " + ", ".join(KINDS))])


async def document(runtime: Runtime, principal: Principal, stay_id: str, kind: str, *,
                   on: date | None = None) -> Document:
    """The document's blocks; `on` is the daily statement's day (default today, Asia/Shanghai)."""
    require_role(principal, Role.hospital, Role.bureau, Role.operator)
    check_kind(kind)
    async with runtime.db.transaction() as session:
        # scope first (a 404 says nothing of others), and this read in the access audit; the reads below that
        # audit themselves (settlements, plan, daily statement) add their own rows
        stay = stays.shape(await stays.audited_read(session, principal, stay_id, ENDPOINT, detail=kind))
        data: Any = None
        if kind == "agreement":
            data = await agreements.read(session, stay["agreement_id"])
        elif kind == "discharge-notice":
            row = await statements.latest_notice(session, stay["stay_id"], at_or_before=now())
            if row is None:
                raise NotFound("no discharge notice has been issued for this stay")
            data = notice_read(row)
        elif kind == "settlement":
            data = latest_standing((await reads.of_stay(session, principal, stay["stay_id"]))["items"])
            if data is None:
                raise NotFound("this stay has no standing settlement")
        elif kind == "repayment-plan":
            data = await plans.read(session, principal, stay["stay_id"])  # 404 when the stay has none
    if kind == "daily-statement":
        data = await daily.daily(runtime, principal, stay["stay_id"], on or today())
    patient, hospital_name = await asyncio.gather(_patient(runtime, stay), _hospital_name(runtime, stay))
    frame = contexts.Frame(stay=stay, patient=patient, hospital_name=hospital_name, printed_on=today())
    build = {"agreement": contexts.agreement, "daily-statement": contexts.daily_statement,
             "discharge-notice": contexts.discharge_notice, "settlement": contexts.settlement,
             "repayment-plan": contexts.repayment_plan}[kind]
    return build(frame, data)


async def render(doc: Document, media_type: str) -> bytes:
    """HTML, or a PDF made in a worker thread (fpdf2 is synchronous and takes about a second)."""
    if media_type == PDF:
        return await to_thread.run_sync(render_pdf, doc)
    return render_html(doc).encode()


def latest_standing(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The stay's last settlement neither a reversal nor reversed (the final one once the stay is settled)."""
    standing = [s for s in items if s["kind"] != "reversal" and not s.get("reversed_by")]
    return max(standing, key=lambda s: (s["part_index"], s["settled_at"]), default=None)


def notice_read(row: dict[str, Any]) -> dict[str, Any]:
    """A stored discharge notice (store.statements) as the context builder reads it: yuan strings, ISO dates."""
    return {"notice_id": row["notice_id"], "expected_discharge": row["expected_discharge"].isoformat(),
            "told_at": row["told_at"].isoformat(), "told_to": row["told_to"], "total": format_fen(row["total_fen"]),
            "self_pay": format_fen(row["self_pay_fen"]), "quote": row["quote"],
            "funds": [{**{k: f[k] for k in ("payer", "name", "agency", "nhsa_code")},
                       "amount": format_fen(f["amount_fen"])} for f in row["funds"]]}


async def _patient(runtime: Runtime, stay: dict[str, Any]) -> contexts.Patient:
    identity: IdentityClient = runtime.extras["identity"]
    answer = await identity.patient(stay["person_ref"]) or {}
    return contexts.Patient(name=answer.get("name"), id_number_masked=answer.get("id_number_masked"))


async def _hospital_name(runtime: Runtime, stay: dict[str, Any]) -> str:
    """The hospital's name as the region's registry has it at admission; its code if the registry lacks it."""
    rules: RulesClient = runtime.extras["rules"]
    on = as_shanghai(datetime.fromisoformat(stay["admitted_at"])).date()
    for region in dict.fromkeys((stay["region_code"], stay["hospital_region_code"])):
        hospital = (await rules.hospitals(region, on) or {}).get(stay["hospital_code"])
        if hospital is not None:
            return str(hospital["name"])
    return str(stay["hospital_code"])
