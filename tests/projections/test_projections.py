"""Projections: caught up exactly once, and a rebuild equals the incremental build."""

import io
import json
from datetime import UTC, date, datetime
from uuid import UUID

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import audit, program
from ledger.events import MismatchReason, ParticipantLapsed
from ledger.participant import (
    CorrectCandidate,
    Enroll,
    RecordVerification,
    Terminate,
    kpj_stream_id,
)
from ledger.program import OpenProgram, ReviseQuota
from ledger.registry import InMemoryRegistry
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from ledger.verification import RegistryRecord
from projections import views
from tests.unit.scenario import KOTAMOBAGU_OPENED, siti

CLERK = Actor("clerk-1", "enrollment_clerk")
PROGRAM = "kotamobagu-2024"
TABLES = ("program_summary", "program_budget", "program_cohort_quota", "program_cohort_status",
          "participant_status", "participant_reasons")


@pytest.fixture
def system(db_url, tmp_path):
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        system.ledger._clock = lambda: datetime(2024, 6, 1, 9, tzinfo=UTC)
        system.ledger.open_program(msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED),
                                                   type=OpenProgram), CLERK)
        yield system


def snapshot(system) -> dict[str, list]:
    with system.storage.db.transaction() as tx:
        return {t: sorted(map(repr, (sorted(r.items()) for r in tx.fetchall(
            f"SELECT * FROM {t}")))) for t in TABLES}


def candidate(n: int):
    return siti(nik=f"71740145038500{n:02d}", full_name=f"Siti Mokodompit {chr(65 + n)}",
                village=("Gogagoman", "Biga", "Motoboi Kecil")[n % 3])


REGISTRY = InMemoryRegistry("dukcapil:test.csv", [
    RegistryRecord(nik=c.nik, full_name=c.full_name, birth_date=c.birth_date, sex=c.sex,
                   mother_name=c.mother_name) for c in map(candidate, range(1, 7))])


def run(system, step) -> None:
    """Apply one generated command; refusals are part of a realistic history."""
    kind, n = step
    pid = system.ledger.submit_batch(PROGRAM, [candidate(n)], CLERK)[0].participant_id
    ledger = system.ledger
    commands = {
        "verify": lambda: ledger.verify_batch(PROGRAM, [pid], REGISTRY, CLERK),
        "mismatch": lambda: ledger.record_verification(PROGRAM, pid, RecordVerification(
            outcome="mismatched", source="letter 1", verified_on=date(2024, 5, 1),
            reasons=[MismatchReason(code="name_differs", field="full_name", detail="x")]),
            CLERK),
        "correct": lambda: ledger.correct(PROGRAM, pid, CorrectCandidate(
            reason="KTP", village="Upai"), CLERK),
        "enroll": lambda: ledger.enroll(PROGRAM, pid, Enroll(
            kpj=f"240123456{n:02d}", coverage_start=date(2024, 3, 1), batch="tahap-1"), CLERK),
        "terminate": lambda: ledger.terminate(PROGRAM, pid, Terminate(
            reason="moved", effective_date=date(2024, 5, 1)), CLERK),
        "resubmit": lambda: ledger.submit(PROGRAM, candidate(n + 7), CLERK),
        "revise": lambda: ledger.revise_quota(PROGRAM, ReviseQuota(
            quota_total=8000 + n, reason="APBD-P", revision_ref="Perda 5/2024"), CLERK),
    }
    try:
        commands[kind]()
    except Exception as error:  # a refused command appends nothing
        assert hasattr(error, "code"), error


steps = st.lists(st.tuples(st.sampled_from(
    ["verify", "mismatch", "correct", "enroll", "terminate", "resubmit", "revise", "verify"]),
    st.integers(1, 6)), min_size=1, max_size=25)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_a_rebuild_equals_the_incremental_build(system, history):
    for step in history:
        run(system, step)
        system.projections.catch_up()
    incremental = snapshot(system)

    system.projections.rebuild()

    assert snapshot(system) == incremental


def test_catching_up_twice_applies_nothing_the_second_time(system):
    system.ledger.submit(PROGRAM, candidate(1), CLERK)
    assert system.projections.catch_up() > 0
    assert system.projections.catch_up() == 0
    assert system.projections.lag() == 0


def test_a_projection_that_fails_mid_batch_leaves_rows_and_position_untouched(system,
                                                                              monkeypatch):
    system.projections.catch_up()
    before, positions = snapshot(system), system.projections.positions()
    system.ledger.submit(PROGRAM, candidate(1), CLERK)

    def crash(*_):
        raise RuntimeError("power cut")

    monkeypatch.setattr("projections.participants._write_counts", crash)
    with pytest.raises(RuntimeError):
        system.projections.catch_up()
    monkeypatch.undo()

    assert system.projections.positions()["participants"] == positions["participants"]
    assert snapshot(system)["participant_status"] == before["participant_status"]
    system.projections.catch_up()
    assert views.program_summary(system.storage.db, PROGRAM)["totals"]["submitted"] == 1


def test_quota_use_counts_follow_each_participant_through_its_statuses(system):
    ledger = system.ledger
    pids = [r.participant_id for r in ledger.submit_batch(
        PROGRAM, [candidate(n) for n in (1, 2, 3)] + [candidate(9)], CLERK)]
    ledger.verify_batch(PROGRAM, pids, REGISTRY, CLERK)
    ledger.enroll(PROGRAM, pids[0], Enroll(kpj="24012345601", coverage_start=date(2024, 3, 1),
                                           batch="tahap-1"), CLERK)
    ledger.terminate(PROGRAM, pids[1], Terminate(reason="withdrawn",
                                                 effective_date=date(2024, 5, 1)), CLERK)
    system.projections.catch_up()

    summary = views.program_summary(system.storage.db, PROGRAM)

    assert summary["totals"] == {"awaiting_verification": 0, "matched": 1, "mismatched": 1,
                                 "enrolled": 1, "lapsed": 0, "terminated": 1, "submitted": 4}
    assert summary["quota_remaining"] == 8999
    backlog = views.backlog(system.storage.db, PROGRAM)
    assert backlog["by_reason"] == [{"reason": "nik_not_found", "participants": 1}]


def test_a_programs_export_holds_every_kpj_its_members_took(system):
    # Given a member enrolled with a KPJ, lapsed, and enrolled again under another, and a
    # member of another program
    pid = system.ledger.submit_batch(PROGRAM, [candidate(1)], CLERK)[0].participant_id
    system.ledger.verify_batch(PROGRAM, [pid], REGISTRY, CLERK)
    system.ledger.enroll(PROGRAM, pid, Enroll(kpj="24012345601", coverage_start=date(2024, 3, 1),
                                              batch="tahap-1"), CLERK)
    system.ledger.record_lapses(PROGRAM, [(pid, ParticipantLapsed(
        lapsed_from="2024-04", lapsed_on=date(2024, 5, 16), unpaid_periods=["2024-04"],
        coverage_rule_version="coverage/2015-07"))], CLERK)
    system.ledger.enroll(PROGRAM, pid, Enroll(kpj="24012345602", coverage_start=date(2024, 6, 1),
                                              batch="tahap-2"), CLERK)
    system.ledger.open_program(msgspec.convert({**msgspec.to_builtins(KOTAMOBAGU_OPENED),
                                                "program_id": "kotamobagu-2025"},
                                               type=OpenProgram), CLERK)
    other = system.ledger.submit_batch("kotamobagu-2025", [candidate(2)], CLERK)[0]
    system.ledger.verify_batch("kotamobagu-2025", [other.participant_id], REGISTRY, CLERK)
    system.ledger.enroll("kotamobagu-2025", other.participant_id, Enroll(
        kpj="24012345603", coverage_start=date(2024, 3, 1), batch="tahap-1"), CLERK)
    system.projections.catch_up()

    # When the program's part of the log is exported
    out = io.StringIO()
    audit.export(system.storage.db, out,
                 streams=views.program_streams(system.storage.db, PROGRAM))

    # Then both of her KPJs' streams are in it, with hers and the program's, and the other
    # program's member's KPJ is not
    exported = {UUID(json.loads(line)["stream_id"]) for line in out.getvalue().splitlines()}
    assert {kpj_stream_id(PROGRAM, "24012345601"), kpj_stream_id(PROGRAM, "24012345602"),
            pid, program.stream_id(PROGRAM)} == exported


def test_a_kpj_event_altered_behind_the_ledger_is_left_out_of_a_programs_export(
        owner_db_url, tmp_path):
    # Given a member enrolled with her KPJ, and the KPJ's event overwritten with bytes that
    # are not JSON by an insider around the append-only trigger
    with open_system(Settings(database_url=owner_db_url, data_dir=tmp_path)) as system:
        system.ledger.open_program(msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED),
                                                   type=OpenProgram), CLERK)
        pid = system.ledger.submit_batch(PROGRAM, [candidate(1)], CLERK)[0].participant_id
        system.ledger.verify_batch(PROGRAM, [pid], REGISTRY, CLERK)
        system.ledger.enroll(PROGRAM, pid, Enroll(
            kpj="24012345601", coverage_start=date(2024, 3, 1), batch="tahap-1"), CLERK)
        system.projections.catch_up()
        kpj_position = system.store.last_position(kpj_stream_id(PROGRAM, "24012345601"))
        with system.storage.db.transaction() as tx:
            if system.storage.dialect == "postgresql":
                tx.execute("SET LOCAL session_replication_role = replica")
                tx.execute("UPDATE stored_events SET state = 'garbled'::bytea "
                           "WHERE notification_id = :position", {"position": kpj_position})
            else:
                tx.execute("DROP TRIGGER stored_events_no_update")
                tx.execute("UPDATE stored_events SET state = CAST('garbled' AS BLOB) "
                           "WHERE rowid = :position", {"position": kpj_position})

        # When the program's part of the log is exported, and the log verified
        out = io.StringIO()
        exported = audit.export(system.storage.db, out,
                                streams=views.program_streams(system.storage.db, PROGRAM))
        verdict = audit.verify(system.storage.db)

    # Then the export completes without the event it cannot attribute, the member's own
    # stream in it, and verify names that event's position as the one altered
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert exported == len(lines) and pid in {UUID(line["stream_id"]) for line in lines}
    assert kpj_position not in [line["position"] for line in lines]
    assert verdict.failed_position == kpj_position
