"""The pure books: TigerBeetle's transfer rules, the chart's limits, settlement legs and their reversals, and the
invariants after random sequences (hypothesis) of advances, reversals, claims, decisions and disbursements."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onestop.clearing.domain.accounts import AccountKey, Balance, Code, Fund, InvalidFund
from onestop.clearing.domain.advances import OriginalNotPosted, Settlement, advances, reversals
from onestop.clearing.domain.invariants import checks, totals_of
from onestop.clearing.domain.transfers import (
    Kind,
    LimitExceeded,
    PendingResolved,
    Transfer,
    apply,
    post_pending,
    transfer_id,
    void_pending,
)

AT = datetime(2026, 3, 1, tzinfo=UTC)
BASIC = Fund("basic", "150222")


def acct(code: Code, fund: Fund = BASIC, hospital: str = "H1") -> AccountKey:
    return AccountKey(hospital, fund, code)


def settlement(funds: list[tuple[str, int]], *, reverses: str | None = None, sid: str = "s1",
               event_id: str = "e1") -> Settlement:
    return Settlement(event_id, sid, "H1", "150222", funds, sum(a for _, a in funds), AT, reverses)


def everyone(_payer: str) -> bool:
    return True


def test_a_leg_per_fund_with_an_amount_ids_deterministic() -> None:
    s = settlement([("basic", 70_00), ("critical_illness", 20_00), ("assistance", 0)])
    made = advances(s, everyone)
    assert [(t.fund.payer, t.amount, t.debit.code, t.credit.code) for t in made] == [
        ("basic", 70_00, Code.advance, Code.fund_payable), ("critical_illness", 20_00, Code.advance, Code.fund_payable)]
    assert [t.id for t in advances(s, everyone)] == [t.id for t in made]  # a replay derives the same ids
    assert made[0].id != advances(settlement([("basic", 70_00)], event_id="e2"), everyone)[0].id
    assert [t.fund.payer for t in advances(s, lambda p: p == "basic")] == ["basic"]


@pytest.mark.parametrize("funds, fund_pay", [
    ([("Basic!", 10)], 10),  # not a payer id
    ([("basic", 10), ("basic", 5)], 15),  # the same fund twice
    ([("basic", 10)], 11),  # does not add up to fund_pay
    ([("basic", -10)], -10),  # a finalized settlement's amounts are not negative
])
def test_a_fund_that_cannot_be_posted_is_refused_whole(funds: list[tuple[str, int]], fund_pay: int) -> None:
    with pytest.raises(InvalidFund):
        advances(Settlement("e", "s", "H1", "150222", funds, fund_pay, AT), everyone)


def test_a_reversal_corrects_each_leg_back_out_of_advance_or_into_owed_back_once_claimed() -> None:
    legs = {t.fund: t for t in advances(settlement([("basic", 70_00), ("gap_fill", 5_00)]), everyone)}
    rev = settlement([("basic", -70_00), ("gap_fill", -5_00)], reverses="s1", sid="s2", event_id="e2")
    out = reversals(rev, everyone, legs.get, lambda f: f.payer == "gap_fill")
    assert [(t.debit.code, t.credit.code, t.amount, t.corrects_id) for t in out] == [
        (Code.fund_payable, Code.advance, 70_00, legs[BASIC].id),
        (Code.fund_payable, Code.owed_back, 5_00, legs[Fund("gap_fill", "150222")].id)]
    books = apply({}, [*legs.values(), *out])
    assert books[acct(Code.advance)].net_debit() == 0 and books[acct(Code.fund_payable)].net_debit() == 0
    with pytest.raises(OriginalNotPosted):
        reversals(rev, everyone, lambda f: None, lambda f: False)
    with pytest.raises(InvalidFund):  # a reversal negates its original exactly
        reversals(settlement([("basic", -60_00), ("gap_fill", -15_00)], reverses="s1"), everyone, legs.get,
                  lambda f: False)


def test_two_phase_post_in_part_with_the_rest_to_rejected_and_void() -> None:
    adv = Transfer(uuid.uuid4(), acct(Code.advance), acct(Code.fund_payable), 100_00, "advance")
    claim = Transfer(uuid.uuid4(), acct(Code.claimed), acct(Code.advance), 100_00, "claim", Kind.pending)
    books = apply({}, [adv, claim])
    assert books[acct(Code.advance)] == Balance(0, 100_00, 100_00, 0)
    with pytest.raises(LimitExceeded):  # the advance is reserved: it cannot be claimed twice
        apply(books, [Transfer(uuid.uuid4(), acct(Code.claimed), acct(Code.advance), 1, "claim", Kind.pending)])
    decided = post_pending(claim, transfer_id=uuid.uuid4(), amount=80_00, rest_to=acct(Code.rejected),
                           rest_id=uuid.uuid4(), reason="over the catalogue price")
    after = apply(books, decided)
    assert after[acct(Code.advance)] == Balance(0, 100_00, 0, 100_00)
    assert after[acct(Code.claimed)].debits_posted == 80_00 and after[acct(Code.rejected)].debits_posted == 20_00
    with pytest.raises(PendingResolved):
        apply(books, [*decided, void_pending(claim, transfer_id=uuid.uuid4())])
    voided = apply(books, [void_pending(claim, transfer_id=uuid.uuid4())])
    assert voided[acct(Code.advance)] == Balance(0, 100_00, 0, 0)


def test_a_disbursement_never_exceeds_what_was_approved_and_not_paid() -> None:
    approve = Transfer(uuid.uuid4(), acct(Code.approved), acct(Code.claimed), 50_00, "approval")
    books = apply({acct(Code.claimed): Balance(0, 50_00, 0, 0)}, [approve])
    pay = Transfer(uuid.uuid4(), acct(Code.fund_payable), acct(Code.approved), 50_01, "disbursement")
    with pytest.raises(LimitExceeded):
        apply(books, [pay])
    assert books[acct(Code.approved)] == Balance(0, 50_00, 0, 0)  # a refused transfer changed nothing


FUNDS = st.sampled_from([BASIC, Fund("critical_illness", "150222"), Fund("basic", "410000")])
HOSPITALS = st.sampled_from(["H1", "H2"])
STEP = st.tuples(st.sampled_from(["settle", "reverse", "claim", "decide", "void", "pay", "prepay"]), HOSPITALS,
                 FUNDS, st.integers(1, 10_000_00), st.integers(0, 100))


@given(st.lists(STEP, max_size=60))
def test_invariants_hold_after_any_sequence(steps: list[tuple[str, str, Fund, int, int]]) -> None:
    """Whatever is tried, what was accepted leaves balanced books, every limit kept, balances = postings."""
    books: dict[AccountKey, Balance] = {}
    posted: list[Transfer] = []
    pendings: list[Transfer] = []
    resolved: set[uuid.UUID] = set()
    refused = 0
    for op, hospital, fund, amount, pct in steps:

        def k(code: Code, hospital: str = hospital, fund: Fund = fund) -> AccountKey:
            return AccountKey(hospital, fund, code)

        new = uuid.uuid4()
        if op == "settle":
            batch = [Transfer(new, k(Code.advance), k(Code.fund_payable), amount, "advance")]
        elif op == "reverse":
            legs = [t for t in posted if t.code == "advance" and t.debit == k(Code.advance)]
            if not legs:
                continue
            batch = [Transfer(new, k(Code.fund_payable), k(Code.advance), legs[-1].amount, "reversal",
                              corrects_id=legs[-1].id)]
        elif op == "claim":
            batch = [Transfer(new, k(Code.claimed), k(Code.advance), amount, "claim", Kind.pending)]
        elif op in ("decide", "void"):
            open_ = [p for p in pendings if p.id not in resolved and p.debit == k(Code.claimed)]
            if not open_:
                continue
            p = open_[0]
            batch = (post_pending(p, transfer_id=new, amount=p.amount * pct // 100, rest_to=k(Code.rejected),
                                  rest_id=uuid.uuid4(), reason="deduction")
                     + [Transfer(uuid.uuid4(), k(Code.approved), k(Code.claimed), p.amount * pct // 100,
                                 "approval")] * (pct > 0)
                     if op == "decide" else [void_pending(p, transfer_id=new)])
        elif op == "pay":
            batch = [Transfer(new, k(Code.fund_payable), k(Code.approved), amount, "disbursement")]
        else:
            batch = [Transfer(new, k(Code.fund_payable), k(Code.prepayment), amount, "prepayment")]
        try:
            books = apply(books, batch, set(resolved))
        except LimitExceeded:
            refused += 1
            continue
        resolved |= {t.pending_id for t in batch if t.pending_id}
        posted += batch
        pendings += [t for t in batch if t.kind is Kind.pending]
    verdicts = checks(totals_of(posted, books))
    assert all(c.ok for c in verdicts), verdicts
    for key in {t.debit.hospital_code for t in posted}:  # a hospital × fund's balances sum to zero
        assert sum(b.net_debit() for a, b in books.items() if a.hospital_code == key) == 0


def test_the_invariants_catch_a_balance_that_went_around_the_postings() -> None:
    t = Transfer(transfer_id("e1", BASIC, "advance"), acct(Code.advance), acct(Code.fund_payable), 10_00, "advance")
    books = apply({}, [t])
    books[acct(Code.advance)] = Balance(0, 10_01, 0, 0)
    failed = {c.name for c in checks(totals_of([t], books)) if not c.ok}
    assert failed == {"books_balanced", "balance_is_sum_of_postings"}
