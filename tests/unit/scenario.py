"""Given/when/then helpers for pure domain tests: fold given events, run a decider."""

from datetime import date

from ledger import participant, program
from ledger.events import CandidateSubmitted, Event, ProgramOpened, VerificationRecorded
from ledger.participant import CandidateData

TODAY = date(2024, 6, 1)
SITI_NIK = "7174014503850001"  # Kotamobagu Barat, born 5 Mar 1985 (+40: a woman), serial 1

KOTAMOBAGU_OPENED = ProgramOpened(
    program_id="kotamobagu-2024", region_code="7174", region_name="Kota Kotamobagu",
    fiscal_year=2024, agreement_ref="PKS/BPJSTK/2024/022", quota_total=9000,
    cohort_quotas={"informal": 9000}, budget_idr={"APBD": 1_512_000_000},
    coverage_start=date(2024, 3, 1), coverage_end=date(2024, 12, 31), enrollment_age_cap=65,
)


def siti(**changes) -> CandidateData:
    fields = dict(
        nik=SITI_NIK, full_name="Siti Mokodompit", birth_date=date(1985, 3, 5), sex="P",
        mother_name="Nurhayati Paputungan", address="Jl. Adampe No. 4, RT 002/RW 001",
        village="Gogagoman", occupation="street vendor", cohort="informal",
        submitted_by="Kelurahan Gogagoman",
    )
    return CandidateData(**{**fields, **changes})


def submitted(data: CandidateData | None = None) -> CandidateSubmitted:
    data = data or siti()
    return CandidateSubmitted(program_id="kotamobagu-2024", **{
        f: getattr(data, f) for f in CandidateData.__struct_fields__})


def matched() -> VerificationRecorded:
    return VerificationRecorded(outcome="matched", reasons=[], method="registry",
                                source="dukcapil:test.csv", verified_on=TODAY, name_score=100)


def a_program(*events: Event, opened: ProgramOpened = KOTAMOBAGU_OPENED) -> program.Program:
    state = None
    for event in (opened, *events):
        state = program.evolve(state, event)
    return state


def a_participant(*events: Event) -> participant.Participant | None:
    state = None
    for event in events:
        state = participant.evolve(state, event)
    return state
