"""The contributions service: bills, payments, reversals, refunds and lapses of a program.

It loads a bill's stream, runs the pure deciders of ``ledger.bill`` and appends.
Who is enrolled (for generating a bill or checking an imported one) and which
months each person has paid (for lapses) come from ports the composition root
wires to the read models, caught up first; the events record what the decision
saw, so the log alone still explains every line.

A payment or refund reference is taken on a stream of its own in the same
transaction as the bill's event: that stream can hold one event, so the same
SP2D number can never be recorded twice in a program, even on two bills.
"""

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import date, datetime

from ledger import bill, coverage, periods
from ledger.bill import (
    Bill,
    GenerateBill,
    ImportBill,
    ImportedLine,
    RecordPayment,
    RecordRefund,
    ReversePayment,
    RosterEntry,
)
from ledger.errors import BillNotFound, InvalidInput, ReferenceAlreadyUsed
from ledger.events import Event, EventMeta, ParticipantLapsed, ReferenceKind, ReferenceUsed
from ledger.service import Actor, Ledger, RowResult, utc_now
from ledger.store import EventStore, StreamWrite

REFERENCE_NAMESPACE = uuid.UUID("e5b7f0a2-1c3d-4b6a-8f9e-2d4c6a8b0f13")
CACHED_BILL_LINES = 150_000
"""Lines of the bills kept folded between commands, at most (the last bill used is kept
whatever its size): a generated bill has a line per member, and decoding and folding it
again for its payment costs more than the rest. The bound is on lines, which is what
memory grows with: four Makassar-sized bills (35,000 lines), or the bills of twenty-five
smaller programs being paid at once."""

Roster = Callable[[str], list[RosterEntry]]
"""Every participant of a program, from the read model."""
PaidMonths = Callable[[str], Mapping[str, Mapping[str, date]]]
"""Participant id -> period -> the day it was first paid (standing payments only)."""


def reference_stream_id(program_id: str, reference: str) -> uuid.UUID:
    return uuid.uuid5(REFERENCE_NAMESPACE, f"reference/{program_id}/{reference.strip()}")


class Contributions:
    def __init__(self, store: EventStore, ledger: Ledger, roster: Roster,
                 paid_months: PaidMonths, nik_hash: Callable[[str], str], *,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._ledger = ledger
        self._roster = roster
        self._nik_hash = nik_hash
        self._paid_months = paid_months
        self._clock = clock
        self._bills: OrderedDict[uuid.UUID, tuple[Bill, int]] = OrderedDict()
        self._bills_lock = threading.Lock()

    def generate_bill(self, program_id: str, command: GenerateBill, actor: Actor,
                      command_id: str | None = None) -> Bill:
        prog = self._ledger.program(program_id)
        bill_id = bill.default_bill_id(command)
        state, version = self._fold(program_id, bill_id)
        events = bill.generate(state, prog, self._roster(program_id), command, self._today())
        return self._append(program_id, bill_id, version, events, actor, command_id)

    def import_bill(self, program_id: str, command: ImportBill, rows: list[ImportedLine],
                    actor: Actor, command_id: str | None = None) -> Bill:
        prog = self._ledger.program(program_id)
        state, version = self._fold(program_id, command.bill_id)
        events = bill.import_bill(state, prog, self._roster(program_id), command, rows,
                                  self._nik_hash, self._today())
        return self._append(program_id, command.bill_id, version, events, actor, command_id)

    def record_payment(self, program_id: str, bill_id: str, command: RecordPayment,
                       actor: Actor, command_id: str | None = None) -> Bill:
        state, version = self._existing(program_id, bill_id)
        events = bill.pay(state, command, self._today())
        return self._append(program_id, bill_id, version, events, actor, command_id,
                            reference=(command.payment_ref, "payment"))

    def reverse_payment(self, program_id: str, bill_id: str, command: ReversePayment,
                        actor: Actor, command_id: str | None = None) -> Bill:
        state, version = self._existing(program_id, bill_id)
        return self._append(program_id, bill_id, version, bill.reverse(state, command), actor,
                            command_id)

    def record_refund(self, program_id: str, bill_id: str, command: RecordRefund,
                      actor: Actor, command_id: str | None = None) -> Bill:
        state, version = self._existing(program_id, bill_id)
        events = bill.refund(state, command)
        return self._append(program_id, bill_id, version, events, actor, command_id,
                            reference=(command.refund_ref, "refund"))

    def bill(self, program_id: str, bill_id: str) -> Bill:
        return self._existing(program_id, bill_id)[0]

    def record_lapses(self, program_id: str, as_of: date, actor: Actor,
                      command_id: str | None = None) -> list[RowResult]:
        """Record the lapse of every enrolled participant whose unpaid months ended their
        membership by ``as_of`` (and give back their quota seats)."""
        if as_of > self._today():
            raise InvalidInput("as_of is in the future: a lapse is recorded once it happened",
                               field="as_of")
        prog = self._ledger.program(program_id)
        paid = self._paid_months(program_id)
        last = periods.of(prog.coverage_end)
        lapses = []
        for entry in self._roster(program_id):
            if entry.status != "enrolled" or entry.coverage_start is None:
                continue
            first = periods.of(entry.coverage_start)
            rules = coverage.rules_in_force(first)
            found = coverage.coverage(coverage.Membership(first, last),
                                      paid.get(entry.participant_id, {}), as_of, rules)
            if found.lapsed_from is None:
                continue
            unpaid = periods.span(found.lapsed_from, rules.lapse_after_unpaid_months + 1)
            lapses.append((uuid.UUID(entry.participant_id), ParticipantLapsed(
                lapsed_from=found.lapsed_from, lapsed_on=found.lapsed_on,
                unpaid_periods=unpaid, coverage_rule_version=rules.version)))
        if not lapses:
            return []
        return self._ledger.record_lapses(program_id, lapses, actor, command_id)

    def _append(self, program_id: str, bill_id: str, version: int, events: list[Event],
                actor: Actor, command_id: str | None,
                reference: tuple[str, ReferenceKind] | None = None) -> Bill:
        if not events:
            return self.bill(program_id, bill_id)
        stream = bill.stream_id(program_id, bill_id)
        writes = [StreamWrite(stream, version, events)]
        if reference is not None:
            ref, kind = reference
            self._refuse_used_reference(program_id, ref)
            writes.append(StreamWrite(reference_stream_id(program_id, ref), 0,
                                      [ReferenceUsed(reference=ref, kind=kind,
                                                     bill_id=bill_id)]))
        meta = EventMeta(actor_id=actor.actor_id, actor_role=actor.role,
                         recorded_at=self._clock(), command_id=command_id)
        self._store.append(writes, meta)
        # What the stream now holds is what was read plus what was just appended: fold
        # those instead of reading the whole bill back.
        with self._bills_lock:
            cached = self._bills.get(stream)
        state = cached[0] if cached is not None and cached[1] == version else None
        if state is None and version:
            return self.bill(program_id, bill_id)
        for event in events:
            state = bill.evolve(state, event)
        self._remember(stream, state, version + len(events))
        return state

    def _refuse_used_reference(self, program_id: str, reference: str) -> None:
        used = self._store.read(reference_stream_id(program_id, reference))
        if used:
            taken = used[0].event
            raise ReferenceAlreadyUsed(
                f"reference {reference} is already recorded as a {taken.kind} on bill "
                f"{taken.bill_id}", field="payment_ref" if taken.kind == "payment"
                else "refund_ref")

    def _fold(self, program_id: str, bill_id: str) -> tuple[Bill | None, int]:
        """The bill and its stream's version, reading only the events newer than the fold
        kept from an earlier command (a stream only grows, so the rest is still true)."""
        stream = bill.stream_id(program_id, bill_id)
        with self._bills_lock:
            state, version = self._bills.get(stream, (None, 0))
        newer = self._store.read(stream, after_version=version)
        for item in newer:
            state = bill.evolve(state, item.event)
        version += len(newer)
        if state is not None and state.issued.program_id != program_id:
            return None, version
        if state is not None:
            self._remember(stream, state, version)
        return state, version

    def _remember(self, stream: uuid.UUID, state: Bill, version: int) -> None:
        with self._bills_lock:
            known = self._bills.get(stream)
            if known is None or known[1] <= version:
                self._bills[stream] = (state, version)
            self._bills.move_to_end(stream)
            lines = sum(len(kept.issued.lines) for kept, _ in self._bills.values())
            while lines > CACHED_BILL_LINES and len(self._bills) > 1:
                evicted, _ = self._bills.popitem(last=False)[1]
                lines -= len(evicted.issued.lines)

    def _existing(self, program_id: str, bill_id: str) -> tuple[Bill, int]:
        state, version = self._fold(program_id, bill_id)
        if state is None:
            raise BillNotFound(f"no bill {bill_id!r} in program {program_id}", field="bill_id")
        return state, version

    def _today(self) -> date:
        return self._clock().date()
