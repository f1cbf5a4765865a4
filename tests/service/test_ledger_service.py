"""The application service on a real store (SQLite and PostgreSQL): load, decide, append."""

import threading
from datetime import UTC, date, datetime

import msgspec
import pytest

from ledger.errors import KpjInUse, LedgerError, ParticipantNotFound, ProgramNotFound
from ledger.events import ParticipantLapsed
from ledger.participant import Enroll, Terminate, kpj_stream_id
from ledger.program import OpenProgram
from ledger.registry import InMemoryRegistry
from ledger.service import Actor, Ledger
from ledger.storage import open_storage
from ledger.store import EventStore
from ledger.verification import RegistryRecord
from tests.keys import KEYRING
from tests.unit.scenario import KOTAMOBAGU_OPENED, siti

CLERK = Actor("clerk-1", "enrollment_clerk")
OPEN_KOTAMOBAGU = msgspec.convert(msgspec.to_builtins(KOTAMOBAGU_OPENED), type=OpenProgram)


def clock() -> datetime:
    return datetime(2024, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(db_url):
    storage = open_storage(db_url)
    yield EventStore(storage, KEYRING)
    storage.close()


@pytest.fixture
def ledger(store):
    return Ledger(store, KEYRING, clock=clock)


def registry_knowing(*candidates) -> InMemoryRegistry:
    return InMemoryRegistry("dukcapil:test.csv", [
        RegistryRecord(nik=c.nik, full_name=c.full_name, birth_date=c.birth_date, sex=c.sex,
                       mother_name=c.mother_name) for c in candidates])


def with_quota(quota: int):
    return msgspec.structs.replace(OPEN_KOTAMOBAGU, quota_total=quota,
                                   cohort_quotas={"informal": quota})


def test_commands_on_an_unknown_program_are_refused(ledger):
    with pytest.raises(ProgramNotFound):
        ledger.submit("makassar-2024", siti(), CLERK)


def test_a_participant_of_another_program_is_not_found_here(ledger):
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
    ledger.open_program(msgspec.structs.replace(OPEN_KOTAMOBAGU, program_id="other"), CLERK)
    submitted = ledger.submit("kotamobagu-2024", siti(), CLERK)

    with pytest.raises(ParticipantNotFound):
        ledger.participant("other", submitted.participant_id)


def test_the_same_nik_twice_in_one_batch_lands_on_one_stream(ledger):
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)

    results = ledger.submit_batch("kotamobagu-2024",
                                  [siti(), siti(), siti(village="Biga")], CLERK)

    assert len({r.participant_id for r in results}) == 1
    assert [r.appended for r in results] == [1, 0, 1]
    history = ledger.history("kotamobagu-2024", results[0].participant_id)
    assert [r.version for r in history] == [1, 2]
    assert history[0].meta.actor_id == "clerk-1"


def test_a_batch_refuses_bad_rows_and_keeps_the_good_ones(ledger):
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)

    results = ledger.submit_batch("kotamobagu-2024", [siti(), siti(nik="123")], CLERK)

    assert results[0].error is None and results[0].appended == 1
    assert results[1].error.field == "nik"


def test_enrollment_takes_a_seat_and_termination_gives_it_back(ledger):
    ledger.open_program(with_quota(1), CLERK)
    pid = ledger.submit("kotamobagu-2024", siti(), CLERK).participant_id
    ledger.verify("kotamobagu-2024", pid, registry_knowing(siti()), CLERK)

    enrolled = ledger.enroll("kotamobagu-2024", pid, Enroll(
        kpj="24012345678", coverage_start=date(2024, 3, 1), batch="1"), CLERK)
    # participant.enrolled.v1, program.seat_allocated.v1 and participant.kpj_taken.v1
    assert enrolled.appended == 3
    assert ledger.program("kotamobagu-2024").seats_taken == {"informal": 1}

    ledger.terminate("kotamobagu-2024", pid, Terminate(reason="died",
                                                       effective_date=date(2024, 5, 20)), CLERK)
    assert ledger.program("kotamobagu-2024").seats_taken == {"informal": 0}


def matched(ledger: Ledger, *candidates) -> list:
    pids = [ledger.submit("kotamobagu-2024", c, CLERK).participant_id for c in candidates]
    ledger.verify_batch("kotamobagu-2024", pids, registry_knowing(*candidates), CLERK)
    return pids


def phase(kpj: str) -> Enroll:
    return Enroll(kpj=kpj, coverage_start=date(2024, 3, 1), batch="tahap-1")


FITRI = {"nik": "7174014503850002", "full_name": "Fitri Manoppo"}


def test_two_people_of_a_program_cannot_be_enrolled_with_one_kpj(ledger, store):
    # Given Siti is enrolled with KPJ 24012345678
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
    siti_id, fitri_id = matched(ledger, siti(), siti(**FITRI))
    ledger.enroll("kotamobagu-2024", siti_id, phase("24012345678"), CLERK)

    # When Fitri is enrolled with the same KPJ
    with pytest.raises(KpjInUse) as refused:
        ledger.enroll("kotamobagu-2024", fitri_id, phase("24012345678"), CLERK)

    # Then she is refused, and the KPJ's stream names Siti alone
    assert refused.value.field == "kpj"
    assert ledger.participant("kotamobagu-2024", fitri_id).status == "matched"
    taken = store.read(kpj_stream_id("kotamobagu-2024", "24012345678"))
    assert [(r.event.participant_id, r.event.kpj) for r in taken] == [
        (str(siti_id), "24012345678")]


def test_one_kpj_twice_in_an_enrollment_batch_enrolls_the_first_row_only(ledger):
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
    siti_id, fitri_id = matched(ledger, siti(), siti(**FITRI))

    results = ledger.enroll_batch("kotamobagu-2024", [(siti_id, phase("24012345678")),
                                                      (fitri_id, phase("24012345678"))], CLERK)

    assert [r.error.code if r.error else r.state.status for r in results] == [
        "enrolled", "kpj-in-use"]
    assert ledger.program("kotamobagu-2024").seats_taken == {"informal": 1}


def test_the_same_kpj_in_another_program_is_its_own(ledger):
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
    ledger.open_program(msgspec.structs.replace(OPEN_KOTAMOBAGU, program_id="other"), CLERK)
    (here,) = matched(ledger, siti())
    there = ledger.submit("other", siti(), CLERK).participant_id
    ledger.verify_batch("other", [there], registry_knowing(siti()), CLERK)

    ledger.enroll("kotamobagu-2024", here, phase("24012345678"), CLERK)
    enrolled = ledger.enroll("other", there, phase("24012345678"), CLERK)

    assert enrolled.error is None and enrolled.state.kpj == "24012345678"


def test_a_lapsed_member_enrolled_again_under_its_kpj_takes_nothing_new(ledger, store):
    # Given Siti was enrolled and her membership lapsed for unpaid months
    ledger.open_program(OPEN_KOTAMOBAGU, CLERK)
    (siti_id,) = matched(ledger, siti())
    ledger.enroll("kotamobagu-2024", siti_id, phase("24012345678"), CLERK)
    ledger.record_lapses("kotamobagu-2024", [(siti_id, ParticipantLapsed(
        lapsed_from="2024-04", lapsed_on=date(2024, 5, 16), unpaid_periods=["2024-04"],
        coverage_rule_version="coverage/2015-07"))], CLERK)

    # When she is enrolled again under her own KPJ
    again = ledger.enroll("kotamobagu-2024", siti_id, Enroll(
        kpj="24012345678", coverage_start=date(2024, 6, 1), batch="tahap-2"), CLERK)

    # Then she holds it still: her enrollment and her seat, and no second claim on the KPJ
    assert (again.error, again.appended, again.state.status) == (None, 2, "enrolled")
    assert len(store.read(kpj_stream_id("kotamobagu-2024", "24012345678"))) == 1


def test_two_clerks_racing_for_the_last_seat_cannot_both_enroll(db_url):
    outcomes, statuses = two_clerks_enroll_at_once(db_url, with_quota(1),
                                                   ("24012345670", "24012345671"))

    assert outcomes == ["enrolled", "quota-full"]
    assert statuses == ["enrolled", "matched"]


def test_two_clerks_enrolling_two_people_with_one_kpj_at_once_cannot_both_win(db_url):
    outcomes, statuses = two_clerks_enroll_at_once(db_url, OPEN_KOTAMOBAGU,
                                                   ("24012345678", "24012345678"))

    assert outcomes == ["enrolled", "kpj-in-use"]
    assert statuses == ["enrolled", "matched"]


def two_clerks_enroll_at_once(db_url, opening: OpenProgram,
                              kpjs: tuple[str, str]) -> tuple[list[str], list[str]]:
    """Siti and Fitri, matched, enrolled at the same moment with ``kpjs`` by two clerks,
    each with their own process-like service instance on the same database: what each
    clerk got (``enrolled`` or the refusal's code) and the two statuses after, sorted."""
    storages = [open_storage(db_url) for _ in range(2)]
    try:
        clerks = [Ledger(EventStore(s, KEYRING), KEYRING, clock=clock) for s in storages]
        clerks[0].open_program(opening, CLERK)
        pids = matched(clerks[0], siti(), siti(**FITRI))
        start, outcomes = threading.Barrier(2), []

        def enroll(clerk: Ledger, pid, kpj: str) -> None:
            start.wait()
            try:
                clerk.enroll("kotamobagu-2024", pid, phase(kpj), CLERK)
                outcomes.append("enrolled")
            except LedgerError as refused:
                outcomes.append(refused.code)

        threads = [threading.Thread(target=enroll, args=(clerks[i], pids[i], kpjs[i]))
                   for i in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return sorted(outcomes), sorted(clerks[1].participant("kotamobagu-2024", p).status
                                        for p in pids)
    finally:
        for storage in storages:
            storage.close()
