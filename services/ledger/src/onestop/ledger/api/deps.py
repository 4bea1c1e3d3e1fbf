"""Dependencies shared by the ledger's routers."""

from typing import Annotated

from fastapi import Depends

from onestop.common.service_app import Runtime, runtime_of

RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
