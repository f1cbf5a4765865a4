from datetime import date

import msgspec
import pytest

from ledger import participant
from ledger.errors import (
    AlreadyEnrolled,
    AlreadyTerminated,
    InvalidInput,
    NotMatched,
    OutsideCoverageWindow,
    OverAgeCap,
    ParticipantNotFound,
)
from ledger.events import (
    CandidateCorrected,
    MismatchReason,
    ParticipantEnrolled,
    ParticipantTerminated,
    VerificationRecorded,
)
from ledger.participant import CorrectCandidate, Enroll, RecordVerification, Terminate
from tests.unit.scenario import TODAY, a_participant, a_program, matched, siti, submitted

PHASE_1 = Enroll(kpj="24012345678", coverage_start=date(2024, 3, 1), batch="tahap-1")


def test_a_new_candidate_is_submitted_and_awaits_verification():
    events = participant.submit(None, a_program(), siti(), TODAY)

    assert events == [submitted()]
    assert a_participant(*events).status == "awaiting_verification"


def test_a_nik_written_with_separators_is_the_same_nik():
    events = participant.submit(None, a_program(), siti(nik="7174 0145 0385 0001"), TODAY)

    assert events[0].nik == "7174014503850001"


def test_an_identical_resubmission_appends_nothing():
    assert participant.submit(a_participant(submitted()), a_program(), siti(), TODAY) == []


def test_a_resubmission_with_other_data_joins_the_same_stream_and_remembers_the_first():
    resubmitted = participant.submit(a_participant(submitted()), a_program(),
                                     siti(full_name="Fitri Manoppo"), TODAY)

    state = a_participant(submitted(), *resubmitted)
    assert state.data.full_name == "Fitri Manoppo"
    assert state.earlier_identities == [("Siti Mokodompit", date(1985, 3, 5))]


@pytest.mark.parametrize(("change", "field"), [
    ({"nik": "71740145038500"}, "nik"),
    ({"nik": "717401450385000X"}, "nik"),
    ({"nik": "7174017303850001"}, "nik"),  # day 73-40 = 33: no such date
    ({"nik": "9974014503850001"}, "nik"),  # no province 99
    ({"full_name": "  "}, "full_name"),
    ({"mother_name": ""}, "mother_name"),
    ({"birth_date": date(2025, 1, 1)}, "birth_date"),
    ({"cohort": "nelayan"}, "cohort"),
])
def test_submission_refuses_what_no_registry_could_match(change, field):
    with pytest.raises(InvalidInput) as refused:
        participant.submit(None, a_program(), siti(**change), TODAY)
    assert refused.value.field == field


def test_a_correction_sends_the_candidate_back_to_verification():
    mismatched = VerificationRecorded(
        outcome="mismatched", method="registry", source="dukcapil:x", verified_on=TODAY,
        reasons=[MismatchReason(code="birth_date_differs", field="birth_date", detail="d")])
    given = a_participant(submitted(), mismatched)

    events = participant.correct(given, a_program(), CorrectCandidate(
        reason="KTP shows 3 May", birth_date=date(1985, 5, 3)), TODAY)

    assert events == [CandidateCorrected(reason="KTP shows 3 May", birth_date=date(1985, 5, 3))]
    after = a_participant(submitted(), mismatched, *events)
    assert (after.status, after.reasons, after.data.birth_date) == (
        "awaiting_verification", [], date(1985, 5, 3))


def test_a_correction_that_changes_nothing_or_has_no_reason_is_refused():
    given = a_participant(submitted())
    with pytest.raises(InvalidInput) as no_change:
        participant.correct(given, a_program(), CorrectCandidate(
            reason="typo", full_name="Siti Mokodompit"), TODAY)
    with pytest.raises(InvalidInput) as no_reason:
        participant.correct(given, a_program(), CorrectCandidate(reason=" ", full_name="S"),
                            TODAY)
    assert (no_change.value.field, no_reason.value.field) == ("reason", "reason")


def test_correcting_an_unknown_participant_is_refused():
    with pytest.raises(ParticipantNotFound):
        participant.correct(None, a_program(), CorrectCandidate(reason="x", full_name="y"),
                            TODAY)


def test_the_same_verdict_twice_appends_nothing():
    given = a_participant(submitted(), matched())
    assert participant.verify(given, matched()) == []


def test_a_verification_done_elsewhere_is_recorded_by_hand():
    recorded = participant.manual_verification(RecordVerification(
        outcome="matched", source="Disdukcapil letter 470/112", verified_on=TODAY), TODAY)

    events = participant.verify(a_participant(submitted()), recorded)

    assert events[0].method == "manual"
    assert a_participant(submitted(), *events).status == "matched"


@pytest.mark.parametrize(("command", "field"), [
    (RecordVerification(outcome="matched", source="", verified_on=TODAY), "source"),
    (RecordVerification(outcome="mismatched", source="letter", verified_on=TODAY), "reasons"),
    (RecordVerification(outcome="matched", source="letter", verified_on=date(2030, 1, 1)),
     "verified_on"),
    (RecordVerification(outcome="mismatched", source="letter", verified_on=TODAY, reasons=[
        MismatchReason(code="looks_wrong", field="nik", detail="?")]), "reasons"),
])
def test_a_manual_verification_must_say_where_and_why(command, field):
    with pytest.raises(InvalidInput) as refused:
        participant.manual_verification(command, TODAY)
    assert refused.value.field == field


def test_a_matched_candidate_is_enrolled_with_its_kpj():
    events = participant.enroll(a_participant(submitted(), matched()), a_program(), PHASE_1)

    assert events == [ParticipantEnrolled(kpj="24012345678", coverage_start=date(2024, 3, 1),
                                          batch="tahap-1")]


def test_an_unmatched_candidate_cannot_be_enrolled():
    with pytest.raises(NotMatched):
        participant.enroll(a_participant(submitted()), a_program(), PHASE_1)


def test_enrolling_twice_is_refused():
    given = a_participant(submitted(), matched(), *participant.enroll(
        a_participant(submitted(), matched()), a_program(), PHASE_1))
    with pytest.raises(AlreadyEnrolled):
        participant.enroll(given, a_program(), PHASE_1)


def test_enrollment_is_refused_over_the_age_cap():
    older = submitted(siti(nik="7174014503570001", birth_date=date(1957, 3, 5)))  # 66
    with pytest.raises(OverAgeCap) as refused:
        participant.enroll(a_participant(older, matched()), a_program(), PHASE_1)
    assert refused.value.field == "birth_date"


@pytest.mark.parametrize(("change", "error"), [
    ({"kpj": "KPJ-1"}, InvalidInput),
    ({"batch": ""}, InvalidInput),
    ({"coverage_start": date(2025, 1, 1)}, OutsideCoverageWindow),
])
def test_enrollment_details_are_checked(change, error):
    with pytest.raises(error):
        participant.enroll(a_participant(submitted(), matched()), a_program(),
                           msgspec.structs.replace(PHASE_1, **change))


def test_a_death_terminates_with_its_effective_date():
    given = a_participant(submitted(), matched())
    events = participant.terminate(given, Terminate(reason="died",
                                                    effective_date=date(2024, 5, 20)), TODAY)

    assert events == [ParticipantTerminated(reason="died", effective_date=date(2024, 5, 20))]
    with pytest.raises(AlreadyTerminated):
        participant.terminate(a_participant(submitted(), matched(), *events),
                              Terminate(reason="moved", effective_date=TODAY), TODAY)


def test_a_termination_cannot_be_dated_in_the_future():
    with pytest.raises(InvalidInput) as refused:
        participant.terminate(a_participant(submitted()), Terminate(
            reason="withdrawn", effective_date=date(2024, 7, 1)), TODAY)
    assert refused.value.field == "effective_date"


def test_a_terminated_person_cannot_be_resubmitted_with_other_data():
    given = a_participant(submitted(), ParticipantTerminated(reason="moved",
                                                             effective_date=TODAY))
    with pytest.raises(AlreadyTerminated):
        participant.submit(given, a_program(), siti(village="Biga"), TODAY)
