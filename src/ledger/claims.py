"""The claims service: report, document, assess, approve or reject, pay, close, reopen.

It loads a claim's stream, gathers what eligibility needs from the ledger's own
history (the participant's enrollment, termination and lapse from their stream,
the months paid from the contributions read model, caught up first) and runs
the pure deciders of ``ledger.claim``. A death reported through a claim also
terminates the participant from the following month, in the same transaction,
so coverage and the contributions findings see it at once.
"""

from collections.abc import Callable, Mapping
from datetime import date, datetime
from uuid import UUID

from ledger import benefits, claim, eligibility, periods, tariffs
from ledger.claim import (
    ApproveClaim,
    AssessClaim,
    Claim,
    CloseClaim,
    ReceiveDocument,
    RecordHeir,
    RecordPayout,
    RejectClaim,
    ReopenClaim,
    ReportClaim,
)
from ledger.errors import ClaimNotFound
from ledger.events import (
    Event,
    EventMeta,
    ParticipantEnrolled,
    ParticipantLapsed,
    ParticipantTerminated,
)
from ledger.participant import Terminate
from ledger.service import Actor, Ledger, utc_now
from ledger.store import EventStore, StreamWrite

PaidMonthsOf = Callable[[str], Mapping[str, date]]
"""Participant id -> month -> the day a standing payment for it was first made."""


class Claims:
    def __init__(self, store: EventStore, ledger: Ledger, paid_months_of: PaidMonthsOf, *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._ledger = ledger
        self._paid_months_of = paid_months_of
        self._clock = clock

    def report(self, program_id: str, participant_id: UUID, command: ReportClaim,
               actor: Actor, command_id: str | None = None) -> Claim:
        self._ledger.check_program(program_id)  # an unknown program is named as such
        person = self._ledger.participant(program_id, participant_id)
        pid = str(participant_id)
        claim_id = (claim.death_claim_id(pid) if command.benefit == "JKM" or command.fatal
                    else command.claim_id or f"JKK-{command.incident_date.isoformat()}")
        state, version = self._fold(program_id, claim_id)
        events = claim.report(state, program_id, pid, person.coverage_start, command,
                              self._today())
        writes = [StreamWrite(claim.stream_id(program_id, claim_id), version, events)]
        if events[0].fatal and person.status != "terminated":
            writes += self._ledger.termination_writes(program_id, participant_id, Terminate(
                reason="died", effective_date=command.incident_date,
                note=f"death reported in claim {claim_id}"))
        self._store.append(writes, self._meta(actor, command_id))
        return _folded(None, events)

    def receive_document(self, program_id: str, claim_id: str, command: ReceiveDocument,
                         actor: Actor, command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.receive_document(s, command, self._today()),
                            actor, command_id)

    def record_heir(self, program_id: str, claim_id: str, command: RecordHeir, actor: Actor,
                    command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.record_heir(s, command, self._today()),
                            actor, command_id)

    def assess(self, program_id: str, claim_id: str, command: AssessClaim, actor: Actor,
               command_id: str | None = None) -> Claim:
        state, _ = self._existing(program_id, claim_id)
        verdict = self.eligibility(program_id, state, command.assessed_on)
        return self._decide(program_id, claim_id, lambda s: claim.assess(
            s, command, verdict, tariffs.LOWEST_DECLARED_INCOME_IDR, self._today()),
            actor, command_id)

    def approve(self, program_id: str, claim_id: str, command: ApproveClaim, actor: Actor,
                command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.approve(s, command, self._today()), actor, command_id)

    def reject(self, program_id: str, claim_id: str, command: RejectClaim, actor: Actor,
               command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.reject(s, command, self._today()), actor, command_id)

    def pay(self, program_id: str, claim_id: str, command: RecordPayout, actor: Actor,
            command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id, lambda s: claim.pay(s, command, self._today()),
                            actor, command_id)

    def close(self, program_id: str, claim_id: str, command: CloseClaim, actor: Actor,
              command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.close(s, command, self._today()), actor, command_id)

    def reopen(self, program_id: str, claim_id: str, command: ReopenClaim, actor: Actor,
               command_id: str | None = None) -> Claim:
        return self._decide(program_id, claim_id,
                            lambda s: claim.reopen(s, command, self._today()), actor, command_id)

    def claim(self, program_id: str, claim_id: str) -> Claim:
        return self._existing(program_id, claim_id)[0]

    def eligibility(self, program_id: str, state: Claim, as_of: date) -> eligibility.Verdict:
        """Eligibility of a claim as of a day, from the participant's history and payments."""
        reported = state.reported
        coverage_start, terminated_on, lapsed_from = None, None, None
        # One pass over the participant's stream (checked to be in the program at report).
        for recorded in self._store.read(UUID(reported.participant_id)):
            match recorded.event:
                case ParticipantEnrolled(coverage_start=start):
                    coverage_start, lapsed_from = start, None  # enrolled (again)
                case ParticipantTerminated(reason=reason, effective_date=day):
                    # The death this claim reports ends cover after the incident, not before.
                    if not (reason == "died" and day == reported.incident_date):
                        terminated_on = day
                case ParticipantLapsed(lapsed_from=month):
                    lapsed_from = month
        last = periods.of(self._ledger.program(program_id).coverage_end)
        member = eligibility.Member(coverage_start=coverage_start,
                                    terminated_on=terminated_on, lapsed_from=lapsed_from,
                                    program_last=last)
        return eligibility.assess(reported.benefit, reported.incident_date, reported.reported_on,
                                  member, self._paid_months_of(reported.participant_id), as_of,
                                  benefits.rules_on(reported.incident_date))

    def _decide(self, program_id: str, claim_id: str,
                decide: Callable[[Claim], list[Event]], actor: Actor,
                command_id: str | None) -> Claim:
        state, version = self._existing(program_id, claim_id)
        events = decide(state)
        if events:
            self._store.append([StreamWrite(claim.stream_id(program_id, claim_id), version,
                                            events)], self._meta(actor, command_id))
        # The stream now holds what was read and what was appended: no need to read it back.
        return _folded(state, events)

    def _fold(self, program_id: str, claim_id: str) -> tuple[Claim | None, int]:
        recorded = self._store.read(claim.stream_id(program_id, claim_id))
        return _folded(None, [item.event for item in recorded]), len(recorded)

    def _existing(self, program_id: str, claim_id: str) -> tuple[Claim, int]:
        state, version = self._fold(program_id, claim_id)
        if state is None:
            raise ClaimNotFound(f"no claim {claim_id!r} in program {program_id}",
                                field="claim_id")
        return state, version

    def _meta(self, actor: Actor, command_id: str | None) -> EventMeta:
        return EventMeta(actor_id=actor.actor_id, actor_role=actor.role,
                         recorded_at=self._clock(), command_id=command_id)

    def _today(self) -> date:
        return self._clock().date()


def _folded(state: Claim | None, events: list[Event]) -> Claim | None:
    for event in events:
        state = claim.evolve(state, event)
    return state
