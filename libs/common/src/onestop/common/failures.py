"""Which failures of applying an event are transient (retried for ever) and which mean it can never apply."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from onestop.common.errors import Unavailable

# SQLSTATE classes of a database that is away or busy, never of a bad event: 08 connection exception,
# 40 transaction rollback (serialization failure, deadlock), 53 insufficient resources, 57 operator
# intervention (admin shutdown, cannot connect now), 58 system error.
_TRANSIENT_SQLSTATE = ("08", "40", "53", "57", "58")


class UnknownVersion(Exception):
    """An event of a type this consumer handles, in a version it does not know (a breaking change)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail  # ours, no payload in it: shown as the parked event's reason


def is_transient(exc: BaseException) -> bool:
    """True for the database or a dependency being unreachable or timing out, anywhere in the cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (OSError, TimeoutError, Unavailable, sa_exc.TimeoutError)):
            return True  # connection refused, socket gone, pool or statement timeout, a 503 of a dependency
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError)):
            return True
        sqlstate = getattr(current, "sqlstate", None) or getattr(getattr(current, "orig", None), "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate[:2] in _TRANSIENT_SQLSTATE:
            return True
        if type(current).__module__.startswith("httpx") and type(current).__name__ in (
                "ConnectError", "ReadTimeout", "WriteTimeout", "ConnectTimeout", "PoolTimeout", "RemoteProtocolError",
                "ReadError", "WriteError"):
            return True
        if type(current).__module__.startswith("asyncpg") and type(current).__name__ in (
                "ConnectionDoesNotExistError", "InterfaceError", "InternalClientError"):
            return True
        # only what an exception was raised *from* (and a DBAPI error's driver error): a domain error raised
        # while handling a timeout is still a domain error
        current = current.__cause__ or getattr(current, "orig", None)
    return False
