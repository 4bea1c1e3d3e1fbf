"""Dependencies of the rules API.

All `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool, and a thread
hop per dependency costs more than the quote itself on a small machine (see bench/rules.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from onestop.common.auth import CurrentPrincipal
from onestop.common.service_app import Runtime, runtime_of
from onestop.rules.service import Policies


async def policies_of(request: Request) -> Policies:
    return request.app.state.runtime.extras["policies"]  # type: ignore[no-any-return]


PoliciesDep = Annotated[Policies, Depends(policies_of)]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]

__all__ = ["CurrentPrincipal", "PoliciesDep", "RuntimeDep"]
