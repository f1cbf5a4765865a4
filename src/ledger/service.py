"""The application service: load the streams a command touches, decide, append.

Every command, single or in an import batch, runs through ``_decide_batch``:
read the program and participant streams (and an enrollment's KPJ streams), run
the pure deciders in order
(evolving state as it goes, so the same NIK twice in one file is handled like
two requests), then append everything in one transaction. When another writer
got there first the whole batch is re-read and re-decided; that retry is safe
because nothing was written and every decision is made again on fresh state
(it is how the loser of a race for the last quota seat learns the quota is full).
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import NamedTuple, TypeVar
from uuid import UUID

import msgspec

from ledger import participant, program, verification
from ledger.errors import ConcurrencyConflict, LedgerError, ParticipantNotFound, ProgramNotFound
from ledger.events import (
    Event,
    EventMeta,
    ParticipantLapsed,
    SeatReleased,
    VerificationRecorded,
)
from ledger.participant import (
    CandidateData,
    CorrectCandidate,
    Enroll,
    Participant,
    RecordVerification,
    Terminate,
)
from ledger.personal_data import Keyring
from ledger.program import OpenProgram, Program, ReviseBudget, ReviseQuota
from ledger.program_snapshots import ProgramSnapshots
from ledger.registry import CivilRegistry
from ledger.rules import VerificationRules, verification_rules_on
from ledger.store import EventStore, Recorded, StreamWrite

T = TypeVar("T")
SNAPSHOT_EVERY = 1_000
"""Program events folded past its last snapshot before the next is taken: a process
meeting a program then reads at most this many of its events after the snapshot."""
Decision = tuple[list[Event], list[Event]]
"""(events for the participant stream, events for the program stream)."""


class Actor(msgspec.Struct, frozen=True):
    actor_id: str
    role: str


class RowResult(NamedTuple):
    participant_id: UUID
    appended: int
    """Events this row appended: on the participant's stream, the program's (a seat) and
    its KPJ's."""
    error: LedgerError | None = None
    state: Participant | None = None
    """The participant after this row's decision (before it, when refused)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    def __init__(self, store: EventStore, keyring: Keyring, *,
                 clock: Callable[[], datetime] = utc_now, attempts: int = 5,
                 snapshots: ProgramSnapshots | None = None) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._attempts = attempts
        self._programs: dict[str, tuple[Program, int]] = {}
        self._snapshots = snapshots
        self._snapshot_versions: dict[str, int] = {}

    # Programs

    def open_program(self, command: OpenProgram, actor: Actor,
                     command_id: str | None = None) -> Program:
        stream = program.stream_id(command.program_id)
        state, version = self._fold_program(command.program_id)
        events = program.open_program(state, command)
        self._store.append([StreamWrite(stream, version, events)], self._meta(actor, command_id))
        return self.program(command.program_id)

    def revise_quota(self, program_id: str, command: ReviseQuota, actor: Actor,
                     command_id: str | None = None) -> Program:
        return self._change_program(program_id, lambda p: program.revise_quota(p, command),
                                    actor, command_id)

    def revise_budget(self, program_id: str, command: ReviseBudget, actor: Actor,
                      command_id: str | None = None) -> Program:
        return self._change_program(program_id, lambda p: program.revise_budget(p, command),
                                    actor, command_id)

    def program(self, program_id: str) -> Program:
        state, _ = self._fold_program(program_id)
        if state is None:
            raise ProgramNotFound(f"no program {program_id!r}", field="program_id")
        return state

    def check_program(self, program_id: str) -> None:
        """Refuse a program the ledger does not hold. A program is never removed once
        opened, so one this process has already folded needs no query."""
        if program_id not in self._programs:
            self.program(program_id)

    # Participants, one at a time

    def submit(self, program_id: str, data: CandidateData, actor: Actor,
               command_id: str | None = None) -> RowResult:
        return self._one(self.submit_batch(program_id, [data], actor, command_id))

    def correct(self, program_id: str, participant_id: UUID, command: CorrectCandidate,
                actor: Actor, command_id: str | None = None) -> RowResult:
        def decide(prog: Program, state: Participant | None, _: None) -> Decision:
            return participant.correct(state, prog, command, self._today()), []

        return self._one(self._decide_batch(program_id, [(participant_id, None)], decide,
                                            actor, command_id))

    def verify(self, program_id: str, participant_id: UUID, registry: CivilRegistry,
               actor: Actor, command_id: str | None = None) -> RowResult:
        return self._one(self.verify_batch(program_id, [participant_id], registry, actor,
                                           command_id))

    def record_verification(self, program_id: str, participant_id: UUID,
                            command: RecordVerification, actor: Actor,
                            command_id: str | None = None) -> RowResult:
        outcome = participant.manual_verification(command, self._today())

        def decide(_: Program, state: Participant | None, __: None) -> Decision:
            return participant.verify(state, outcome), []

        return self._one(self._decide_batch(program_id, [(participant_id, None)], decide,
                                            actor, command_id))

    def enroll(self, program_id: str, participant_id: UUID, command: Enroll, actor: Actor,
               command_id: str | None = None) -> RowResult:
        return self._one(self.enroll_batch(program_id, [(participant_id, command)], actor,
                                           command_id))

    def terminate(self, program_id: str, participant_id: UUID, command: Terminate,
                  actor: Actor, command_id: str | None = None) -> RowResult:
        def decide(_: Program, state: Participant | None, __: None) -> Decision:
            events = participant.terminate(state, command, self._today())
            if state.status != "enrolled":
                return events, []
            return events, [SeatReleased(participant_id=str(participant_id),
                                         cohort=state.data.cohort)]

        return self._one(self._decide_batch(program_id, [(participant_id, None)], decide,
                                            actor, command_id))

    def termination_writes(self, program_id: str, participant_id: UUID,
                           command: Terminate) -> list[StreamWrite]:
        """What a termination appends, for a caller that appends it together with its own
        events in one transaction (a death reported through a claim)."""
        recorded = self._store.read(participant_id)
        state = _fold(participant.evolve, recorded)
        if state is None or state.program_id != program_id:
            raise ParticipantNotFound("no such participant in this program",
                                      field="participant_id")
        writes = [StreamWrite(participant_id, len(recorded),
                              participant.terminate(state, command, self._today()))]
        if state.status == "enrolled":
            _, version = self._fold_program(program_id)
            writes.append(StreamWrite(program.stream_id(program_id), version, [SeatReleased(
                participant_id=str(participant_id), cohort=state.data.cohort)]))
        return writes

    def record_lapses(self, program_id: str, lapses: Sequence[tuple[UUID, ParticipantLapsed]],
                      actor: Actor, command_id: str | None = None) -> list[RowResult]:
        """Record lapsed memberships and give back their quota seats."""
        def decide(prog: Program, state: Participant | None,
                   event: ParticipantLapsed) -> Decision:
            events = participant.lapse(state, event)
            seat = str(self.participant_id(prog.program_id, state.data.nik))
            return events, [SeatReleased(participant_id=seat, cohort=state.data.cohort)]

        return self._decide_batch(program_id, list(lapses), decide, actor, command_id)

    def participant(self, program_id: str, participant_id: UUID) -> Participant:
        return _in_program(program_id, self._store.read(participant_id))

    def participant_id(self, program_id: str, nik: str) -> UUID:
        """The stream of the person with ``nik`` in a program. It comes from the keyed
        hash of the NIK: an id from the NIK itself would give it away to anyone who tried
        every NIK of a region, a few million at most."""
        return participant.stream_id(program_id, self._keyring.nik_hash(nik))

    def history(self, program_id: str, participant_id: UUID) -> list[Recorded]:
        recorded = self._store.read(participant_id)
        _in_program(program_id, recorded)
        return recorded

    # Participants in batches (imports)

    def submit_batch(self, program_id: str, rows: Sequence[CandidateData], actor: Actor,
                     command_id: str | None = None, *,
                     registry: CivilRegistry | None = None) -> list[RowResult]:
        """Submit rows; with a registry, also verify each one in the same pass and the
        same transaction (an import of a list and its registry extract together)."""
        today = self._today()
        rules = verification_rules_on(today)

        def decide(prog: Program, state: Participant | None, data: CandidateData) -> Decision:
            events = participant.submit(state, prog, data, today)
            state = _fold(participant.evolve, events, state)
            if registry is None or state.status in ("enrolled", "terminated"):
                return events, []
            outcome = _verification(prog, state, registry, today, rules)
            return events + participant.verify(state, outcome), []

        items = [(self.participant_id(program_id, _compact(row.nik)), row) for row in rows]
        return self._decide_batch(program_id, items, decide, actor, command_id)

    def verify_batch(self, program_id: str, participant_ids: Sequence[UUID],
                     registry: CivilRegistry, actor: Actor,
                     command_id: str | None = None) -> list[RowResult]:
        today = self._today()
        rules = verification_rules_on(today)

        def decide(prog: Program, state: Participant | None, _: None) -> Decision:
            if state is None:
                raise ParticipantNotFound("no such participant in this program")
            return participant.verify(state, _verification(prog, state, registry, today,
                                                           rules)), []

        items = [(pid, None) for pid in participant_ids]
        return self._decide_batch(program_id, items, decide, actor, command_id)

    def enroll_batch(self, program_id: str, items: Sequence[tuple[UUID, Enroll]], actor: Actor,
                     command_id: str | None = None) -> list[RowResult]:
        def decide(prog: Program, state: Participant | None, command: Enroll) -> Decision:
            events = participant.enroll(state, prog, command)
            seat = program.allocate_seat(prog, str(self.participant_id(prog.program_id,
                                                                       state.data.nik)),
                                         state.data.cohort)
            return events, [seat]

        return self._decide_batch(program_id, list(items), decide, actor, command_id,
                                  kpj_of=lambda command: command.kpj)

    # The engine

    def _decide_batch(self, program_id: str, items: Sequence[tuple[UUID, T]],
                      decide: Callable[[Program, Participant | None, T], Decision],
                      actor: Actor, command_id: str | None,
                      kpj_of: Callable[[T], str] | None = None) -> list[RowResult]:
        """``kpj_of`` names the KPJ each item enrolls with: each is taken on its own
        stream in the same transaction, so no two people of a program hold one KPJ."""
        for attempt in range(1, self._attempts + 1):
            prog, prog_version = self._fold_program(program_id)
            if prog is None:
                raise ProgramNotFound(f"no program {program_id!r}", field="program_id")
            kpj_streams = ({participant.kpj_stream_id(program_id, kpj_of(item))
                            for _, item in items} if kpj_of else set())
            streams = self._store.read_many({pid for pid, _ in items} | kpj_streams)
            holders = {r.event.kpj: r.event.participant_id
                       for stream in kpj_streams for r in streams.pop(stream, [])}
            read_versions = {pid: len(recorded) for pid, recorded in streams.items()}
            states = {pid: _fold(participant.evolve, recorded) for pid, recorded in streams.items()}
            pending: dict[UUID, list[Event]] = defaultdict(list)
            program_events: list[Event] = []
            kpj_writes: list[StreamWrite] = []
            results = []
            for pid, item in items:
                state = states.get(pid)
                if state is not None and state.program_id != program_id:
                    state = None
                try:
                    events, prog_events = decide(prog, state, item)
                    taken = (participant.take_kpj(holders, str(pid), kpj_of(item))
                             if kpj_of else None)
                except LedgerError as error:
                    results.append(RowResult(pid, 0, _detached(error), state))
                    continue
                states[pid] = state = _fold(participant.evolve, events, state)
                if prog_events:  # a seat taken or given back; most rows leave the program be
                    prog = _fold(program.evolve, prog_events, prog)
                    program_events += prog_events
                if taken is not None:
                    holders[taken.kpj] = taken.participant_id
                    kpj_writes.append(StreamWrite(
                        participant.kpj_stream_id(program_id, taken.kpj), 0, [taken]))
                pending[pid] += events
                results.append(RowResult(pid, len(events) + len(prog_events) + (taken is not None),
                                         None, state))
            writes = [StreamWrite(pid, read_versions.get(pid, 0), events)
                      for pid, events in pending.items()]
            if program_events:
                writes.append(StreamWrite(program.stream_id(program_id), prog_version,
                                          program_events))
            writes += kpj_writes
            try:
                self._store.append(writes, self._meta(actor, command_id))
                return results
            except ConcurrencyConflict:
                self._programs.pop(program_id, None)
                if attempt == self._attempts:
                    raise
        raise AssertionError("unreachable")

    def _change_program(self, program_id: str, decide: Callable[[Program], list[Event]],
                        actor: Actor, command_id: str | None) -> Program:
        state, version = self._fold_program(program_id)
        if state is None:
            raise ProgramNotFound(f"no program {program_id!r}", field="program_id")
        events = decide(state)
        try:
            self._store.append([StreamWrite(program.stream_id(program_id), version, events)],
                               self._meta(actor, command_id))
        except ConcurrencyConflict:
            self._programs.pop(program_id, None)
            raise
        return self.program(program_id)

    def _fold_program(self, program_id: str) -> tuple[Program | None, int]:
        """Program state and version, reading only events newer than the cached fold, or
        than the program's snapshot the first time: a program stream gains one event per
        quota seat, so folding it whole on every enrollment would grow with the program."""
        stream = program.stream_id(program_id)
        state, version = self._programs.get(program_id) or self._snapshot(program_id, stream)
        newer = self._store.read(stream, after_version=version)
        state = _fold(program.evolve, newer, state)
        version += len(newer)
        if state is not None:
            self._programs[program_id] = (state, version)
            self._keep_snapshot(program_id, state, version)
        return state, version

    def _snapshot(self, program_id: str, stream: UUID) -> tuple[Program | None, int]:
        """The program's snapshot, when there is one this code reads at a version its
        stream holds (a snapshot is a cache; the log decides)."""
        found = self._snapshots.load(program_id) if self._snapshots else None
        if found is None or not self._store.holds(stream, found[1]):
            return None, 0
        self._snapshot_versions[program_id] = found[1]
        return found

    def _keep_snapshot(self, program_id: str, state: Program, version: int) -> None:
        if self._snapshots is not None \
                and version - self._snapshot_versions.get(program_id, 0) >= SNAPSHOT_EVERY:
            self._snapshots.save(program_id, state, version)
            self._snapshot_versions[program_id] = version

    def _meta(self, actor: Actor, command_id: str | None) -> EventMeta:
        return EventMeta(actor_id=actor.actor_id, actor_role=actor.role,
                         recorded_at=self._clock(), command_id=command_id)

    def _today(self) -> date:
        return self._clock().date()

    @staticmethod
    def _one(results: list[RowResult]) -> RowResult:
        (result,) = results
        if result.error is not None:
            raise result.error
        return result


def _fold(evolve: Callable, recorded: Sequence, state=None):
    for item in recorded:
        state = evolve(state, item.event if isinstance(item, Recorded) else item)
    return state


def _in_program(program_id: str, recorded: Sequence[Recorded]) -> Participant:
    state = _fold(participant.evolve, recorded)
    if state is None or state.program_id != program_id:
        raise ParticipantNotFound("no such participant in this program", field="participant_id")
    return state


def _detached(error: LedgerError) -> LedgerError:
    """The refusal without its traceback and the exception it replaced: their frames hold
    this batch's ``results``, and that cycle would keep every batch of an import in memory
    until a full garbage collection."""
    error.__traceback__ = error.__context__ = error.__cause__ = None
    return error


def _verification(prog: Program, state: Participant, registry: CivilRegistry, today: date,
                  rules: VerificationRules) -> VerificationRecorded:
    nik = state.data.nik
    requires_p3ke = state.data.cohort in prog.p3ke_cohorts
    verdict = verification.match(
        state.as_candidate(), registry.lookup(nik), program_region=prog.region_code,
        requires_p3ke=requires_p3ke, in_p3ke=requires_p3ke and registry.in_p3ke(nik),
        rules=rules)
    return VerificationRecorded(
        outcome=verdict.outcome, reasons=verdict.reasons, method="registry",
        source=registry.source, verified_on=today, name_score=verdict.name_score)


def _compact(nik: str) -> str:
    """Strip separators so '7174 0112 ...' and '71740112...' are one stream; validity is
    checked by the decider, which refuses the row with a reason."""
    if nik.isdigit():
        return nik
    return "".join(ch for ch in nik if ch not in " -.").strip()

