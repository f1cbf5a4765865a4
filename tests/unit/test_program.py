from datetime import date

import msgspec
import pytest

from ledger import program
from ledger.errors import InvalidInput, ProgramAlreadyOpen, QuotaFull
from ledger.events import ProgramBudgetRevised, ProgramOpened, ProgramQuotaRevised, SeatAllocated
from ledger.program import OpenProgram, ReviseBudget, ReviseQuota
from tests.unit.scenario import a_program

GORONTALO = OpenProgram(
    program_id="gorontalo-2024", region_code="7571", region_name="Kota Gorontalo",
    fiscal_year=2024, agreement_ref="PKS/2024/GTO", quota_total=10_452,
    cohort_quotas={"informal": 7_000, "umkm_miskin_ekstrem": 3_452},
    budget_idr={"APBD": 2_107_065_600}, coverage_start=date(2024, 1, 1),
    coverage_end=date(2024, 12, 31), p3ke_cohorts=["umkm_miskin_ekstrem"],
)


def test_opening_a_program_with_two_cohorts_records_both_quotas():
    events = program.open_program(None, GORONTALO)

    assert events == [ProgramOpened(**msgspec.structs.asdict(GORONTALO))]
    assert program.evolve(None, events[0]).cohort_quotas == {
        "informal": 7_000, "umkm_miskin_ekstrem": 3_452}


def test_a_program_cannot_be_opened_twice():
    with pytest.raises(ProgramAlreadyOpen):
        program.open_program(a_program(), GORONTALO)


@pytest.mark.parametrize(("change", "field"), [
    ({"region_code": "71"}, "region_code"),
    ({"quota_total": 0}, "quota_total"),
    ({"cohort_quotas": {"informal": 7_000, "umkm_miskin_ekstrem": 3_000}}, "cohort_quotas"),
    ({"budget_idr": {"APBD": -1}}, "budget_idr"),
    ({"budget_idr": {}}, "budget_idr"),
    ({"coverage_end": date(2023, 12, 31)}, "coverage_end"),
    ({"agreement_ref": " "}, "agreement_ref"),
    ({"p3ke_cohorts": ["nelayan"]}, "p3ke_cohorts"),
])
def test_opening_refuses_impossible_agreements_naming_the_field(change, field):
    with pytest.raises(InvalidInput) as refused:
        program.open_program(None, msgspec.structs.replace(GORONTALO, **change))
    assert refused.value.field == field


def test_apbd_perubahan_revises_quota_and_budget_as_new_events():
    given = a_program()

    quota = program.revise_quota(given, ReviseQuota(
        quota_total=10_000, cohort_quotas={"informal": 10_000}, reason="APBD-P 2024",
        revision_ref="Perda 5/2024"))
    budget = program.revise_budget(given, ReviseBudget(
        budget_idr={"APBD": 1_400_000_000, "CSR": 112_000_000}, reason="APBD-P 2024",
        revision_ref="Perda 5/2024"))

    revised = a_program(*quota, *budget)
    assert isinstance(quota[0], ProgramQuotaRevised)
    assert isinstance(budget[0], ProgramBudgetRevised)
    assert revised.quota_total == 10_000
    assert revised.budget_idr == {"APBD": 1_400_000_000, "CSR": 112_000_000}


def test_a_revision_needs_its_reason_and_reference():
    with pytest.raises(InvalidInput) as refused:
        program.revise_budget(a_program(), ReviseBudget(budget_idr={"APBD": 1}, reason="",
                                                        revision_ref="x"))
    assert refused.value.field == "reason"


def test_the_last_seat_of_the_quota_can_be_taken_once():
    tiny = msgspec.structs.replace(a_program(), quota_total=2, cohort_quotas={})
    first = program.allocate_seat(tiny, "p1", "informal")
    tiny = program.evolve(tiny, first)
    second = program.allocate_seat(tiny, "p2", "informal")
    tiny = program.evolve(tiny, second)

    with pytest.raises(QuotaFull):
        program.allocate_seat(tiny, "p3", "informal")


def test_a_full_cohort_refuses_even_when_the_program_has_room():
    gorontalo = program.evolve(None, program.open_program(None, GORONTALO)[0])
    gorontalo = msgspec.structs.replace(gorontalo, seats_taken={"umkm_miskin_ekstrem": 3_452})

    with pytest.raises(QuotaFull) as refused:
        program.allocate_seat(gorontalo, "p", "umkm_miskin_ekstrem")
    assert refused.value.field == "cohort"
    assert program.allocate_seat(gorontalo, "p", "informal") == SeatAllocated(
        participant_id="p", cohort="informal")
