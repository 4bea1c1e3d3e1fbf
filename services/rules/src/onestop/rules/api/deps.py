"""Dependencies of the rules API."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from onestop.common.service_app import Runtime, runtime_of
from onestop.rules.service import Policies


def policies_of(request: Request) -> Policies:
    return request.app.state.runtime.extras["policies"]  # type: ignore[no-any-return]


PoliciesDep = Annotated[Policies, Depends(policies_of)]
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
