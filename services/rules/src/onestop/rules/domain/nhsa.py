"""The national settlement shape (国家医保信息平台 结算信息, setlinfo + setldetail) of a quote.

Sums: medfee_sumamt = fund_pay_sumamt + psn_part_amt + hosp_part_amt, and
fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt + inscp_scp_amt = the billable total.
Each payer's fund code (fund_pay_type) is its policy's, by default the national table (payer.py):
390100 resident basic and 310100 employee pooled (→ hifp_pay), 390200 resident critical illness and
390300 its supplement (→ hifmi_pay), 330200 employee large-amount (→ hifob_pay), 61xxxx medical
assistance (→ maf_pay). The rest (640100 government gap-fill, 999997 other: four_party, charity,
commercial insurance, emergency_assistance, …) go into oth_pay, listed by payer id in `oth_pay_detail`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from onestop.contracts.money import format_fen
from onestop.contracts.quote import QuoteResult

HIFP = {"390100", "310100"}
HIFMI = {"390200", "390300"}
HIFOB = {"330200"}


class SetlDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fund_pay_type: str
    fund_payamt: str
    crt_payb_lmt_amt: str | None
    setl_proc_info: str
    payer: str


class NhsaSettlement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    medfee_sumamt: str
    fulamt_ownpay_amt: str
    overlmt_selfpay: str
    preselfpay_amt: str
    inscp_scp_amt: str
    act_pay_dedc: str
    hifp_pay: str
    hifmi_pay: str
    hifob_pay: str
    maf_pay: str
    oth_pay: str
    oth_pay_detail: dict[str, str]
    fund_pay_sumamt: str
    hosp_part_amt: str
    psn_part_amt: str
    psn_cash_pay: str
    setldetail: list[SetlDetail]


def to_nhsa(result: QuoteResult) -> NhsaSettlement:
    hifp = hifmi = hifob = maf = oth = 0
    dedc = 0
    oth_detail: dict[str, str] = {}
    details = []
    for p in result.payers:
        code = p.trace.nhsa_code
        if code in HIFP:
            hifp += p.amount
            dedc += min(p.trace.deductible, p.trace.base)  # 起付线 the person bore (实际支付起付线)
        elif code in HIFMI:
            hifmi += p.amount
        elif code in HIFOB:
            hifob += p.amount
        elif code is not None and code.startswith("61"):
            maf += p.amount
        else:
            oth += p.amount
            oth_detail[p.payer] = format_fen(p.amount)
        t = p.trace
        info = f"kind={t.kind};base={format_fen(t.base)};dedc={format_fen(t.deductible)};ratio={t.ratio}"
        details.append(SetlDetail(
            fund_pay_type=code or p.payer, fund_payamt=format_fen(p.amount),
            crt_payb_lmt_amt=None if t.cap_left is None else format_fen(t.cap_left),
            setl_proc_info=info, payer=p.payer))
    fund = hifp + hifmi + hifob + maf + oth
    return NhsaSettlement(
        medfee_sumamt=format_fen(result.total + result.hosp_part_amt),
        fulamt_ownpay_amt=format_fen(result.class_c_amount),
        overlmt_selfpay=format_fen(result.over_limit_amount),
        preselfpay_amt=format_fen(result.copay_first_amount),
        inscp_scp_amt=format_fen(result.policy_scope),
        act_pay_dedc=format_fen(dedc),
        hifp_pay=format_fen(hifp), hifmi_pay=format_fen(hifmi),
        hifob_pay=format_fen(hifob), maf_pay=format_fen(maf),
        oth_pay=format_fen(oth), oth_pay_detail=oth_detail,
        fund_pay_sumamt=format_fen(fund),
        hosp_part_amt=format_fen(result.hosp_part_amt),
        psn_part_amt=format_fen(result.self_pay), psn_cash_pay=format_fen(result.self_pay),
        setldetail=details,
    )
