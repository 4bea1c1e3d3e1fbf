"""Worker groups: every payer's legs are posted by exactly one group.

A process started with `ONESTOP_PAYER=basic,critical_illness` is a worker of the *dedicated* group of those
payers; one started without it is a worker of the *catch-all* group. The groups know each other through the
`worker_group` table, not through configuration that could disagree:
- a dedicated group registers its payers there when a worker of it starts, before it consumes; a payer already
  registered to another group refuses the start (`GroupConflict`): a payer is never in two dedicated groups;
- the catch-all reads the table in every batch's transaction and posts every payer that is not registered,
  so a new payer (a policy change) is posted at once, by the catch-all, with no configuration: never by none.
A registration is for good: the dedicated group's durable consumer starts at the stream's beginning, so legs
the catch-all posted before the registration are found posted (transfer ids are uuid5 of event × fund × leg,
the same whichever group derives them: a leg posted by both is one row, and balances move once) and legs the
catch-all skips after it are the dedicated group's to post, even while it is down (it catches up on start).
Handing a payer back to the catch-all is an operator's act (delete its row, then restart the catch-all with
its durable reset), not something a setting does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.store.tables import worker_group
from onestop.common.db import Database

CATCH_ALL = "catch-all"


class GroupConflict(RuntimeError):
    """A payer of this dedicated group already belongs to another one."""


@dataclass(frozen=True)
class Group:
    payers: frozenset[str]  # empty: the catch-all

    @property
    def name(self) -> str:
        return "-".join(sorted(self.payers)) if self.payers else CATCH_ALL

    @property
    def durable(self) -> str:
        """Its JetStream durable (and inbox) name: replicas of a group share it, groups never do."""
        return f"clearing-postings-{self.name}"

    async def register(self, db: Database) -> None:
        """A dedicated group claims its payers (idempotent); GroupConflict if another group has one."""
        if not self.payers:
            return
        async with db.transaction() as session:
            await session.execute(insert(worker_group).values(
                [{"payer": p, "group_name": self.name} for p in sorted(self.payers)]).on_conflict_do_nothing())
            rows = await session.execute(select(worker_group.c.payer, worker_group.c.group_name)
                                         .where(worker_group.c.payer.in_(sorted(self.payers))))
            taken = sorted(f"{r.payer} (group {r.group_name})" for r in rows if r.group_name != self.name)
        if taken:
            raise GroupConflict(f"payers already posted by another worker group: {', '.join(taken)}; a payer "
                                "belongs to one group (set ONESTOP_PAYER to exactly that group's payers)")

    async def mine(self, session: AsyncSession) -> Callable[[str], bool]:
        """Which payers this group posts, as of this transaction."""
        if self.payers:
            return self.payers.__contains__
        dedicated = {r.payer for r in await session.execute(select(worker_group.c.payer))}
        return lambda payer: payer not in dedicated
