from datetime import date

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import bill, periods, tariffs
from ledger.bill import (
    GenerateBill,
    ImportBill,
    ImportedLine,
    RecordPayment,
    RecordRefund,
    RefundMonth,
    ReversePayment,
    RosterEntry,
)
from ledger.errors import (
    BillAlreadyIssued,
    BillNotFound,
    InvalidInput,
    OutsideCoverageWindow,
    PaymentAlreadyReversed,
    PaymentExceedsBill,
    PaymentNotFound,
    ReferenceAlreadyUsed,
    RefundNotDue,
)
from ledger.events import (
    BillIssued,
    BillLine,
    LineSpan,
    PaymentRecorded,
    PaymentReversed,
    RefundLine,
    RefundRecorded,
)
from tests.unit.scenario import KOTAMOBAGU_OPENED, a_program

TODAY = date(2024, 6, 30)
KOTAMOBAGU = a_program()  # coverage 2024-03..2024-12, paid from APBD


def nik_of(n: int) -> str:
    return f"71740145038500{n:02d}"


def nik_hash(nik: str) -> str:
    """Stands in for ``Keyring.nik_hash``: billing only compares hashes."""
    return f"hash-of-{nik}"


def member(n: int, **changes) -> RosterEntry:
    """An enrolled participant covered from March 2024."""
    fields = dict(participant_id=f"p{n}", nik_hash=nik_hash(nik_of(n)), kpj=f"2401234{n:04d}",
                  status="enrolled", occupation="Pedagang kaki lima",
                  coverage_start=date(2024, 3, 1), terminated_on=None, termination_reason=None,
                  lapsed_from=None)
    return RosterEntry(**{**fields, **changes})


def candidate(n: int, status: str) -> RosterEntry:
    return member(n, status=status, kpj=None, coverage_start=None)


def a_bill(*events) -> bill.Bill:
    state = None
    for event in events:
        state = bill.evolve(state, event)
    return state


def issued(roster=None, period="2024-06", months=1, program=KOTAMOBAGU, **command):
    roster = [member(1), member(2), member(3)] if roster is None else roster
    return bill.generate(None, program, roster,
                         GenerateBill(period=period, months=months, **command), TODAY)


def payment(ref="SP2D-001", amount=16_800, paid_on=date(2024, 6, 10), **changes):
    return RecordPayment(payment_ref=ref, paid_on=paid_on, amount_idr=amount, **changes)


def row(line_no, nik, period="2024-06", amount=16_800, kpj=None) -> ImportedLine:
    return ImportedLine(line_no=line_no, nik=nik, kpj=kpj, period=period, amount_idr=amount)


INVOICE = ImportBill(bill_id="INV/BPJSTK/2024/06/001", document_ref="tagihan-juni.xlsx")


def imported(roster, rows, program=KOTAMOBAGU, command=INVOICE) -> BillIssued:
    [event] = bill.import_bill(None, program, roster, command, rows, nik_hash, TODAY)
    return event


# Generating a bill


def test_a_month_bill_has_a_line_per_enrolled_participant_at_the_tariff():
    [event] = issued()

    assert event.bill_id == "2024-06"
    assert event.source == "generated"
    assert event.funding_source == "APBD"
    assert (event.first_period, event.months) == ("2024-06", 1)
    assert [(line.participant_id, line.first_period, line.months, line.amount_idr,
             line.rule_version, line.flags) for line in event.lines] == [
        ("p1", "2024-06", 1, 16_800, "tariff/2015-07", []),
        ("p2", "2024-06", 1, 16_800, "tariff/2015-07", []),
        ("p3", "2024-06", 1, 16_800, "tariff/2015-07", [])]
    assert event.stated_total_idr == 50_400
    assert a_bill(event).outstanding_idr == a_bill(event).billed_idr == 50_400


def test_a_generated_line_names_the_participant_and_kpj_but_not_the_nik():
    [event] = issued([member(7)])

    assert (event.lines[0].participant_id, event.lines[0].nik, event.lines[0].kpj) == (
        "p7", "", member(7).kpj)


def test_only_enrolled_participants_are_billed():
    roster = [member(1), candidate(2, "awaiting_verification"), candidate(3, "mismatched"),
              candidate(4, "matched")]

    [event] = issued(roster)

    assert [line.participant_id for line in event.lines] == ["p1"]


def test_a_participant_enrolled_later_is_billed_from_their_coverage_start():
    [event] = issued([member(1, coverage_start=date(2024, 8, 20))], period="2024-07", months=3)

    assert [(line.first_period, line.months, line.amount_idr) for line in event.lines] == [
        ("2024-08", 2, 33_600)]


def test_an_advance_bill_puts_a_participants_months_at_one_tariff_on_one_line():
    [event] = issued([member(1)], period="2024-07", months=6)

    assert event.bill_id == "2024-07+6"
    assert [(line.first_period, line.months, line.amount_idr) for line in event.lines] == [
        ("2024-07", 6, 100_800)]
    assert event.stated_total_idr == 100_800


def test_a_participant_who_died_in_the_month_is_billed_for_it_but_not_after():
    died = member(1, status="terminated", terminated_on=date(2024, 6, 20),
                  termination_reason="died")

    [june] = issued([died, member(2)], period="2024-06")
    [july] = issued([died, member(2)], period="2024-07")
    [advance] = issued([died, member(2)], period="2024-04", months=6)

    assert [line.participant_id for line in june.lines] == ["p1", "p2"]
    assert [line.participant_id for line in july.lines] == ["p2"]
    assert [(line.participant_id, line.first_period, line.months) for line in advance.lines] == [
        ("p1", "2024-04", 3), ("p2", "2024-04", 6)]


def test_a_lapsed_participant_is_billed_only_for_the_months_before_the_lapse():
    lapsed = member(1, status="lapsed", lapsed_from="2024-05")

    [advance] = issued([lapsed], period="2024-03", months=3)

    assert [(line.first_period, line.months) for line in advance.lines] == [("2024-03", 2)]
    with pytest.raises(InvalidInput):
        issued([lapsed], period="2024-05")


@pytest.mark.parametrize("months", [0, 2, 4, 5, 7, 24, -1])
def test_an_advance_bill_is_for_3_6_or_12_months_only(months):
    with pytest.raises(InvalidInput) as refused:
        issued(period="2024-03", months=months)
    assert refused.value.field == "months"


@pytest.mark.parametrize(("period", "months"), [
    ("2024-02", 1),   # before the agreement's coverage starts
    ("2025-01", 1),   # after it ends
    ("2024-10", 6),   # runs past December
    ("2024-03", 12),  # a year from March runs into 2025
])
def test_months_outside_the_coverage_window_are_refused(period, months):
    with pytest.raises(OutsideCoverageWindow) as refused:
        issued(period=period, months=months)
    assert refused.value.field == "period"


def test_a_malformed_month_is_refused_naming_the_period():
    with pytest.raises(InvalidInput) as refused:
        issued(period="2024-6")
    assert refused.value.field == "period"


def test_a_month_written_with_spaces_names_the_same_bill_as_the_month_itself():
    # default_bill_id promises that generating the same month twice meets the first bill
    assert bill.default_bill_id(GenerateBill(period=" 2024-06 ")) == \
        bill.default_bill_id(GenerateBill(period="2024-06"))


def test_the_same_bill_is_not_issued_twice():
    given = a_bill(*issued())

    with pytest.raises(BillAlreadyIssued) as refused:
        bill.generate(given, KOTAMOBAGU, [member(1)], GenerateBill(period="2024-06"), TODAY)
    assert refused.value.field == "bill_id"


def test_a_bill_with_nobody_enrolled_is_refused():
    with pytest.raises(InvalidInput) as refused:
        issued([candidate(1, "matched"), candidate(2, "awaiting_verification")])
    assert "nothing to bill" in refused.value.detail


def test_a_bill_for_an_empty_roster_is_refused():
    with pytest.raises(InvalidInput):
        issued([])


def test_a_clerk_may_name_the_bill_and_choose_who_pays():
    program = a_program(opened=msgspec.structs.replace(
        KOTAMOBAGU_OPENED, budget_idr={"APBD": 1_000_000_000, "CSR": 50_000_000}))

    [event] = issued([member(1)], program=program, bill_id="TAG-06", funding_source="CSR")

    assert (event.bill_id, event.funding_source) == ("TAG-06", "CSR")


def test_by_default_the_program_s_largest_budget_source_pays():
    program = a_program(opened=msgspec.structs.replace(
        KOTAMOBAGU_OPENED, budget_idr={"APBD": 10_000_000, "DANA_DESA": 50_000_000}))

    [event] = issued([member(1)], program=program)

    assert event.funding_source == "DANA_DESA"


CSR_2025_2026 = msgspec.structs.replace(
    KOTAMOBAGU_OPENED, program_id="minahasa-tenggara-csr", fiscal_year=2025,
    budget_idr={"CSR": 100_000_000}, coverage_start=date(2025, 1, 1),
    coverage_end=date(2026, 12, 31))


def test_an_advance_bill_across_a_tariff_change_splits_the_months_by_tariff():
    program = a_program(opened=CSR_2025_2026)
    driver = member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1))
    vendor = member(2, coverage_start=date(2025, 1, 1))

    [event] = issued([driver, vendor], period="2025-10", months=6, program=program)

    assert event.funding_source == "CSR"
    assert [(line.participant_id, line.first_period, line.months, line.amount_idr,
             line.rule_version) for line in event.lines] == [
        ("p1", "2025-10", 3, 50_400, "tariff/2015-07"),
        ("p1", "2026-01", 3, 25_200, "tariff/2026-01"),
        ("p2", "2025-10", 3, 50_400, "tariff/2015-07"),
        ("p2", "2026-01", 3, 50_400, "tariff/2026-01")]
    assert event.stated_total_idr == 176_400


def test_an_ojek_driver_on_a_city_budget_keeps_one_line_at_the_full_tariff():
    program = a_program(opened=msgspec.structs.replace(
        CSR_2025_2026, budget_idr={"APBD": 100_000_000}))
    driver = member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1))

    [event] = issued([driver], period="2026-01", months=3, program=program)

    assert [(line.months, line.amount_idr) for line in event.lines] == [(3, 50_400)]


def test_every_line_of_a_bill_is_lines_times_tariff():
    program = a_program(opened=CSR_2025_2026)
    roster = [member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1)),
              member(2, coverage_start=date(2025, 4, 1))]

    [event] = issued(roster, period="2025-07", months=12, program=program)

    for line in event.lines:
        months = periods.span(line.first_period, line.months)
        occupation = next(e.occupation for e in roster if e.participant_id == line.participant_id)
        tariffs_of_line = {tariffs.tariff_for(p, "CSR", occupation=occupation).amount_idr
                           for p in months}
        assert len(tariffs_of_line) == 1
        assert line.amount_idr == tariffs_of_line.pop() * line.months
    assert sum(line.months for line in event.lines) == 24


# Importing a bill as BPJS TK sends it


def test_an_imported_line_as_expected_carries_no_flag():
    event = imported([member(1)], [row(1, nik_of(1))])

    assert event.source == "imported"
    assert (event.bill_id, event.document_ref) == (INVOICE.bill_id, INVOICE.document_ref)
    assert event.lines == [BillLine(participant_id="p1", nik=nik_of(1), kpj=member(1).kpj,
                                    first_period="2024-06", months=1, amount_idr=16_800,
                                    rule_version="tariff/2015-07", flags=[])]
    assert event.stated_total_idr == 16_800


def test_an_imported_line_is_matched_by_kpj_when_the_nik_is_unknown():
    event = imported([member(1)], [row(1, "7174000000000000", kpj=member(1).kpj)])

    assert event.lines[0].participant_id == "p1"
    assert event.lines[0].nik == "7174000000000000"  # as the file gave it
    assert event.lines[0].flags == []


@pytest.mark.parametrize(("entry", "period", "flag"), [
    (None, "2024-06", "unknown_participant"),
    (candidate(1, "awaiting_verification"), "2024-06", "not_matched"),
    (candidate(1, "mismatched"), "2024-06", "not_matched"),
    (candidate(1, "matched"), "2024-06", "not_enrolled"),
    (member(1, coverage_start=date(2024, 7, 1)), "2024-06", "before_enrollment"),
    (member(1, status="terminated", terminated_on=date(2024, 5, 31),
            termination_reason="died"), "2024-06", "died"),
    (member(1, status="terminated", terminated_on=date(2024, 5, 2),
            termination_reason="moved"), "2024-06", "terminated"),
    (member(1, status="lapsed", lapsed_from="2024-04"), "2024-06", "lapsed"),
    (member(1, status="lapsed", lapsed_from="2024-06"), "2024-06", "lapsed"),
])
def test_an_imported_line_the_ledger_did_not_expect_is_flagged_with_why(entry, period, flag):
    roster = [] if entry is None else [entry]

    event = imported(roster, [row(1, nik_of(1), period=period)])

    assert event.lines[0].flags == [flag]


def test_a_line_for_the_month_of_death_itself_is_not_flagged():
    died = member(1, status="terminated", terminated_on=date(2024, 6, 3),
                  termination_reason="died")

    assert imported([died], [row(1, nik_of(1))]).lines[0].flags == []


def test_a_line_for_a_month_before_the_lapse_is_not_flagged():
    lapsed = member(1, status="lapsed", lapsed_from="2024-07")

    assert imported([lapsed], [row(1, nik_of(1))]).lines[0].flags == []


def test_an_unknown_participant_keeps_the_nik_the_file_gave():
    event = imported([member(1)], [row(1, "7174000000000009", kpj="99999999999")])

    assert event.lines[0].participant_id is None
    assert (event.lines[0].nik, event.lines[0].kpj) == ("7174000000000009", "99999999999")
    assert event.lines[0].flags == ["unknown_participant"]


def test_an_amount_other_than_the_tariff_is_flagged():
    event = imported([member(1), member(2)], [row(1, nik_of(1), amount=20_000),
                                               row(2, nik_of(2), amount=16_800)])

    assert [line.flags for line in event.lines] == [["amount_not_tariff"], []]


def test_an_amount_flag_adds_to_the_reason_the_person_was_not_expected():
    died = member(1, status="terminated", terminated_on=date(2024, 4, 30),
                  termination_reason="died")

    event = imported([died], [row(1, nik_of(1), amount=8_400)])

    assert event.lines[0].flags == ["died", "amount_not_tariff"]


def test_an_imported_line_is_checked_against_the_discounted_tariff_it_is_paid_at():
    program = a_program(opened=CSR_2025_2026)
    driver = member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1))

    event = imported([driver], [row(1, nik_of(1), period="2026-02", amount=8_400),
                                row(2, nik_of(1), period="2025-12", amount=8_400)],
                     program=program)

    assert [(line.rule_version, line.flags) for line in event.lines] == [
        ("tariff/2026-01", []), ("tariff/2015-07", ["amount_not_tariff"])]


def test_an_imported_bill_spans_the_months_of_its_lines():
    event = imported([member(1)], [row(1, nik_of(1), period="2024-08"),
                                   row(2, nik_of(1), period="2024-05")])

    assert (event.first_period, event.months) == ("2024-05", 4)


def test_the_invoice_s_own_total_is_kept_even_when_it_differs_from_its_lines():
    command = msgspec.structs.replace(INVOICE, stated_total_idr=50_400)

    event = imported([member(1)], [row(1, nik_of(1))], command=command)

    assert event.stated_total_idr == 50_400
    assert sum(line.amount_idr for line in event.lines) == 16_800


def test_a_line_s_month_written_with_spaces_is_recorded_as_the_month_itself():
    # periods.parse accepts " 2024-06 " and says it is 2024-06; the event must say so too,
    # since periods are compared as text everywhere else
    event = imported([member(1)], [row(1, nik_of(1), period=" 2024-06 ")])

    assert event.lines[0].first_period == "2024-06"
    assert event.first_period == "2024-06"


def test_a_line_repeating_an_earlier_one_is_refused_naming_both():
    rows = [row(1, nik_of(1)), row(2, nik_of(2)), row(7, nik_of(1))]

    with pytest.raises(InvalidInput) as refused:
        imported([member(1), member(2)], rows)
    assert refused.value.field == "lines"
    assert "line 7" in refused.value.detail and "line 1" in refused.value.detail


def test_the_same_person_in_two_months_is_not_a_duplicate():
    rows = [row(1, nik_of(1), period="2024-06"), row(2, nik_of(1), period="2024-07")]

    assert len(imported([member(1)], rows).lines) == 2


@pytest.mark.parametrize("amount", [0, -16_800])
def test_a_non_positive_amount_is_refused_naming_the_line(amount):
    rows = [row(1, nik_of(1)), row(2, nik_of(2), amount=amount)]

    with pytest.raises(InvalidInput) as refused:
        imported([member(1), member(2)], rows)
    assert refused.value.field == "amount_idr"
    assert "line 2" in refused.value.detail


def test_a_malformed_month_on_a_line_is_refused_naming_the_line():
    with pytest.raises(InvalidInput) as refused:
        imported([member(1)], [row(4, nik_of(1), period="Juni 2024")])
    assert refused.value.field == "line 4 period"


def test_a_line_outside_the_coverage_window_is_refused():
    with pytest.raises(OutsideCoverageWindow):
        imported([member(1)], [row(1, nik_of(1), period="2025-01")])


def test_an_imported_bill_needs_lines_a_number_and_a_document():
    with pytest.raises(InvalidInput) as no_lines:
        imported([member(1)], [])
    with pytest.raises(InvalidInput) as no_number:
        imported([member(1)], [row(1, nik_of(1))],
                 command=msgspec.structs.replace(INVOICE, bill_id=" "))
    with pytest.raises(InvalidInput) as no_document:
        imported([member(1)], [row(1, nik_of(1))],
                 command=msgspec.structs.replace(INVOICE, document_ref=""))

    assert (no_lines.value.field, no_number.value.field, no_document.value.field) == \
        ("lines", "bill_id", "document_ref")


def test_a_negative_stated_total_is_refused():
    with pytest.raises(InvalidInput) as refused:
        imported([member(1)], [row(1, nik_of(1))],
                 command=msgspec.structs.replace(INVOICE, stated_total_idr=-1))
    assert refused.value.field == "stated_total_idr"


def test_an_invoice_is_not_imported_twice():
    given = a_bill(imported([member(1)], [row(1, nik_of(1))]))

    with pytest.raises(BillAlreadyIssued):
        bill.import_bill(given, KOTAMOBAGU, [member(1)], INVOICE, [row(1, nik_of(1))],
                         nik_hash, TODAY)


# Paying a bill


def three_lines() -> list:
    return issued()  # p1, p2, p3 at Rp16,800 for June 2024


def test_a_payment_settles_whole_lines_in_line_order():
    given = a_bill(*three_lines())

    events = bill.pay(given, payment(amount=33_600), TODAY)

    assert events == [PaymentRecorded(payment_ref="SP2D-001", paid_on=date(2024, 6, 10),
                                      amount_idr=33_600, funding_source="APBD",
                                      settled=[LineSpan(1, 2)])]
    after = a_bill(*three_lines(), *events)
    assert after.settled_by == ["SP2D-001", "SP2D-001", None]
    assert after.outstanding_idr == 16_800


def test_a_second_payment_settles_the_next_unpaid_lines():
    first = bill.pay(a_bill(*three_lines()), payment(amount=16_800), TODAY)
    given = a_bill(*three_lines(), *first)

    second = bill.pay(given, payment(ref="SP2D-002", amount=33_600), TODAY)

    assert second[0].settled == [LineSpan(2, 3)]
    assert a_bill(*three_lines(), *first, *second).outstanding_idr == 0


def test_a_payment_of_the_whole_bill_settles_every_line():
    events = bill.pay(a_bill(*three_lines()), payment(amount=50_400), TODAY)

    assert events[0].settled == [LineSpan(1, 3)]


@pytest.mark.parametrize(("amount", "acceptable"), [
    (20_000, ("Rp16,800", "Rp33,600")),
    (40_000, ("Rp33,600", "Rp50,400")),
])
def test_a_payment_that_stops_in_the_middle_of_a_line_is_refused(amount, acceptable):
    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*three_lines()), payment(amount=amount), TODAY)

    assert refused.value.field == "amount_idr"
    assert all(figure in refused.value.detail for figure in acceptable)


def test_a_payment_smaller_than_the_first_line_is_refused_naming_that_line():
    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*three_lines()), payment(amount=10_000), TODAY)

    assert "Rp16,800" in refused.value.detail


def test_settling_skips_lines_already_paid_and_names_amounts_from_what_is_left():
    program = a_program(opened=CSR_2025_2026)
    roster = [member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1)),
              member(2, coverage_start=date(2025, 1, 1))]
    events = issued(roster, period="2025-10", months=6, program=program)
    # lines: 50,400 / 25,200 / 50,400 / 50,400
    first = bill.pay(a_bill(*events), payment(amount=50_400, paid_on=date(2024, 6, 1)), TODAY)

    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*events, *first),
                 payment(ref="SP2D-002", amount=30_000, paid_on=date(2024, 6, 1)), TODAY)

    assert "Rp25,200" in refused.value.detail and "Rp75,600" in refused.value.detail


def test_a_payment_over_what_is_left_unpaid_is_refused():
    first = bill.pay(a_bill(*three_lines()), payment(amount=33_600), TODAY)

    with pytest.raises(PaymentExceedsBill) as refused:
        bill.pay(a_bill(*three_lines(), *first), payment(ref="SP2D-002", amount=33_600), TODAY)
    assert refused.value.field == "amount_idr"
    assert "Rp16,800" in refused.value.detail


def test_a_paid_bill_takes_no_more_money():
    paid = bill.pay(a_bill(*three_lines()), payment(amount=50_400), TODAY)

    with pytest.raises(PaymentExceedsBill):
        bill.pay(a_bill(*three_lines(), *paid), payment(ref="SP2D-002"), TODAY)


@settings(max_examples=100)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=6), st.integers(1, 12))
def test_payments_of_whole_lines_settle_exactly_what_they_paid(instalments, people):
    events = issued([member(n) for n in range(1, people + 1)])
    paid = 0
    for n, lines in enumerate(instalments):
        state = a_bill(*events)
        amount = 16_800 * lines
        if amount > state.outstanding_idr:
            with pytest.raises(PaymentExceedsBill):
                bill.pay(state, payment(ref=f"SP2D-{n}", amount=amount), TODAY)
            continue
        events += bill.pay(state, payment(ref=f"SP2D-{n}", amount=amount), TODAY)
        paid += amount
        state = a_bill(*events)
        assert state.outstanding_idr == state.billed_idr - paid
        assert state.settled_by.count(None) == people - paid // 16_800
        assert state.settled_by[:paid // 16_800] == [ref for ref in state.settled_by
                                                      if ref is not None]


def test_a_retried_identical_payment_appends_nothing():
    events = bill.pay(a_bill(*three_lines()), payment(), TODAY)

    assert bill.pay(a_bill(*three_lines(), *events), payment(), TODAY) == []


def test_a_retried_payment_naming_the_bill_s_own_source_is_the_same_payment():
    events = bill.pay(a_bill(*three_lines()), payment(), TODAY)

    assert bill.pay(a_bill(*three_lines(), *events), payment(funding_source="APBD"),
                    TODAY) == []


@pytest.mark.parametrize("change", [{"amount": 33_600}, {"paid_on": date(2024, 6, 11)},
                                    {"funding_source": "CSR"}])
def test_the_same_reference_with_other_figures_is_refused(change):
    events = bill.pay(a_bill(*three_lines()), payment(), TODAY)

    with pytest.raises(ReferenceAlreadyUsed) as refused:
        bill.pay(a_bill(*three_lines(), *events), payment(**change), TODAY)
    assert refused.value.field == "payment_ref"


def test_a_payment_dated_in_the_future_is_refused():
    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*three_lines()), payment(paid_on=date(2024, 7, 1)), TODAY)
    assert refused.value.field == "paid_on"


def test_a_payment_dated_today_is_accepted():
    assert bill.pay(a_bill(*three_lines()), payment(paid_on=TODAY), TODAY)[0].paid_on == TODAY


@pytest.mark.parametrize("amount", [0, -16_800])
def test_a_payment_of_nothing_is_refused(amount):
    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*three_lines()), payment(amount=amount), TODAY)
    assert refused.value.field == "amount_idr"


def test_a_payment_needs_its_reference():
    with pytest.raises(InvalidInput) as refused:
        bill.pay(a_bill(*three_lines()), payment(ref="  "), TODAY)
    assert refused.value.field == "payment_ref"


def test_paying_a_bill_that_does_not_exist_is_refused():
    with pytest.raises(BillNotFound):
        bill.pay(None, payment(), TODAY)


def test_a_donor_may_pay_a_bill_issued_to_the_city():
    events = bill.pay(a_bill(*three_lines()), payment(funding_source="CSR"), TODAY)

    assert events[0].funding_source == "CSR"


# Reversing a payment


def paid_bill():
    """Three lines; SP2D-001 settled lines 1-2 on 10 June, SP2D-002 line 3 on 11 June."""
    events = list(three_lines())
    events += bill.pay(a_bill(*events), payment(amount=33_600), TODAY)
    events += bill.pay(a_bill(*events), payment(ref="SP2D-002", paid_on=date(2024, 6, 11)),
                       TODAY)
    return events


def test_a_reversal_gives_the_payment_s_lines_back():
    given = paid_bill()

    events = bill.reverse(a_bill(*given), ReversePayment(
        payment_ref="SP2D-001", reversed_on=date(2024, 6, 20), reason="SP2D cancelled"))

    assert events == [PaymentReversed(payment_ref="SP2D-001", reversed_on=date(2024, 6, 20),
                                      reason="SP2D cancelled")]
    after = a_bill(*given, *events)
    assert after.settled_by == [None, None, "SP2D-002"]
    assert after.outstanding_idr == 33_600
    assert after.payments["SP2D-001"].reversed


def test_lines_given_back_are_settled_again_by_the_next_payment():
    given = paid_bill()
    given += bill.reverse(a_bill(*given), ReversePayment(
        payment_ref="SP2D-001", reversed_on=date(2024, 6, 20), reason="SP2D cancelled"))

    events = bill.pay(a_bill(*given), payment(ref="SP2D-003", amount=33_600), TODAY)

    assert events[0].settled == [LineSpan(1, 2)]


def test_a_payment_is_reversed_once_only():
    given = paid_bill()
    command = ReversePayment(payment_ref="SP2D-001", reversed_on=date(2024, 6, 20),
                             reason="SP2D cancelled")
    given += bill.reverse(a_bill(*given), command)

    with pytest.raises(PaymentAlreadyReversed):
        bill.reverse(a_bill(*given), command)


def test_a_reversal_needs_its_reason():
    with pytest.raises(InvalidInput) as refused:
        bill.reverse(a_bill(*paid_bill()), ReversePayment(
            payment_ref="SP2D-001", reversed_on=date(2024, 6, 20), reason=" "))
    assert refused.value.field == "reason"


def test_a_reversal_of_an_unknown_payment_is_refused():
    with pytest.raises(PaymentNotFound):
        bill.reverse(a_bill(*paid_bill()), ReversePayment(
            payment_ref="SP2D-999", reversed_on=date(2024, 6, 20), reason="x"))


def test_a_payment_is_not_reversed_before_it_was_made():
    with pytest.raises(InvalidInput) as refused:
        bill.reverse(a_bill(*paid_bill()), ReversePayment(
            payment_ref="SP2D-002", reversed_on=date(2024, 6, 10), reason="x"))
    assert refused.value.field == "reversed_on"


def test_a_payment_partly_refunded_cannot_be_reversed():
    given = paid_bill()
    given += bill.refund(a_bill(*given), refund_of("p1"))

    with pytest.raises(InvalidInput) as refused:
        bill.reverse(a_bill(*given), ReversePayment(
            payment_ref="SP2D-001", reversed_on=date(2024, 7, 1), reason="x"))
    assert refused.value.field == "payment_ref"


# Refunds


def refund_of(*participants, ref="REF-001", payment_ref="SP2D-001", period="2024-06"):
    return RecordRefund(refund_ref=ref, payment_ref=payment_ref, refunded_on=date(2024, 7, 1),
                        reason="died in May; paid after death",
                        months=[RefundMonth(participant_id=p, period=period)
                                for p in participants])


def test_a_refund_returns_the_months_settled_by_the_payment():
    given = paid_bill()

    events = bill.refund(a_bill(*given), refund_of("p1", "p2"))

    assert events == [RefundRecorded(
        refund_ref="REF-001", payment_ref="SP2D-001", refunded_on=date(2024, 7, 1),
        amount_idr=33_600, reason="died in May; paid after death",
        lines=[RefundLine(line=1, period="2024-06", amount_idr=16_800),
               RefundLine(line=2, period="2024-06", amount_idr=16_800)])]
    assert a_bill(*given, *events).refunded == {(1, "2024-06"), (2, "2024-06")}


def test_a_refund_of_one_month_of_an_advance_line_is_that_month_s_share():
    given = issued([member(1)], period="2024-07", months=6)
    given += bill.pay(a_bill(*given), payment(amount=100_800), TODAY)

    events = bill.refund(a_bill(*given), refund_of("p1", period="2024-10"))

    assert events[0].lines == [RefundLine(line=1, period="2024-10", amount_idr=16_800)]
    assert events[0].amount_idr == 16_800


def test_months_after_a_death_in_an_advance_bill_are_refunded_month_by_month():
    given = issued([member(1)], period="2024-07", months=6)
    given += bill.pay(a_bill(*given), payment(amount=100_800), TODAY)
    months = [RefundMonth(participant_id="p1", period=p)
              for p in periods.between("2024-09", "2024-12")]

    events = bill.refund(a_bill(*given), msgspec.structs.replace(refund_of(), months=months))

    assert events[0].amount_idr == 4 * 16_800
    assert [line.period for line in events[0].lines] == periods.between("2024-09", "2024-12")


def test_a_refund_of_a_discounted_month_is_the_discounted_amount():
    program = a_program(opened=CSR_2025_2026)
    driver = member(1, occupation="Pengemudi Ojek", coverage_start=date(2025, 1, 1))
    given = issued([driver], period="2025-10", months=6, program=program)
    given += bill.pay(a_bill(*given), payment(amount=75_600, paid_on=date(2024, 6, 1)), TODAY)

    events = bill.refund(a_bill(*given), msgspec.structs.replace(
        refund_of(period="2026-02"), months=[RefundMonth(participant_id="p1",
                                                         period="2026-02")]))

    assert events[0].lines == [RefundLine(line=2, period="2026-02", amount_idr=8_400)]


def test_a_month_settled_by_another_payment_is_not_refunded_from_this_one():
    with pytest.raises(RefundNotDue) as refused:
        bill.refund(a_bill(*paid_bill()), refund_of("p3"))
    assert refused.value.field == "months"


def test_an_unpaid_month_is_not_refunded():
    given = list(three_lines())
    given += bill.pay(a_bill(*given), payment(amount=16_800), TODAY)

    with pytest.raises(RefundNotDue):
        bill.refund(a_bill(*given), refund_of("p2"))


def test_a_month_not_on_the_bill_is_not_refunded():
    with pytest.raises(RefundNotDue):
        bill.refund(a_bill(*paid_bill()), refund_of("p1", period="2024-07"))
    with pytest.raises(RefundNotDue):
        bill.refund(a_bill(*paid_bill()), refund_of("p9"))


def test_a_month_is_refunded_once_only():
    given = paid_bill()
    given += bill.refund(a_bill(*given), refund_of("p1"))

    with pytest.raises(RefundNotDue) as refused:
        bill.refund(a_bill(*given), refund_of("p1", ref="REF-002"))
    assert "already" in refused.value.detail


def test_the_other_month_of_a_payment_can_still_be_refunded_later():
    given = paid_bill()
    given += bill.refund(a_bill(*given), refund_of("p1"))

    events = bill.refund(a_bill(*given), refund_of("p2", ref="REF-002"))

    assert events[0].lines == [RefundLine(line=2, period="2024-06", amount_idr=16_800)]


def test_a_month_named_twice_in_one_refund_is_refused():
    with pytest.raises(InvalidInput) as refused:
        bill.refund(a_bill(*paid_bill()), refund_of("p1", "p1"))
    assert refused.value.field == "months"


def test_a_refund_reference_is_used_once():
    given = paid_bill()
    given += bill.refund(a_bill(*given), refund_of("p1"))

    with pytest.raises(ReferenceAlreadyUsed) as refused:
        bill.refund(a_bill(*given), refund_of("p2"))
    assert refused.value.field == "refund_ref"


def test_a_reversed_payment_is_not_refunded():
    given = paid_bill()
    given += bill.reverse(a_bill(*given), ReversePayment(
        payment_ref="SP2D-001", reversed_on=date(2024, 6, 20), reason="SP2D cancelled"))

    with pytest.raises(PaymentNotFound):
        bill.refund(a_bill(*given), refund_of("p1"))


@pytest.mark.parametrize(("change", "field"), [
    ({"reason": ""}, "reason"),
    ({"months": []}, "months"),
    ({"refunded_on": date(2024, 6, 9)}, "refunded_on"),
    ({"refund_ref": " "}, "refund_ref"),
])
def test_a_refund_needs_its_reason_months_reference_and_a_sensible_date(change, field):
    with pytest.raises(InvalidInput) as refused:
        bill.refund(a_bill(*paid_bill()), msgspec.structs.replace(refund_of("p1"), **change))
    assert refused.value.field == field


def test_a_bill_stream_holds_only_bill_events():
    with pytest.raises(ValueError):
        bill.evolve(None, KOTAMOBAGU_OPENED)


def test_a_generated_bill_has_a_stable_stream_per_program_and_bill():
    assert bill.stream_id("kotamobagu-2024", "2024-06") == \
        bill.stream_id("kotamobagu-2024", "2024-06")
    assert bill.stream_id("kotamobagu-2024", "2024-06") != \
        bill.stream_id("gorontalo-2024", "2024-06")
