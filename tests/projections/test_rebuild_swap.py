"""Rebuilding read models while the service keeps serving the old ones.

A rebuild replays the log into shadow tables and swaps them in at once: the rebuilt
read models equal the ones built as the log grew, a reader in the meantime sees the
old ones whole (never empty, never half built), and what is appended during the
rebuild ends up in the result exactly once.
"""

import itertools
import threading
from contextlib import contextmanager
from datetime import date, timedelta
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import periods
from ledger.bill import ImportBill, ImportedLine
from ledger.claim import (
    ApproveClaim,
    AssessClaim,
    CloseClaim,
    ReceiveDocument,
    RecordHeir,
    RecordPayout,
    RejectClaim,
    ReopenClaim,
    ReportClaim,
)
from ledger.errors import LedgerError
from ledger.events import PERSONAL_FIELDS, READABLE_TYPES, MismatchReason, PersonalFields
from ledger.participant import CorrectCandidate, Enroll, RecordVerification, Terminate
from ledger.program import ReviseBudget, ReviseQuota
from ledger.settings import Settings
from ledger.storage import open_storage
from ledger.system import open_system, read_models
from projections.claims import SUMMARY_COLUMNS, decode_state, opened_state
from projections.replay import event_types
from projections.runner import ProjectionRunner
from tests.projections import test_contributions_rebuild as contributions
from tests.projections.wrapping import Wrapped
from tests.service.test_claims import OFFICER
from tests.service.test_contributions import CLERK, FINANCE, PEOPLE, PROGRAM, enroll_people
from tests.service.test_ledger_service import registry_knowing
from tests.unit.scenario import siti

EXAMPLES = itertools.count()
MONTHS = contributions.MONTHS
CONTRIBUTION_STEPS = ("bill", "pay_all", "pay_one", "reverse", "refund", "supplement",
                      "pay_supplement", "die", "lapses")
ENROLLMENT_STEPS = ("submit", "verify", "mismatch", "correct", "enroll", "terminate",
                    "revise_quota", "revise_budget")
CLAIM_STEPS = ("jkm", "jkk", "heir", "documents", "assess", "approve", "reject", "pay_claim",
               "close", "reopen")


# Given: histories of programs, candidates, bills, payments and claims


def newcomer(who: int):
    """A candidate of Kotamobagu beyond the three enrolled people; the odd ones are not in
    the civil registry, so verifying them finds a mismatch."""
    return siti(nik=f"717401450385{10 + who:04d}", full_name=f"Siti Newcomer {chr(65 + who)}",
                village=("Gogagoman", "Biga", "Motoboi Kecil")[who % 3])


REGISTRY = registry_knowing(*(newcomer(who) for who in range(0, 6, 2)))


class History:
    """One program's life, a generated command at a time; a refused command is part of a
    realistic history and appends nothing. It starts with three members enrolled and
    their first three months billed and paid, so that claims can be eligible."""

    def __init__(self, system, program: str) -> None:
        self.system, self.program = system, program
        self.members = enroll_people(system, program)
        self.newcomers: dict[int, UUID] = {}
        self.claims: list[tuple[str, str, int, date]] = []  # (id, benefit, member, reported)
        for month in range(3):
            self.run("bill", month, 0)
            self.run("pay_all", month, 0)

    def run(self, kind: str, month: int, who: int) -> None:
        try:
            if kind in CONTRIBUTION_STEPS:
                contributions.run(self.system, self.program, self.members, (kind, month, who))
            elif kind in ENROLLMENT_STEPS:
                self._enrollment(kind, month, who)
            else:
                self._claim(kind, month, who)
        except LedgerError:
            pass

    def _enrollment(self, kind: str, month: int, who: int) -> None:
        ledger, program, day = self.system.ledger, self.program, periods.day_in(MONTHS[month], 5)
        if kind == "submit" or who not in self.newcomers:
            self.newcomers[who] = ledger.submit(program, newcomer(who), CLERK).participant_id
            return
        pid = self.newcomers[who]
        {
            "verify": lambda: ledger.verify_batch(program, [pid], REGISTRY, CLERK),
            "mismatch": lambda: ledger.record_verification(program, pid, RecordVerification(
                outcome="mismatched", source="letter 1", verified_on=day,
                reasons=[MismatchReason(code="name_differs", field="full_name", detail="x")]),
                CLERK),
            "correct": lambda: ledger.correct(program, pid, CorrectCandidate(
                reason="KTP", village="Upai"), CLERK),
            "enroll": lambda: ledger.enroll(program, pid, Enroll(
                kpj=f"2401234560{who}", coverage_start=periods.first_day(MONTHS[month]),
                batch="tahap-2"), CLERK),
            "terminate": lambda: ledger.terminate(program, pid, Terminate(
                reason="moved", effective_date=day), CLERK),
            "revise_quota": lambda: ledger.revise_quota(program, ReviseQuota(
                quota_total=8000 + who, reason="APBD-P", revision_ref=f"Perda {month}"), CLERK),
            "revise_budget": lambda: ledger.revise_budget(program, ReviseBudget(
                budget_idr={"APBD": 1_500_000_000 + who, "APBN": 10_000_000 * month},
                reason="APBD-P", revision_ref=f"Perda {month}"), CLERK),
        }[kind]()

    def _claim(self, kind: str, month: int, who: int) -> None:
        claims, program = self.system.claims, self.program
        if kind in ("jkm", "jkk") or not self.claims:
            self._report("jkm" if kind == "jkm" else "jkk", periods.day_in(MONTHS[month], 20),
                         who)
            return
        claim_id, benefit, member, reported = self.claims[who % len(self.claims)]
        day = reported + timedelta(days=month)  # the claim's own days, after its report
        later = day + timedelta(days=2)
        if kind == "heir":
            claims.record_heir(program, claim_id, RecordHeir(
                name="Hasan Mokodompit", relation="spouse", evidence="KK", recorded_on=day),
                OFFICER)
        elif kind == "documents":
            for document in claims.claim(program, claim_id).missing_documents:
                claims.receive_document(program, claim_id, ReceiveDocument(
                    document=document, received_on=day, reference=f"{document}-{month}"),
                    OFFICER)
        elif kind == "assess":
            claims.assess(program, claim_id, AssessClaim(
                assessed_on=day, medical_cost_idr=1_000_000 if benefit == "JKK" else 0), OFFICER)
        elif kind == "approve":  # what approval needs first, each step possibly refused
            for step in ("documents", "assess"):
                self.run(step, month, who)
            claims.approve(program, claim_id, ApproveClaim(approved_on=later), OFFICER)
        elif kind == "reject":
            claims.reject(program, claim_id, RejectClaim(
                rejected_on=later, reason_code="month_not_covered", detail="unpaid"), OFFICER)
        elif kind == "pay_claim":
            payee, relation, component, amount = (
                (PEOPLE[member].full_name, "self", "medical", 1_000_000) if benefit == "JKK"
                else ("Hasan Mokodompit", "spouse", "funeral", 10_000_000))
            claims.pay(program, claim_id, RecordPayout(
                payout_ref=f"TRF-{month}-{who}", payee_name=payee, relation=relation,
                component=component, amount_idr=amount, paid_on=later), OFFICER)
        elif kind == "close":
            claims.close(program, claim_id, CloseClaim(closed_on=later), OFFICER)
        else:
            claims.reopen(program, claim_id, ReopenClaim(reopened_on=later, reason="appeal"),
                          OFFICER)

    def _report(self, benefit: str, day: date, who: int) -> None:
        reported = self.system.claims.report(self.program, UUID(self.members[who]), ReportClaim(
            benefit=benefit.upper(), incident_date=day, reported_on=day,
            reporter_name="Hasan Mokodompit" if benefit == "jkm" else PEOPLE[who].full_name,
            reporter_relation="spouse" if benefit == "jkm" else "self",
            circumstances="illness at home" if benefit == "jkm" else "fell from the ojek",
            claim_id=None if benefit == "jkm" else f"JKK-{day.isoformat()}-{who}"), OFFICER)
        self.claims.append((reported.reported.claim_id, benefit.upper(), who, day))


A_YEAR = [("submit", 0, 0), ("verify", 0, 0), ("submit", 0, 1), ("verify", 0, 1),
          ("enroll", 0, 0), ("jkk", 1, 2), ("approve", 1, 0), ("pay_claim", 2, 0),
          ("bill", 3, 0), ("pay_one", 3, 1), ("jkm", 2, 0), ("heir", 2, 1),
          ("supplement", 3, 1), ("revise_quota", 3, 1)]
"""A short year of one program, the same for every test that needs one."""


def a_year(system, program: str) -> History:
    history = History(system, program)
    for step in A_YEAR:
        history.run(*step)
    system.projections.catch_up()
    return history


steps = st.lists(st.tuples(  # bills and payments twice as likely: most else needs them
    st.sampled_from(CONTRIBUTION_STEPS + ("bill", "pay_all") + ENROLLMENT_STEPS + CLAIM_STEPS),
    st.integers(0, len(MONTHS) - 1), st.integers(0, len(PEOPLE) - 1)), min_size=1, max_size=40)


# What a reader sees


def snapshot(db, keyring) -> dict[str, list[str]]:
    """Every row of every table of every projection, in a stable order."""
    tables = [table for projection in read_models(keyring) for table in projection.tables]
    with db.snapshot() as tx:
        return {table: sorted(repr(sorted(row.items()))
                              for row in tx.fetchall(f"SELECT * FROM {table}"))
                for table in tables}


def read_models_now(system) -> dict[str, list[str]]:
    return snapshot(system.storage.db, system.keyring)


def built_from_scratch(system, tmp_path) -> dict[str, list[str]]:
    """The read models built incrementally from the whole log, in a database of their own."""
    with built_apart(system, tmp_path / "from-scratch.sqlite") as db:
        return snapshot(db, system.keyring)


@contextmanager
def built_apart(system, path, projections=None, one_at_a_time=False):
    """A SQLite database of the read models the log gives (to ``projections``, the
    ledger's own when not given): caught up together, or ``one_at_a_time`` in their
    order."""
    storage = open_storage(f"sqlite:///{path}", pool_size=1)
    try:
        runner = ProjectionRunner(system.store, storage.db,
                                  projections or read_models(system.keyring))
        for names in [(name,) for name in runner.names] if one_at_a_time else [None]:
            runner.catch_up(only=names)
        yield storage.db
    finally:
        storage.close()


class OpeningEveryField(Wrapped):
    """A projection given every personal field opened, whatever it names, but those the
    projections copy sealed (``sealed``)."""

    def __init__(self, projection, sealed: PersonalFields) -> None:
        super().__init__(projection)
        self.personal_fields = {
            type_name: tuple(p for p in paths if p not in sealed.get(type_name, ()))
            for type_name, paths in PERSONAL_FIELDS.items()}


class ReadingEveryType(Wrapped):
    """A projection given every event of the log, whatever types it names."""

    def __init__(self, projection) -> None:
        super().__init__(projection)
        self.event_types = tuple(set(READABLE_TYPES.values()))


EVERY_KIND = [*A_YEAR, ("bill", 4, 0), ("pay_all", 4, 2), ("die", 3, 2), ("refund", 4, 2),
              ("jkk", 5, 0), ("reject", 5, 2), ("bill", 5, 0), ("pay_all", 5, 1),
              ("reverse", 5, 1), ("correct", 1, 1), ("close", 5, 0), ("reopen", 5, 0),
              ("revise_budget", 3, 0)]
"""A year with an event of every type a projection applies but a lapse (a test checks)."""


def test_read_models_from_the_types_each_projection_names_are_those_from_every_event(
        system, tmp_path):
    # Given a program's year with an event of every type any projection names
    history = History(system, PROGRAM)
    for step in EVERY_KIND:
        history.run(*step)
    # Which member a single line's payment settled follows the random participant ids,
    # and with it who has lapsed by August; by December, someone has.
    system.contributions.record_lapses(PROGRAM, date(2024, 12, 28), FINANCE)
    logged = {type(r.event) for r in system.store.read_log(0, 1000)}
    named = set(event_types(read_models(system.keyring)))
    assert named <= logged, sorted(cls.__name__ for cls in named - logged)

    # When the read models are made a projection at a time, each from only the events of
    # the types it names (as a read catching one up, or a rebuild's lane, reads), and
    # again from every event of the log
    every_event = [ReadingEveryType(p) for p in read_models(system.keyring)]
    with (built_apart(system, tmp_path / "named.sqlite", one_at_a_time=True) as named_only,
          built_apart(system, tmp_path / "every.sqlite", every_event) as every):
        # Then they are the same: no projection applies an event of a type it does not name
        assert snapshot(named_only, system.keyring) == snapshot(every, system.keyring)


def test_read_models_from_the_fields_each_projection_names_are_those_from_every_field(
        system, tmp_path):
    # Given a program's year (corrections, claims with their reporters, heirs and payees)
    # and a bill BPJS sent that names a member by NIK
    a_year(system, PROGRAM)
    system.contributions.import_bill(PROGRAM, ImportBill(
        bill_id="BPJS-2024-03-SUSULAN", document_ref="tagihan susulan.csv"),
        [ImportedLine(line_no=1, nik=PEOPLE[1].nik, kpj=None, period="2024-03",
                      amount_idr=16_800)], FINANCE)

    # When the read models are made from events with only the personal fields their
    # projections name opened (the others left sealed), and again with every one opened
    projections = read_models(system.keyring)
    sealed: dict[str, tuple] = {}
    for projection in projections:
        for type_name, paths in projection.sealed_fields.items():
            sealed[type_name] = (*sealed.get(type_name, ()), *paths)
    every_projection = [OpeningEveryField(p, sealed) for p in projections]
    with (built_apart(system, tmp_path / "named.sqlite") as named,
          built_apart(system, tmp_path / "every.sqlite", every_projection) as every):
        # Then they are the same: no projection reads a field it does not name. The
        # claims it stores keep their names sealed, as the log does, and open to the
        # names the claims were made with.
        assert ({**snapshot(named, system.keyring), "claim_summary": None}
                == {**snapshot(every, system.keyring), "claim_summary": None})
        assert claims_in(named, lambda row: opened_state(row, system.keyring)) == claims_in(
            every, decode_state)
        heir = "Hasan Mokodompit"  # a payee of the year's death claims
        assert heir in repr(snapshot(every, system.keyring))
        assert heir not in repr(snapshot(named, system.keyring))


def test_a_projection_opening_what_another_copies_sealed_is_refused(system):
    # Given the ledger's projections, and claims made to open every personal field
    projections = [OpeningEveryField(p, {}) if p.name == "claims" else p
                   for p in read_models(system.keyring)]

    # When a runner is made to read the log for all of them, it is refused, naming what
    # the participants copy sealed
    with pytest.raises(ValueError, match=r"participants copies participant\.submitted\.v1 "
                                         r"\['birth_date', 'full_name', 'nik'\] sealed"):
        ProjectionRunner(system.store, system.storage.db, projections)


def claims_in(db, state_of) -> list:
    with db.snapshot() as tx:
        rows = tx.fetchall(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM claim_summary "
                           "ORDER BY program_id, claim_id")
    return [{**row, "state": state_of(row)} for row in rows]


class WatchedLog:
    """The event store as a rebuild reads it: ``after_read(reads, batch)`` runs after each
    read of the log, which is where a rebuild can be paused between its batches."""

    def __init__(self, system, after_read) -> None:
        self._store, self._after_read, self.reads = system.store, after_read, 0
        self._lock = threading.Lock()

    def read_log(self, after: int, limit: int, upto: int | None = None, **opened):
        batch = self._store.read_log(after, limit, upto, **opened)
        self._read(batch)
        return batch

    def read_log_part(self, *args, **kwargs):
        for batch in self._store.read_log_part(*args, **kwargs):
            self._read(batch)
            yield batch
        self._read([])  # the end of a lane's share: an empty batch, as a read of the head

    def _read(self, batch) -> None:
        with self._lock:  # lanes read side by side
            self.reads += 1
            self._after_read(self.reads, batch)

    def head(self) -> int:
        return self._store.head()


def rebuild_watched(system, after_read, batch_size: int = 3) -> int:
    return ProjectionRunner(WatchedLog(system, after_read), system.storage.db,
                            read_models(system.keyring), batch_size=batch_size).rebuild()


# (a) Rebuilt equals incremental


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=steps)
def test_every_read_model_rebuilt_equals_the_one_built_as_the_log_grew(system, history):
    # Given a generated history of a program, its read models kept up as it went
    lived = History(system, f"{PROGRAM}-{next(EXAMPLES)}")  # examples share the database
    for step in history:
        lived.run(*step)
        system.projections.catch_up()
    incremental = read_models_now(system)

    # When all of them are rebuilt from the log
    replayed = system.projections.rebuild()

    # Then every row of every table is the same, and nothing is left to catch up
    assert read_models_now(system) == incremental
    assert replayed == system.store.head()
    assert system.projections.lag() == 0


def test_one_read_model_rebuilt_alone_equals_the_one_built_as_the_log_grew(system):
    # Given a program's year, its read models kept up as it went
    a_year(system, PROGRAM)
    incremental = read_models_now(system)

    for name in system.projections.names:
        # When one of them is rebuilt alone (reading the others' live tables)
        system.projections.rebuild(name)

        # Then it is the same again
        assert read_models_now(system) == incremental, name


def test_a_rebuild_repairs_rows_edited_deleted_or_added_behind_the_projections(system):
    # Given a program's year, its read models kept up as it went
    a_year(system, PROGRAM)
    incremental = read_models_now(system)
    # And rows someone changed, removed and made up in the read models
    with system.storage.db.transaction() as tx:
        tx.execute("UPDATE participant_status SET status = 'terminated' WHERE participant_id = "
                   "(SELECT MIN(participant_id) FROM participant_status)")
        # A value made NULL
        tx.execute("UPDATE participant_status SET kpj = NULL WHERE participant_id = "
                   "(SELECT MAX(participant_id) FROM participant_status WHERE kpj IS NOT NULL)")
        tx.execute("DELETE FROM member_months WHERE participant_id = "
                   "(SELECT MAX(participant_id) FROM member_months)")
        tx.execute("INSERT INTO program_months (program_id, period, billed_idr, paid_idr, "
                   "refunded_idr) VALUES (:program, '2031-01', 1, 1, 0)", {"program": PROGRAM})
    assert read_models_now(system) != incremental

    # When every read model is rebuilt (the swap writes only the rows that differ)
    system.projections.rebuild()

    # Then the read models are the ones the log gives again
    assert read_models_now(system) == incremental


def test_a_rebuild_that_finds_the_read_models_whole_rewrites_no_row(pg_url, tmp_path):
    # PostgreSQL only: there a row deleted and written again moves (its ctid, and the
    # transaction that wrote it), where SQLite may give it its old rowid back.
    with open_system(Settings(database_url=pg_url, data_dir=tmp_path)) as system:
        # Given a program's year, its read models kept up as it went (many columns NULL)
        a_year(system, PROGRAM)
        before = row_identities(system)

        # When every read model is rebuilt
        system.projections.rebuild()

        # Then every row is the one that was there: none was deleted and written again
        assert row_identities(system) == before


def test_a_rebuilds_shadows_keep_keys_but_not_the_indexes_only_readers_use(pg_url, tmp_path):
    # PostgreSQL only: there the lanes' shadows are UNLOGGED tables another session sees.
    with open_system(Settings(database_url=pg_url, data_dir=tmp_path)) as system:
        # Given a program's year, its read models caught up
        a_year(system, PROGRAM)
        live = indexes_of(system, "participant_status", "p")
        seen_during = []

        # When every read model is rebuilt, its shadows looked at between batches
        rebuild_watched(system, lambda reads, batch: seen_during.append(
            indexes_of(system, "participant_status", "u")))

        # Then the shadow of the participants' status had its key only, the live table
        # had the readers' indexes (by NIK hash, status, village, cohort) before and after
        assert seen_during and all(seen == {"participant_status_pkey"} for seen in seen_during)
        assert {"participant_status_pkey", "participant_status_nik_hash_idx",
                "participant_status_program_status_idx"} <= live
        assert indexes_of(system, "participant_status", "p") == live


def indexes_of(system, table: str, persistence: str) -> set[str]:
    """The indexes of the tables named ``table``: live (``p``) or a rebuild's shadows
    (``u``, UNLOGGED)."""
    with system.storage.db.snapshot() as tx:
        return {row["name"] for row in tx.fetchall(
            "SELECT x.relname AS name FROM pg_class t JOIN pg_index i ON i.indrelid = t.oid "
            "JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE t.relname = :table AND t.relpersistence = :persistence",
            {"table": table, "persistence": persistence})}


def row_identities(system) -> dict[str, list[str]]:
    with system.storage.db.snapshot() as tx:
        return {table: sorted(row["at"] for row in tx.fetchall(
                    f"SELECT ctid::text || '/' || xmin::text AS at FROM {table}"))
                for projection in read_models(system.keyring) for table in projection.tables}


# (b) Readers see the old read models whole until the swap


def test_a_reader_sees_the_old_read_models_whole_while_a_rebuild_runs(system):
    # Given a program's year, its read models caught up, and a reader that keeps reading
    a_year(system, PROGRAM)
    before = read_models_now(system)
    stop, seen_by_thread = threading.Event(), []

    def keep_reading() -> None:
        while not stop.is_set():
            seen_by_thread.append(read_models_now(system))

    reader = threading.Thread(target=keep_reading)
    reader.start()
    seen_between_batches = []

    # When everything is rebuilt three events at a time, and read after each of its reads
    try:
        rebuild_watched(system, lambda reads, batch: seen_between_batches.append(
            read_models_now(system)))
    finally:
        stop.set()
        reader.join()

    # Then every read, between batches and meanwhile, saw the complete old read models
    assert len(seen_between_batches) > 10
    assert all(seen == before for seen in seen_between_batches)
    assert seen_by_thread and all(seen == before for seen in seen_by_thread)
    assert read_models_now(system) == before


# (c) What is appended during a rebuild is in its result exactly once


ENROLLING = (("submit", 3, 4), ("verify", 3, 4), ("enroll", 3, 4))
BILLING_AND_CLAIMING = (("bill", 4, 0), ("pay_all", 4, 2), ("jkk", 4, 1))


def more_of_the_year(history: History, steps) -> None:
    for step in steps:
        history.run(*step)


BATCH = 3
MOMENTS = {
    # in the middle: the rebuild's later batches read what was appended
    "mid-rebuild": lambda reads, batch: reads == 3,
    # after its last batch: the tail the swap reads (SQLite) or the catch-up after it
    # (PostgreSQL) has it
    "before-the-swap": lambda reads, batch: len(batch) < BATCH,
}


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("runner_meanwhile", [True, False],
                         ids=["applied-by-the-runner-too", "left-to-the-runner"])
def test_events_appended_while_a_rebuild_runs_are_in_its_result_exactly_once(
        system, tmp_path, moment, runner_meanwhile):
    # Given a program's year, its read models caught up
    history = a_year(system, PROGRAM)
    appended_at = []

    def append_meanwhile(reads: int, batch) -> None:
        if not appended_at and MOMENTS[moment](reads, batch):
            appended_at.append(system.store.head())
            more_of_the_year(history, ENROLLING + BILLING_AND_CLAIMING)
            if runner_meanwhile:  # the incremental runner goes past the rebuild's shadows
                system.projections.catch_up()

    # When more of the year is recorded while the rebuild is under way
    rebuild_watched(system, append_meanwhile, batch_size=BATCH)
    system.projections.catch_up()

    # Then the read models are those of the whole log, each event applied once
    assert appended_at and system.store.head() > appended_at[0]
    assert read_models_now(system) == built_from_scratch(system, tmp_path)


def test_events_appended_after_the_lanes_read_the_log_are_applied_after_the_swap_once(
        pg_url, tmp_path):
    # PostgreSQL only: there the lanes replay the log as far as its head when the rebuild
    # began, and what follows is applied to the read models swapped in, as a catch-up.
    with open_system(Settings(database_url=pg_url, data_dir=tmp_path)) as system:
        # Given a program's year, its read models caught up
        history = a_year(system, PROGRAM)
        head, appended = system.store.head(), []

        def append_after_a_lane_read_its_share(reads: int, batch) -> None:
            if not batch and not appended:
                more_of_the_year(history, ENROLLING + BILLING_AND_CLAIMING)
                appended.append(system.store.head())

        # When more is recorded once a lane has read its share of the log
        replayed = rebuild_watched(system, append_after_a_lane_read_its_share,
                                   batch_size=head + 1)

        # Then the rebuild replayed the log as it was, then applied what came after, once
        assert head < appended[0] == replayed
        assert system.projections.positions() == dict.fromkeys(system.projections.names,
                                                               appended[0])
        assert read_models_now(system) == built_from_scratch(system, tmp_path)
