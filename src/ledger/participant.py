"""Participant: one person, by NIK, in one program, from submission to termination.

    awaiting_verification -> matched | mismatched -> (corrected) -> awaiting_verification
    matched -> enrolled -> lapsed (unpaid too long) -> enrolled again;  any -> terminated

The stream id is derived from (program, keyed hash of the NIK), so a village
submitting the same NIK again lands on the same stream and never creates a
second person.
Deciders here are pure: given the current state and a command they return the
events to append, or raise a named refusal.
"""

import hashlib
import re
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Literal

import msgspec

from ledger import nik as nik_rules
from ledger.errors import (
    AlreadyEnrolled,
    AlreadyTerminated,
    InvalidInput,
    KpjInUse,
    MembershipLapsed,
    NotEnrolled,
    NotMatched,
    OutsideCoverageWindow,
    OverAgeCap,
    ParticipantNotFound,
)
from ledger.events import (
    CandidateCorrected,
    CandidateSubmitted,
    Event,
    KpjTaken,
    MismatchReason,
    ParticipantEnrolled,
    ParticipantLapsed,
    ParticipantTerminated,
    Sex,
    TerminationReason,
    VerificationOutcome,
    VerificationRecorded,
)
from ledger.program import Program
from ledger.verification import REASON_CODES, Candidate

PARTICIPANT_NAMESPACE = uuid.UUID("0c8f5b7e-3f4a-4d52-a6f1-9b1e7d2c4a10")
KPJ_NAMESPACE = uuid.UUID("8171e399-d983-4f87-909d-3985058e313f")
KPJ_PATTERN = re.compile(r"^\d{11}$")

Status = Literal["awaiting_verification", "matched", "mismatched", "enrolled", "lapsed",
                 "terminated"]


_NAMESPACE_SHA1 = hashlib.sha1(PARTICIPANT_NAMESPACE.bytes, usedforsecurity=False)


def stream_id(program_id: str, nik_hash: str) -> uuid.UUID:
    """``uuid.uuid5(PARTICIPANT_NAMESPACE, f"participant/{program_id}/{nik_hash}")``, with
    the namespace hashed once: an import derives one id per row."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(f"participant/{program_id}/{nik_hash}".encode())
    return uuid.UUID(bytes=digest.digest()[:16], version=5)


def kpj_stream_id(program_id: str, kpj: str) -> uuid.UUID:
    """The stream that holds who in a program took ``kpj`` (``KpjTaken``)."""
    return uuid.uuid5(KPJ_NAMESPACE, f"kpj/{program_id}/{kpj}")


class CandidateData(msgspec.Struct, frozen=True, kw_only=True):
    """A candidate as a village submits it (the body of a submission)."""

    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    mother_name: str
    address: str
    village: str
    occupation: str
    cohort: str
    submitted_by: str


class CorrectCandidate(msgspec.Struct, frozen=True, kw_only=True):
    reason: str
    full_name: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    mother_name: str | None = None
    address: str | None = None
    village: str | None = None
    occupation: str | None = None
    cohort: str | None = None


class RecordVerification(msgspec.Struct, frozen=True, kw_only=True):
    """A verification done elsewhere (e.g. at Disdukcapil's counter), recorded by hand."""

    outcome: VerificationOutcome
    source: str
    verified_on: date
    reasons: list[MismatchReason] = []


class Enroll(msgspec.Struct, frozen=True, kw_only=True):
    kpj: str
    coverage_start: date
    batch: str


class Terminate(msgspec.Struct, frozen=True, kw_only=True):
    reason: TerminationReason
    effective_date: date
    note: str = ""


class Participant(msgspec.Struct, frozen=True, kw_only=True):
    program_id: str
    data: CandidateData
    status: Status
    reasons: list[MismatchReason] = []
    name_score: int | None = None
    kpj: str | None = None
    coverage_start: date | None = None
    earlier_identities: list[tuple[str, date]] = []
    """(name, birth date) of earlier submissions since the last correction."""
    submissions: list[CandidateData] = []
    """Every submission ever recorded, so re-running an old file changes nothing."""

    def as_candidate(self) -> Candidate:
        d = self.data
        return Candidate(nik=d.nik, full_name=d.full_name, birth_date=d.birth_date, sex=d.sex,
                         mother_name=d.mother_name, earlier_identities=self.earlier_identities)


def evolve(state: Participant | None, event: Event) -> Participant:
    match event:
        case CandidateSubmitted():
            data = CandidateData(
                nik=event.nik, full_name=event.full_name, birth_date=event.birth_date,
                sex=event.sex, mother_name=event.mother_name, address=event.address,
                village=event.village, occupation=event.occupation, cohort=event.cohort,
                submitted_by=event.submitted_by)
            if state is None:
                return Participant(program_id=event.program_id, data=data,
                                   status="awaiting_verification", submissions=[data])
            earlier = [*state.earlier_identities, (state.data.full_name, state.data.birth_date)]
            return msgspec.structs.replace(state, data=data, status="awaiting_verification",
                                           reasons=[], earlier_identities=earlier,
                                           submissions=[*state.submissions, data])
        case CandidateCorrected():
            changes = {f: v for f, v in msgspec.structs.asdict(event).items()
                       if f != "reason" and v is not None}
            # The officer's correction settles who this NIK belongs to.
            return msgspec.structs.replace(
                state, data=msgspec.structs.replace(state.data, **changes),
                status="awaiting_verification", reasons=[], earlier_identities=[])
        case VerificationRecorded():
            return msgspec.structs.replace(state, status=event.outcome, reasons=event.reasons,
                                           name_score=event.name_score)
        case ParticipantEnrolled():
            return msgspec.structs.replace(state, status="enrolled", kpj=event.kpj,
                                           coverage_start=event.coverage_start)
        case ParticipantLapsed():
            return msgspec.structs.replace(state, status="lapsed")
        case ParticipantTerminated():
            return msgspec.structs.replace(state, status="terminated")
    raise ValueError(f"{event.TYPE} does not belong to a participant stream")


def submit(state: Participant | None, program: Program, data: CandidateData,
           today: date) -> list[Event]:
    data = _checked(data, program, today)
    if state is not None:
        # Data already on record, current or submitted before, is a repeat: re-running
        # an old list must not undo a later submission or an officer's correction.
        if state.data == data or data in state.submissions:
            return []
        _refuse_when_closed(state)
    return [CandidateSubmitted(program_id=program.program_id,
                               **msgspec.structs.asdict(data))]


def correct(state: Participant | None, program: Program, command: CorrectCandidate,
            today: date) -> list[Event]:
    state = _existing(state)
    _refuse_when_closed(state)
    if not command.reason.strip():
        raise InvalidInput("a correction needs its reason", field="reason")
    changes = {f: v for f, v in msgspec.structs.asdict(command).items()
               if f != "reason" and v is not None and getattr(state.data, f) != v}
    if not changes:
        raise InvalidInput("the correction changes nothing", field="reason")
    _checked(msgspec.structs.replace(state.data, **changes), program, today)
    return [CandidateCorrected(reason=command.reason, **changes)]


def verify(state: Participant | None, outcome: VerificationRecorded) -> list[Event]:
    """Record a registry or manual verification; the same verdict twice appends nothing."""
    state = _existing(state)
    _refuse_when_closed(state)
    if state.status == outcome.outcome and state.reasons == outcome.reasons:
        return []
    return [outcome]


def manual_verification(command: RecordVerification, today: date) -> VerificationRecorded:
    if not command.source.strip():
        raise InvalidInput("name where the verification was done (e.g. the letter number)",
                           field="source")
    if command.verified_on > today:
        raise InvalidInput("verified_on is in the future", field="verified_on")
    if command.outcome == "matched" and command.reasons:
        raise InvalidInput("a matched verification carries no mismatch reasons", field="reasons")
    if command.outcome == "mismatched" and not command.reasons:
        raise InvalidInput("a mismatched verification needs at least one reason",
                           field="reasons")
    unknown = [r.code for r in command.reasons if r.code not in REASON_CODES]
    if unknown:
        raise InvalidInput(f"unknown reason codes {unknown}", field="reasons")
    return VerificationRecorded(outcome=command.outcome, reasons=command.reasons,
                                method="manual", source=command.source,
                                verified_on=command.verified_on)


def enroll(state: Participant | None, program: Program, command: Enroll) -> list[Event]:
    state = _existing(state)
    _refuse_when_closed(state, lapsed_too=False)
    if state.status not in ("matched", "lapsed"):
        raise NotMatched(f"only a matched (padan) candidate, or a lapsed member, can be "
                         f"enrolled; this one is {state.status}")
    if not KPJ_PATTERN.match(command.kpj):
        raise InvalidInput("kpj must be the 11-digit BPJS TK membership number", field="kpj")
    if not command.batch.strip():
        raise InvalidInput("name the enrollment batch (phase)", field="batch")
    if not program.coverage_start <= command.coverage_start <= program.coverage_end:
        raise OutsideCoverageWindow(
            f"coverage_start must fall within the program's coverage window "
            f"{program.coverage_start}..{program.coverage_end}", field="coverage_start")
    age = _age_on(state.data.birth_date, command.coverage_start)
    if age > program.enrollment_age_cap:
        raise OverAgeCap(f"the candidate is {age} at coverage start, over the program's "
                         f"enrollment age cap of {program.enrollment_age_cap}",
                         field="birth_date")
    return [ParticipantEnrolled(kpj=command.kpj, coverage_start=command.coverage_start,
                                batch=command.batch)]


def take_kpj(holders: Mapping[str, str], participant_id: str, kpj: str) -> KpjTaken | None:
    """The KPJ an enrollment takes, given who holds which KPJs of the program; None when
    the participant holds it already (a lapsed member enrolled again under its own KPJ).
    The detail names neither the KPJ nor its holder: it goes to rejection reports."""
    holder = holders.get(kpj)
    if holder is None:
        return KpjTaken(participant_id=participant_id, kpj=kpj)
    if holder != participant_id:
        raise KpjInUse("another participant of this program is enrolled with this KPJ",
                       field="kpj")
    return None


def lapse(state: Participant | None, event: ParticipantLapsed) -> list[Event]:
    """Record that unpaid months ended the membership (found by ``ledger.coverage``)."""
    state = _existing(state)
    if state.status != "enrolled":
        raise NotEnrolled(f"only an enrolled participant can lapse; this one is {state.status}")
    return [event]


def terminate(state: Participant | None, command: Terminate, today: date) -> list[Event]:
    state = _existing(state)
    if state.status == "terminated":
        raise AlreadyTerminated("the participant is already terminated")
    if command.effective_date > today:
        raise InvalidInput("effective_date is in the future", field="effective_date")
    return [ParticipantTerminated(reason=command.reason, effective_date=command.effective_date,
                                  note=command.note)]


def _checked(data: CandidateData, program: Program, today: date) -> CandidateData:
    """Refuse what no registry could match; return the data with its NIK compacted."""
    nik = nik_rules.parse(data.nik)
    for field in ("full_name", "mother_name", "village", "submitted_by", "occupation", "cohort"):
        if not getattr(data, field).strip():
            raise InvalidInput(f"{field} must not be blank", field=field)
    if not date(1900, 1, 1) <= data.birth_date <= today:
        raise InvalidInput("birth_date must be a past date after 1900", field="birth_date")
    if not program.accepts_cohort(data.cohort):
        raise InvalidInput(f"cohort must be one of {sorted(program.cohort_quotas)}",
                           field="cohort")
    return msgspec.structs.replace(data, nik=nik)


def _existing(state: Participant | None) -> Participant:
    if state is None:
        raise ParticipantNotFound("no candidate with this id in the program")
    return state


def _refuse_when_closed(state: Participant, *, lapsed_too: bool = True) -> None:
    if lapsed_too and state.status == "lapsed":
        raise MembershipLapsed("the membership lapsed for unpaid months; the person is "
                               "verified already and can only be enrolled again")
    if state.status == "enrolled":
        raise AlreadyEnrolled(f"the participant is already enrolled with KPJ {state.kpj}")
    if state.status == "terminated":
        raise AlreadyTerminated("the participant is terminated")


def _age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
