"""A settlement as the API answers it: the quote's fields (DESIGN §9) plus the settlement's own."""

from __future__ import annotations

from typing import Any

from onestop.contracts.money import format_fen
from onestop.ledger.domain.statement import notice_view


def shape(row: dict[str, Any], funds: list[dict[str, Any]], notice: dict[str, Any] | None = None) -> dict[str, Any]:
    """`notice`: the stay's latest discharge notice told before a final settlement; the answer shows how the
    settlement differs from it (000 §2.4)."""
    quote = row["quote"]
    owed = max(row["self_pay_fen"] - row["on_account_fen"], 0) if row["kind"] != "reversal" else 0
    return {
        "settlement_id": row["settlement_id"], "stay_id": row["stay_id"], "kind": row["kind"],
        "part_index": row["part_index"], "final": row["final"], "reverses": row.get("reverses"),
        "reversed_by": row.get("reversed_by"), "year": row["year"], "person_ref": row["person_ref"],
        "newborn": row["newborn"] or None, "hospital_code": row["hospital_code"],
        "hospital_region_code": row["hospital_region_code"], "region_code": row["insurance_region_code"],
        "starts_on": row["starts_on"].isoformat(), "through": row["through"].isoformat(),
        "discharge_way": row["discharge_way"], "disease_code": row["disease_code"],
        "policy": quote["policy"], "total": format_fen(row["total_fen"]),
        "itemised_total": quote.get("itemised_total"), "policy_scope": quote["policy_scope"],
        "out_of_scope": quote["out_of_scope"], "class_c_amount": quote.get("class_c_amount"),
        "over_limit_amount": quote.get("over_limit_amount"), "copay_first_amount": quote.get("copay_first_amount"),
        "payers": quote["payers"],
        "funds": [{"payer": f["payer"], "name": f["name"], "agency": f["agency"], "nhsa_code": f["nhsa_code"],
                   "amount": format_fen(f["amount_fen"])} for f in funds],
        "fund_pay": format_fen(row["fund_pay_fen"]), "self_pay": format_fen(row["self_pay_fen"]),
        "hosp_part_amt": format_fen(row["hosp_part_fen"]), "effective_ratio": row["effective_ratio"],
        "payments_on_account": format_fen(row["on_account_fen"]), "owed": format_fen(owed),
        "refund_due": format_fen(max(row["on_account_fen"] - row["self_pay_fen"], 0)
                                 if row["kind"] != "reversal" else 0),
        "trace": quote["trace"], "delta": row["delta"], "catalogue_notes": quote.get("catalogue_notes", []),
        "illustrative": quote.get("illustrative", []), "eligibility_recheck": row["recheck"],
        "reason": row.get("reason"), "settled_by": row["settled_by"], "settled_at": row["settled_at"].isoformat(),
        "notice": notice_view(notice, row, funds) if row["kind"] == "final" else None,
    }
