"""The written notice before discharge (出院前书面告知, 000 §2.4: 在患者出院前2d内将患者住院发生的医疗费用清单及
城乡居民基本医疗保险报销金额、自付费用金额书面通知患者及家属或签订协议人): the estimate's total, each fund and the
patient's share for the expected discharge date, stored as told (when, and by whom: the token subject, with an
optional role or relation, never a name) and published as `ledger.discharge_notice.issued.v1` (amounts only).
The settlement later shows how it differs from the latest notice (`domain.statement.notice_view`).

The quote is asked outside any transaction; the Idempotency-Key is claimed around it (as the settlement does).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import TZ, now
from onestop.common.errors import Conflict
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import DischargeNoticeIssued, FundAmount
from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.settlements.service import Discharge, fund_rows
from onestop.ledger.statements.estimate import quote_part, view
from onestop.ledger.stays.service import get_row
from onestop.ledger.store import statements


async def issue(runtime: Runtime, principal: Principal, stay_id: str, *, expected_discharge: date,
                told_by: str | None, told_to: str | None, key: str | None, fingerprint: str) -> Any:
    require_role(principal, Role.hospital, Role.operator)
    d = Discharge(at=datetime.combine(expected_discharge, time(12), tzinfo=TZ), through=expected_discharge)
    async with runtime.idempotency.claim(principal, key, fingerprint) as claim:
        if claim.stored is not None:
            return claim.stored
        stay, part, quote = await quote_part(runtime, principal, stay_id, d, field="expected_discharge")

        async def work(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            current = await get_row(session, stay["stay_id"])
            if current["state"] != "open":
                raise Conflict(f"the stay is {current['state']}", stay_state=current["state"])
            funds = fund_rows(quote)
            at = now()
            row = {"notice_id": str(uuid.uuid4()), "stay_id": stay["stay_id"],
                   "expected_discharge": expected_discharge, "part_index": part.index,
                   "total_fen": parse_yuan(quote["total"]), "self_pay_fen": parse_yuan(quote["self_pay"]),
                   "funds": funds, "quote": quote, "told_by": told_by, "told_to": told_to,
                   "told_by_subject": principal.subject, "told_at": at}
            await statements.add_notice(session, row)
            await runtime.outbox.add(session, DischargeNoticeIssued(
                notice_id=row["notice_id"], stay_id=stay["stay_id"], person_ref=stay["person_ref"],
                region_code=stay["insurance_region_code"], hospital_code=stay["hospital_code"],
                expected_discharge=expected_discharge, total=quote["total"], self_pay=quote["self_pay"],
                funds=[FundAmount(payer=f["payer"], name=f["name"], agency=f["agency"], nhsa_code=f["nhsa_code"],
                                  amount=format_fen(f["amount_fen"])) for f in funds],  # type: ignore[arg-type]
                told_at=at))
            return 201, {"notice_id": row["notice_id"], "stay_id": stay["stay_id"],
                         "expected_discharge": expected_discharge.isoformat(),
                         "days_before_discharge": (expected_discharge - at.astimezone(TZ).date()).days,
                         **view(quote, part, expected_discharge), "told_by": told_by, "told_to": told_to,
                         "told_by_subject": principal.subject, "told_at": at.isoformat()}

        return await claim.commit(work)

