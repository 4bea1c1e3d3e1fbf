"""Issue 13 points 4-5: a stay's documents over HTTP against a real identity and rules, PostgreSQL and nats-server:
sign, admit, post lines, issue the notice, settle, sign a repayment plan, then fetch each kind as HTML and as PDF;
the PDF's text has the Chinese title, the patient's full name (read from identity when rendered, audited there),
the masked ID number and the amounts; scopes; 404 and 406 problems; identity down is a 503."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from typing import Any

from ledger_api_helpers import HENAN, NAME, SHANZHOU_HOSPITAL, agreement_body, fresh_id, hospital, register, stay_body
from pypdf import PdfReader
from sqlalchemy import text
from test_settlement import line, post, settle

from onestop.common.clock import today
from onestop.common.testing import bearer
from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.documents.model import zh_date

H = SHANZHOU_HOSPITAL
READ = bearer("hospital", hospital_code=H)
TITLES = {"agreement": "“先诊疗、后付费”协议书", "daily-statement": "住院费用一日清单",
          "discharge-notice": "出院前费用告知书", "settlement": "住院费用结算单",
          "repayment-plan": "延期（分期）还款协议书"}


def pdf_text(data: bytes) -> str:
    """Whitespace and the NUL pypdf puts before each 2-byte CID glyph's text removed."""
    return re.sub(r"[\s\x00]+", "", "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages))


async def fetch(client: Any, sid: str, kind: str, accept: str = "text/html", headers: dict[str, str] = READ,
                **params: str) -> Any:
    return await client.get(f"/v1/stays/{sid}/documents/{kind}", params=params,
                            headers={**headers, "Accept": accept})


async def billed_stay(ledger: Any, identity: Any) -> tuple[dict[str, Any], str]:
    """Signed with the insurance card and an ID copy kept, admitted 2026-03-10, three lines and a refund on 03-11,
    the notice for 03-20 issued."""
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", headers=hospital(H),
                          json=agreement_body(number, HENAN, H, documents=["insurance_card", "id_copy"]))
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], H), headers=hospital(H))
    assert r.status_code == 201, r.text
    stay = r.json()
    sid = stay["stay_id"]
    r = await post(client, sid, line("L1", "3000.00"), line("L2", "800.00", "B"), line("L3", "150.00", "C"),
                   line("R1", "-200.00", refunds_line_id="L1"))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/stays/{sid}/discharge-notice", json={"expected_discharge": "2026-03-20",
                                                                     "told_to": "self"},
                          headers={**READ, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return stay, sid


async def test_each_document_as_html_and_pdf_shows_its_title_the_patient_and_the_amounts(  # type: ignore[no-untyped-def]
        ledger, ledger_identity) -> None:
    _app, client = ledger
    stay, sid = await billed_stay(ledger, ledger_identity)
    r = await fetch(client, sid, "settlement")
    assert r.status_code == 404 and "settlement" in r.json()["detail"], r.text  # nothing settled yet
    daily = (await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-11"},
                              headers=READ)).json()
    r = await fetch(client, sid, "daily-statement", date="2026-03-11")
    assert r.status_code == 200 and r.headers["content-type"] == "text/html; charset=utf-8", r.text
    html = r.text
    assert TITLES["daily-statement"] in html and NAME in html and "2026年3月11日" in html
    for amount in ("3000.00", "-200.00", "800.00", "150.00", "3750.00", daily["estimate"]["self_pay"]):
        assert amount in html, amount
    r = await fetch(client, sid, "daily-statement", "application/pdf", date="2026-03-11")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf", r.text
    assert r.headers["cache-control"] == "no-store"
    said = pdf_text(r.content)
    assert TITLES["daily-statement"] in said and NAME in said and "3750.00" in said and "-200.00" in said

    r = await settle(client, sid)
    assert r.status_code == 201, r.text
    settled = r.json()
    owed = parse_yuan(settled["owed"])
    assert owed > 1, settled
    first = owed // 2
    due = [today() + timedelta(days=n) for n in (30, 60)]
    r = await client.post(f"/v1/stays/{sid}/repayment-plan", headers={**READ, "Idempotency-Key": str(uuid.uuid4())},
                          json={"instalments": [{"due_date": due[0].isoformat(), "amount": format_fen(first)},
                                                {"due_date": due[1].isoformat(), "amount": format_fen(owed - first)}],
                                "signer": {"name": NAME, "relation": "self"}})
    assert r.status_code == 201, r.text
    pdfs: dict[str, bytes] = {}
    for kind, title in TITLES.items():
        for accept in ("text/html", "application/pdf"):
            r = await fetch(client, sid, kind, accept)
            assert r.status_code == 200, (kind, accept, r.text)
            assert r.headers["content-type"].startswith(accept)
            if accept == "application/pdf":
                pdfs[kind] = r.content
            body = r.text if accept == "text/html" else pdf_text(r.content)
            assert title in body and NAME in body and "陕州" in body, (kind, accept)
            masked = re.search(r"\d{4}\*{10}[\dX]{4}", body)
            assert masked, (kind, accept)
            if kind in ("discharge-notice", "settlement"):
                assert settled["total"] in body and settled["self_pay"] in body
                for fund in settled["funds"]:
                    assert fund["amount"] in body and (fund["nhsa_code"] or "") in body
    said = pdf_text(pdfs["repayment-plan"])
    assert format_fen(first) in said and format_fen(owed - first) in said and settled["owed"] in said
    assert zh_date(due[1]) in said and "待还" in said
    said = pdf_text(pdfs["settlement"])
    for payer in settled["payers"]:
        assert re.sub(r"\s+", "", payer["trace"]["text_zh"])[:12] in said  # the trace sentence, as wrapped
    assert len(PdfReader(io.BytesIO(pdfs["agreement"])).pages) == 2  # 一式两份
    kept = pdf_text(pdfs["agreement"])
    assert "社会保障卡（医保卡、参保证）" in kept and "有效居民身份证复印件" in kept


async def test_the_name_is_read_from_identity_with_the_ledger_service_token_and_audited(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, capsys, caplog) -> None:
    app, client = ledger
    identity_app, _ = ledger_identity
    stay, sid = await billed_stay(ledger, ledger_identity)
    capsys.readouterr()
    caplog.clear()
    r = await fetch(client, sid, "discharge-notice", "application/pdf")
    assert r.status_code == 200 and NAME in pdf_text(r.content)
    masked = re.search(r"\d{4}\*{10}[\dX]{4}", pdf_text(r.content))
    assert masked
    logged = capsys.readouterr().out + caplog.text
    assert "/name" in logged  # the calls were logged, and not what they answered
    assert NAME not in logged and masked.group(0) not in logged
    async with identity_app.state.runtime.db.transaction() as s:
        rows = (await s.execute(text("SELECT subject, role, endpoint FROM access_audit WHERE person_id = :p AND "
                                     "endpoint LIKE '%/name'"), {"p": stay["person_ref"]})).all()
    assert [tuple(x) for x in rows] == [("service:ledger", "service", "GET /v1/persons/{person_id}/name")]
    async with app.state.runtime.db.transaction() as s:  # the ledger's own access audit has the read
        rows = (await s.execute(text("SELECT subject, endpoint, detail FROM access_audit WHERE stay_id = :s AND "
                                     "endpoint LIKE '%/documents/%'"), {"s": stay["stay_id"]})).all()
    assert [tuple(x) for x in rows] == [(f"hospital:{H}", "GET /v1/stays/{stay_id}/documents/{kind}",
                                         "discharge-notice")]
    async with app.state.runtime.db.transaction() as s:  # the ledger stores no name
        for table in ("stay", "agreement", "discharge_notice"):
            dumped = (await s.execute(text(f"SELECT to_jsonb(t)::text FROM {table} t"))).scalars().all()
            assert not any(NAME in d for d in dumped), table


async def test_scopes_and_problems(ledger, ledger_identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    _stay, sid = await billed_stay(ledger, ledger_identity)
    r = await fetch(client, sid, "discharge-notice", headers=bearer("hospital", hospital_code="H411203999"))
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json", r.text
    for who in (bearer("bureau", region_code="411203"), bearer("operator")):
        assert (await fetch(client, sid, "discharge-notice", headers=who)).status_code == 200
    r = await fetch(client, sid, "discharge-notice", headers=bearer("bureau", region_code="320681"))
    assert r.status_code == 404
    r = await fetch(client, sid, "discharge-notice", headers=bearer("payer", region_code="411203", payer="basic"))
    assert r.status_code == 403
    assert (await client.get(f"/v1/stays/{sid}/documents/agreement")).status_code == 401

    r = await fetch(client, sid, "receipt")
    assert r.status_code == 404 and r.json()["errors"][0]["field"] == "kind", r.text
    r = await fetch(client, sid, "repayment-plan")  # none signed
    assert r.status_code == 404 and r.json()["detail"] == "the stay has no repayment plan", r.text
    r = await fetch(client, str(uuid.uuid4()), "agreement")
    assert r.status_code == 404
    for accept in ("application/json", "image/png", "text/html;q=0, application/pdf;q=0"):
        r = await fetch(client, sid, "agreement", accept)
        assert r.status_code == 406 and r.json()["errors"][0]["field"] == "Accept", (accept, r.text)
    for accept, media in (("*/*", "text/html"), ("application/pdf, text/html;q=0.5", "application/pdf"),
                          ("text/*", "text/html"), ("application/*", "application/pdf")):
        r = await fetch(client, sid, "agreement", accept)
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), (accept, r.headers)
    r = await fetch(client, sid, "daily-statement", date="2026-03-01")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", r.text

    import onestop.ledger.clients as clients

    async def down(self: Any, method: str, path: str, **kwargs: Any) -> Any:
        from onestop.common.errors import Unavailable
        raise Unavailable("the identity service is unreachable", dependency="identity")

    monkeypatch.setattr(clients.IdentityClient, "_call", down)
    r = await fetch(client, sid, "discharge-notice", "application/pdf")
    assert r.status_code == 503 and r.headers.get("retry-after"), r.text
    assert NAME not in r.text
