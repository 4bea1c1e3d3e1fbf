"""Register imports: POST /v1/imports (multipart), the run, and its row-level report as CSV."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from onestop.common.auth import CurrentPrincipal
from onestop.common.errors import Problem, field_error, problem_response
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.ratelimit import RateLimited
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.imports import queries
from onestop.identity.imports.service import SOURCES, Importer, ImportRequest

router = APIRouter(prefix="/v1", tags=["imports"], dependencies=[RateLimited])
_CHUNK = 1024 * 1024


class UploadTooLarge(Problem):
    kind, title, status = "payload-too-large", "The upload is larger than this service accepts", 413


def too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"the file is larger than {limit} bytes (setting import_max_bytes); split it",
                          errors=[field_error("file", f"larger than {limit} bytes")])


# A multipart body is the file plus its part headers and boundaries: this much more is let through to the exact
# check on the file's bytes (_spool).
_MULTIPART_SLACK = 64 * 1024


class UploadLimit:
    """Refuses POST /v1/imports with 413 from its Content-Length, before the body is read: the route's own check
    (_spool) runs only once Starlette has spooled the whole multipart body to disk."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/imports":
            length = dict(scope["headers"]).get(b"content-length", b"")
            runtime = getattr(scope["app"].state, "runtime", None)
            if length.isdigit() and runtime is not None:
                limit = runtime.settings.import_max_bytes
                if int(length) > limit + _MULTIPART_SLACK:
                    await problem_response(too_large(limit), scope["path"])(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _spool(upload: IO[bytes], suffix: str, limit: int) -> tuple[Path, str]:
    """Copy the upload to a temp file in chunks (never whole in memory) and hash it for the idempotency key;
    past `limit` bytes stop, remove the copy and refuse with 413."""
    digest = hashlib.sha256()
    fd, name = tempfile.mkstemp(prefix="onestop-import-", suffix=suffix)
    size = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := upload.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                break
            digest.update(chunk)
            out.write(chunk)
    if size > limit:
        os.unlink(name)
        raise too_large(limit)
    return Path(name), digest.hexdigest()


@router.post("/imports", status_code=201, responses=problem_responses(413),
             summary="Import a register file (CSV UTF-8/GB18030 or XLSX), streamed, with a row-level report")
async def post_import(
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="the register, headers in English or Chinese (DESIGN §9.1)")],
    source: Annotated[str, Form(description=" | ".join(SOURCES))],
    region_code: Annotated[str | None, Form(pattern=r"^[0-9]{6}$", description="rows outside it are rejected; "
                                            "a bureau's default is its region")] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Any:
    scope = queries.authorise_import(principal, source, region_code)
    suffix = Path(file.filename or "").suffix.lower()[:8]
    path, digest = await asyncio.to_thread(_spool, file.file, suffix, runtime.settings.import_max_bytes)
    try:
        importer = Importer(runtime, principal, ImportRequest(path, file.filename, source, scope))
        fingerprint = request_hash("POST", "/v1/imports", {"source": source, "region_code": scope,
                                                           "sha256": digest, "filename": file.filename})
        return await runtime.idempotency.run(principal, idempotency_key, fingerprint, importer.work)
    finally:
        path.unlink(missing_ok=True)


@router.get("/imports/{import_id}", summary="An import: counts and the first rejections")
async def get_import(import_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await queries.read(runtime, principal, import_id)


class CsvResponse(Response):
    media_type = "text/csv"


@router.get("/imports/{import_id}/report.csv", summary="The row-level report (row, field, reason) as CSV",
            response_class=CsvResponse)
async def get_report(import_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Response:
    text = await queries.report(runtime, principal, import_id)
    return CsvResponse(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{import_id}-report.csv"'})
