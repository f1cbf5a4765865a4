"""As-of checkpoints (``projections/checkpoints.py``): a program's replayed read models kept
at a position, so that a later as-of replays only what follows. An answer from a
checkpoint equals the whole log replayed; a checkpoint that cannot give that answer (altered,
made by other code, lacking a stream the question reads) is passed over (both backends)."""

from datetime import date

import msgspec
import pytest
from structlog.testing import capture_logs

from ledger.bill import GenerateBill, RecordPayment
from ledger.participant import Enroll
from ledger.personal_data import keyring_from, read_key_file, rotated
from ledger.settings import Settings
from ledger.system import open_system
from projections import as_of, checkpoints
from projections.as_of import LogPoint
from projections.budget import budget_summary
from projections.findings import findings
from tests.projections.test_scoped_replay import (
    GOWA,
    MAKASSAR,
    PROGRAMS,
    history,
    whole_log_answers,
)
from tests.service.test_contributions import (
    CLERK,
    FINANCE,
    OPEN_KOTAMOBAGU,
    PEOPLE,
    enroll_people,
    registry_knowing,
)

DAY = date(2024, 7, 1)


@pytest.fixture
def owner_system(owner_db_url, tmp_path):
    with open_system(Settings(database_url=owner_db_url, data_dir=tmp_path)) as system:
        yield system


def asked(system, program: str, position: int, query) -> tuple[object, int]:
    """The as-of answer, and the position its replay started from."""
    with capture_logs() as logs:
        answer = as_of.program_as_of(system, program, LogPoint(position, DAY), query)
    (replay,) = [entry for entry in logs if entry["event"] == "as_of_replayed"]
    return answer, replay["from_position"]


def kept_positions(system, program: str) -> list[int]:
    with system.storage.db.snapshot() as tx:
        return [row["position"] for row in tx.fetchall(
            "SELECT position FROM as_of_checkpoints WHERE scope = :scope ORDER BY position",
            {"scope": f"program:{program}"})]


def test_an_answer_from_a_checkpoint_equals_the_whole_log_at_every_later_point(system):
    members, claims, points = history(system)
    middle = points[len(points) // 3]
    for program in (MAKASSAR, GOWA):
        as_of.keep_checkpoint(system, program, middle)

    for position in [p for p in points if p >= middle]:
        whole = whole_log_answers(system, position, members, claims)
        for program in (MAKASSAR, GOWA):
            for query in (budget_summary, findings):
                answer, started = asked(system, program, position, query)
                assert started == middle
                assert answer == whole[(query.__name__, program)], (position, program)


def test_a_checkpoint_lacking_a_stream_the_question_reads_is_passed_over(system):
    """Given Gowa's members enrolled, and Makassar opened and kept before it enrolls the
    same people: Makassar's findings then read Gowa's members, whose streams began before
    the checkpoint, so only a replay from the start can answer."""
    gowa = enroll_people(system, GOWA)
    system.contributions.generate_bill(GOWA, GenerateBill(period="2024-03"), FINANCE)
    system.contributions.record_payment(GOWA, "2024-03", RecordPayment(
        payment_ref="SP2D-G-03", paid_on=date(2024, 3, 10),
        amount_idr=system.contributions.bill(GOWA, "2024-03").outstanding_idr), FINANCE)
    system.ledger.open_program(msgspec.structs.replace(OPEN_KOTAMOBAGU, program_id=MAKASSAR),
                               CLERK)
    opened = system.store.head()
    as_of.keep_checkpoint(system, MAKASSAR, opened)
    makassar = enroll_with_bill(system, MAKASSAR)
    head = system.store.head()

    answer, started = asked(system, MAKASSAR, head, findings)

    assert started == 0
    assert answer == whole_log_answers(system, head, {GOWA: gowa, MAKASSAR: makassar},
                                       [])[("findings", MAKASSAR)]
    assert any(f.kind == "double_payment_programs" for f in answer)


def enroll_with_bill(system, program: str) -> list[str]:
    """The same people, submitted and enrolled in an open ``program``, March billed and paid."""
    submitted = system.ledger.submit_batch(program, PEOPLE, CLERK,
                                           registry=registry_knowing(*PEOPLE))
    system.ledger.enroll_batch(program, [
        (r.participant_id, Enroll(kpj=f"2400000001{i}", coverage_start=date(2024, 3, 1),
                                  batch="phase 1")) for i, r in enumerate(submitted)], CLERK)
    system.contributions.generate_bill(program, GenerateBill(period="2024-03"), FINANCE)
    system.contributions.record_payment(program, "2024-03", RecordPayment(
        payment_ref="SP2D-M-03", paid_on=date(2024, 3, 12),
        amount_idr=system.contributions.bill(program, "2024-03").outstanding_idr), FINANCE)
    return [str(r.participant_id) for r in submitted]


@pytest.mark.parametrize("damage", [
    "UPDATE as_of_checkpoints SET body = :body",
    "UPDATE as_of_checkpoints SET position = position - 1",
    "UPDATE as_of_checkpoints SET code = 'made by other code'",
])
def test_a_checkpoint_altered_in_the_database_is_passed_over(owner_system, damage):
    """By somebody with the tables' owner's rights, which the service's role lacks."""
    system = owner_system
    members, claims, points = history(system)
    middle = points[len(points) // 3]
    as_of.keep_checkpoint(system, MAKASSAR, middle)
    with system.storage.db.transaction() as tx:
        (row,) = tx.fetchall("SELECT body FROM as_of_checkpoints")
        body = bytearray(row["body"])
        body[len(body) // 2] ^= 1
        tx.execute(damage, {"body": bytes(body)})
    head = system.store.head()

    answer, started = asked(system, MAKASSAR, head, budget_summary)

    assert started == 0
    assert answer == whole_log_answers(system, head, members, claims)[
        ("budget_summary", MAKASSAR)]


def test_a_long_replay_is_kept_and_the_next_question_starts_from_it(system, monkeypatch):
    members, claims, points = history(system)
    monkeypatch.setattr(as_of, "KEEP_AFTER_S", 0.0)
    later = [p for p in points if p > points[0]]

    for position in later:
        _, started = asked(system, MAKASSAR, position, budget_summary)
        assert started == max([0] + [p for p in later if p < position][-1:])

    assert kept_positions(system, MAKASSAR) == later[-checkpoints.KEPT_PER_SCOPE:]
    answer, started = asked(system, MAKASSAR, later[-1], budget_summary)
    assert started == later[-1]
    assert answer == whole_log_answers(system, later[-1], members, claims)[
        ("budget_summary", MAKASSAR)]


def test_a_replay_before_the_kept_checkpoints_is_not_kept_only_to_be_let_go(system):
    _, _, points = history(system)
    latest = points[-checkpoints.KEPT_PER_SCOPE:]
    for position in latest:
        as_of.keep_checkpoint(system, MAKASSAR, position)

    with capture_logs() as logs:
        as_of.keep_checkpoint(system, MAKASSAR, points[1])

    assert [entry["kept"] for entry in logs if entry["event"] == "as_of_replayed"] == [False]
    assert kept_positions(system, MAKASSAR) == latest


def test_a_short_replay_keeps_nothing(system):
    history(system)

    for program in PROGRAMS:
        asked(system, program, system.store.head(), budget_summary)

    assert all(kept_positions(system, program) == [] for program in PROGRAMS)


def test_a_checkpoint_made_under_other_keys_is_not_used(system, tmp_path):
    """Rotating the data key changes what a replay seals: the checkpoint is another's."""
    _, _, points = history(system)
    as_of.keep_checkpoint(system, MAKASSAR, points[1])
    keys = read_key_file(tmp_path / "keys.json")
    with_rotated_keys = checkpoints.Checkpoints(system.storage.db, system.store,
                                                keyring_from(rotated(keys), "rotated"))
    with_these_keys = checkpoints.Checkpoints(system.storage.db, system.store, system.keyring)
    scope = f"program:{MAKASSAR}"

    assert with_rotated_keys.candidates(scope, points[1]) == []
    (kept,) = with_these_keys.candidates(scope, points[1])
    assert with_these_keys.restore(scope, kept, frozenset(), tmp_path / "restored.sqlite")
