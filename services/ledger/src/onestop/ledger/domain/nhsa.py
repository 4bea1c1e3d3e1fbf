"""A settlement in the national interface's field names (国家医保信息平台 2304 住院结算 output: `setlinfo` and
`setldetail[]`), so that an HIS vendor maps it one to one. Pure: values in, a dict out.

Field meanings are those of the 2304 output as open-source HIS code declares them (newtouch-cloud/openhis,
`Output_2304.cs`: 17 医疗费总额 medfee_sumamt, 18 全自费金额 fulamt_ownpay_amt, 19 超限价自费费用 overlmt_selfpay,
20 先行自付金额 preselfpay_amt, 21 符合政策范围金额 inscp_scp_amt, 22 实际支付起付线 act_pay_dedc, 23 基本医疗保险
统筹基金支出 hifp_pay, 27 居民大病保险资金支出 hifmi_pay, 28 职工大额医疗费用补助基金支出 hifob_pay, 29 医疗救助
基金支出 maf_pay, 30 医院负担金额 hosp_part_amt, 31 其他支出 oth_pay, 32 基金支付总额 fund_pay_sumamt, 33 个人负担
总金额 psn_part_amt, 34 个人账户支出 acct_pay, 35 个人现金支出 psn_cash_pay; setldetail: fund_pay_type,
inscp_scp_amt, crt_payb_lmt_amt 本次可支付限额金额, fund_payamt, fund_pay_type_name, setl_proc_info).

The meaning taken for the sums, the one rules' own national view uses (services/rules/.../domain/nhsa.py):
hosp_part_amt is neither a fund's nor the person's (the itemised excess over a package price, borne by the
hospital), so  medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt,  where medfee_sumamt is the
settlement's total plus hosp_part_amt. Treat-first uses no personal account (acct_pay 0), so psn_cash_pay =
psn_part_amt: what the patient owes for this settlement (payments on account are the ledger's, not 2304's).

Fund codes (fund_pay_type) → setlinfo field: 310100 employee pooled and 390100 resident basic → hifp_pay;
390200 resident critical illness and 390300 its supplement → hifmi_pay; 330200 employee large-amount → hifob_pay;
61xxxx medical assistance → maf_pay; every other fund (640100 gap-fill, 999997 other …) → oth_pay, listed by
payer id in `oth_pay_detail` (a field of ours, beside the national ones). A fund without a code is 999997.

A reversal (2305) is its own settlement record with every amount negated; its view is the same mapping of its
negated rows, so every amount in it is zero or negative (the deductible too). Decimal strings, 2 places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from onestop.common.clock import as_shanghai
from onestop.contracts.money import format_fen, parse_yuan

OTHER_FUND = "999997"
_FIELD_OF_CODE = {"310100": "hifp_pay", "390100": "hifp_pay", "390200": "hifmi_pay", "390300": "hifmi_pay",
                  "330200": "hifob_pay"}
FUND_FIELDS = ("hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay")
INSUTYPE = {"employee": "310", "resident": "390"}  # 险种类型: 职工基本医疗保险, 城乡居民基本医疗保险


def fund_field(code: str | None) -> str:
    """The setlinfo field a fund's payment is summed into."""
    if code is None:
        return "oth_pay"
    if code.startswith("61"):
        return "maf_pay"
    return _FIELD_OF_CODE.get(code, "oth_pay")


def med_type(kind: str, chronic: bool) -> str:
    """医疗类别: 21 住院, 14 门诊慢特病, 11 普通门诊."""
    if kind == "inpatient":
        return "21"
    return "14" if chronic else "11"


def setl_time(at: datetime) -> str:
    """2304's 结算时间: yyyy-MM-dd HH:mm:ss, Asia/Shanghai."""
    return as_shanghai(at).strftime("%Y-%m-%d %H:%M:%S")


def _amount(quote: Mapping[str, Any], key: str) -> int:
    return parse_yuan(quote.get(key) or "0")


def view(row: Mapping[str, Any], funds: Sequence[Mapping[str, Any]], *, stay_kind: str, chronic: bool,
         insurance: str | None) -> dict[str, Any]:
    """`row` a settlement (amounts in fen, negated for a reversal; its `quote` as stored), `funds` its per-fund
    rows in waterfall order."""
    quote = row["quote"]
    reversal = row["kind"] == "reversal"
    sign = -1 if reversal else 1  # the stored trace (bases, deductibles) is the original's, never negated
    traces = {p["payer"]: p.get("trace") or {} for p in quote.get("payers", [])}
    by_field = dict.fromkeys(FUND_FIELDS, 0)
    oth_detail: dict[str, str] = {}
    dedc = 0
    details = []
    for fund in funds:
        code = fund["nhsa_code"] or OTHER_FUND
        field = fund_field(fund["nhsa_code"])
        by_field[field] += fund["amount_fen"]
        if field == "oth_pay":
            oth_detail[fund["payer"]] = format_fen(fund["amount_fen"])
        trace = traces.get(fund["payer"], {})
        if field == "hifp_pay":  # 实际支付起付线: the deductible the person bore in the basic fund's step
            dedc += sign * _amount(trace, "deductible_borne")
        cap_left = trace.get("cap_left")
        details.append({
            "fund_pay_type": code, "fund_pay_type_name": fund["name"], "payer": fund["payer"],
            "inscp_scp_amt": format_fen(sign * _amount(trace, "base")),
            # a limit, not an amount paid: a reversal has none
            "crt_payb_lmt_amt": None if cap_left is None or reversal else format_fen(parse_yuan(cap_left)),
            "fund_payamt": format_fen(fund["amount_fen"]), "setl_proc_info": trace.get("text_zh", ""),
        })
    fund_pay = sum(by_field.values())
    setlinfo = {
        "setl_id": row["settlement_id"], "mdtrt_id": row["stay_id"], "psn_no": row["person_ref"],
        "insutype": INSUTYPE.get(insurance or "", None), "med_type": med_type(stay_kind, chronic),
        "setl_time": setl_time(row["settled_at"]), "mid_setl_flag": "1" if row["kind"] == "mid" else "0",
        "clr_optins": row["insurance_region_code"],
        "medfee_sumamt": format_fen(row["total_fen"] + row["hosp_part_fen"]),
        "fulamt_ownpay_amt": format_fen(_amount(quote, "class_c_amount")),
        "overlmt_selfpay": format_fen(_amount(quote, "over_limit_amount")),
        "preselfpay_amt": format_fen(_amount(quote, "copay_first_amount")),
        "inscp_scp_amt": format_fen(_amount(quote, "policy_scope")),
        "act_pay_dedc": format_fen(dedc),
        **{k: format_fen(v) for k, v in by_field.items()},
        "cvlserv_pay": "0.00", "hifes_pay": "0.00",  # no civil-servant or enterprise fund in treat-first
        "oth_pay_detail": oth_detail,
        "fund_pay_sumamt": format_fen(fund_pay),
        "hosp_part_amt": format_fen(row["hosp_part_fen"]),
        "psn_part_amt": format_fen(row["self_pay_fen"]),
        "acct_pay": "0.00", "acct_mulaid_pay": "0.00",
        "psn_cash_pay": format_fen(row["self_pay_fen"]),
    }
    return {"setlinfo": setlinfo, "setldetail": details}
