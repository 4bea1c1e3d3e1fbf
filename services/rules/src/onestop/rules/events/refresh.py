"""Every rules replica rebuilds its registry when any replica publishes (policy.published).

A plain (non-durable) subscription is enough: the registry is rebuilt from the database, which is
the record; the event only says "look again".
"""

from __future__ import annotations

import structlog
from nats.aio.msg import Msg

from onestop.common.service_app import Runtime
from onestop.rules.service import Policies, ensure_fresh

log = structlog.get_logger("onestop.rules.refresh")


async def follow_publications(runtime: Runtime) -> None:
    policies: Policies = runtime.extras["policies"]

    async def handle(_msg: Msg) -> None:
        try:
            await ensure_fresh(policies, runtime.db)
        except Exception as exc:
            log.warning("policy_refresh_failed", error_type=type(exc).__name__)

    await runtime.nc.subscribe("onestop.rules.policy.published.>", cb=handle)
