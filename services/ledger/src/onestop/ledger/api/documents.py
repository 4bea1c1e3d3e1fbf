"""GET /v1/stays/{stay_id}/documents/{kind}: the papers a cashier hands the patient, in Chinese, as HTML or PDF."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from onestop.common.auth import CurrentPrincipal
from onestop.common.errors import field_error
from onestop.common.openapi import problem_responses
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.documents import service
from onestop.ledger.documents.service import HTML, KINDS, PDF
from onestop.ledger.problems import NotAcceptable

router = APIRouter(prefix="/v1", tags=["documents"])
_QVALUE = re.compile(r"^(0(\.\d{0,3})?|1(\.0{0,3})?)$")


def negotiate(accept: str | None) -> str:
    """text/html or application/pdf, the one the Accept header weighs highest (HTML when it weighs both alike,
    and when there is no header: DESIGN §9.1 'HTML by default'); a 406 problem naming Accept otherwise."""
    if not accept or not accept.strip():
        return HTML
    weights = {HTML: (-1, Decimal(0)), PDF: (-1, Decimal(0))}  # offer -> (specificity of the range, its q)
    for part in accept.split(","):
        media, *params = (x.strip().lower() for x in part.split(";"))
        q = Decimal(1)
        for p in params:
            if p.startswith("q="):
                # RFC 9110 §12.4.2 qvalue only: anything else (NaN, 2, -1, junk) weighs nothing
                q = Decimal(p[2:]) if _QVALUE.match(p[2:]) else Decimal(0)
        for offer in weights:
            kind = offer.split("/")[0]
            specificity = 2 if media == offer else 1 if media == f"{kind}/*" else 0 if media == "*/*" else -1
            if specificity > weights[offer][0]:
                weights[offer] = (specificity, q)
    best = max((HTML, PDF), key=lambda o: weights[o][1] if weights[o][0] >= 0 else Decimal(-1))
    if weights[best][0] < 0 or weights[best][1] <= 0:
        raise NotAcceptable("a document is served as text/html or application/pdf",
                            errors=[field_error("Accept", "text/html or application/pdf")])
    return best


@router.get("/stays/{stay_id}/documents/{kind}", summary="A stay's document in Chinese (HTML or PDF)",
            description="`kind`: " + ", ".join(f"`{k}`" for k in KINDS) + ". The stay's hospital, a bureau of its "
                        "region, or operator (another hospital: 404). `Accept: text/html` (the default) or "
                        "`application/pdf` (A4, the font embedded); anything else: 406. The patient's full name "
                        "and masked ID number are read from identity when the document is rendered (audited "
                        "there, stored nowhere in the ledger); identity or rules unreachable: 503 with "
                        "Retry-After. An unknown kind: 404 naming `kind`; a kind whose paper does not exist yet "
                        "(no notice issued, no settlement standing, no repayment plan): 404. `date` picks the "
                        "daily statement's day (default today, Asia/Shanghai).",
            responses={**problem_responses(403, 404, 406, 422, 503),
                       200: {"content": {HTML: {}, PDF: {}}, "description": "the document"}})
async def get_document(stay_id: str, kind: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                       accept: Annotated[str | None, Header()] = None,
                       on: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD")] = None
                       ) -> Response:
    service.check_kind(kind)
    media_type = negotiate(accept)
    doc = await service.document(runtime, principal, stay_id, kind, on=on)
    body = await service.render(doc, media_type)
    headers = {"Cache-Control": "no-store", "Vary": "Accept"}  # it carries the patient's name
    if media_type == PDF:
        headers["Content-Disposition"] = f'inline; filename="{kind}.pdf"'
    return Response(body, media_type=media_type, headers=headers)  # Starlette adds "; charset=utf-8" to text/
