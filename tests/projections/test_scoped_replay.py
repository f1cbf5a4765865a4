"""As-of answers replay only the streams the question reads (``projections.as_of``): on a
history of three programs enrolling the same people (the same NIK paid by two programs),
with deaths, a refund, a reversal and a claim, each answer equals the one read from the
whole log replayed into every projection, at every point of the log (both backends)."""

from datetime import date
from uuid import UUID

from ledger.bill import GenerateBill, RecordPayment, RecordRefund, RefundMonth, ReversePayment
from ledger.claim import ReceiveDocument, ReportClaim
from ledger.errors import ProgramNotFound
from ledger.participant import Terminate
from ledger.service import Actor
from ledger.system import read_models
from projections import as_of, report_files, views
from projections.as_of import LogPoint, program_scope, replayed
from projections.budget import budget_summary
from projections.claims import opened_state
from projections.claims_report import claim_timeline, claims_report
from projections.findings import findings
from tests.service.test_contributions import CLERK, FINANCE, enroll_people

OFFICER = Actor("claims-1", "claims_officer")
DAY = date(2024, 7, 1)
MAKASSAR, GOWA, MAROS = "makassar-2024", "gowa-2024", "maros-2024"
PROGRAMS = (MAKASSAR, GOWA, MAROS)


def history(system) -> tuple[dict[str, list[str]], list[str], list[int]]:
    """Given the same three people enrolled in Makassar and Gowa, and later in Maros, March
    and April billed and paid by the first two (so March is paid twice across programs)
    and March by Maros, a death, a move, a refund, a reversal and a JKM claim; return the
    members, the claims and every point between two commands."""
    points: list[int] = []
    money = system.contributions

    def then(command, *args) -> None:
        command(*args)
        points.append(system.store.head())

    members = {program: enroll_people(system, program) for program in (MAKASSAR, GOWA)}
    points.append(system.store.head())
    for program in (MAKASSAR, GOWA):
        for period in ("2024-03", "2024-04"):
            then(money.generate_bill, program, GenerateBill(period=period), FINANCE)
            then(money.record_payment, program, period, RecordPayment(
                payment_ref=f"SP2D-{period}", paid_on=date(2024, 3, 10),
                amount_idr=money.bill(program, period).outstanding_idr), FINANCE)
    siti = members[GOWA][0]
    then(system.ledger.terminate, GOWA, UUID(siti), Terminate(
        reason="died", effective_date=date(2024, 3, 20)), CLERK)
    then(money.record_refund, GOWA, "2024-04", RecordRefund(
        refund_ref="REF-1", payment_ref="SP2D-2024-04", refunded_on=date(2024, 5, 2),
        reason="died 20 March", months=[RefundMonth(participant_id=siti, period="2024-04")]),
        FINANCE)
    then(money.reverse_payment, MAKASSAR, "2024-04", ReversePayment(
        payment_ref="SP2D-2024-04", reversed_on=date(2024, 4, 12), reason="bounced"),
        FINANCE)
    members[MAROS] = enroll_people(system, MAROS)
    points.append(system.store.head())
    then(system.ledger.terminate, MAROS, UUID(members[MAROS][2]), Terminate(
        reason="moved", effective_date=date(2024, 3, 31)), CLERK)
    then(money.generate_bill, MAROS, GenerateBill(period="2024-03"), FINANCE)
    then(money.record_payment, MAROS, "2024-03", RecordPayment(
        payment_ref="SP2D-M-03", paid_on=date(2024, 4, 30), amount_idr=33_600), FINANCE)
    claim_id = system.claims.report(MAKASSAR, UUID(members[MAKASSAR][0]), ReportClaim(
        benefit="JKM", incident_date=date(2024, 3, 25), reported_on=date(2024, 3, 26),
        reporter_name="Hasan Mokodompit", reporter_relation="spouse",
        circumstances="illness at home"), OFFICER).reported.claim_id
    points.append(system.store.head())
    then(system.claims.receive_document, MAKASSAR, claim_id, ReceiveDocument(
        document="kpj_card", received_on=date(2024, 3, 27), reference="KPJ-1"), OFFICER)
    return members, [claim_id], points


def whole_log_answers(system, position: int, members: dict[str, list[str]],
                      claims: list[str]) -> dict:
    """Every answer, read from the whole log replayed into every projection."""
    with replayed(system.store, read_models(system.keyring), position) as db:
        with db.snapshot() as tx:
            answers: dict = {(query.__name__, program): query(tx, program, DAY)
                             for program in PROGRAMS for query in (budget_summary, findings)}
            for program in PROGRAMS:
                report = claims_report(tx, program, DAY)
                answers[("claims", program)] = None if report is None else recorded(report)
            for claim_id in claims:
                row = tx.fetchone("SELECT state FROM claim_summary WHERE claim_id = :claim_id",
                                  {"claim_id": claim_id})
                timeline = claim_timeline(tx, MAKASSAR, claim_id, DAY)
                answers[("claim", claim_id)] = (
                    None if row is None or timeline is None
                    else (opened_state(row, system.keyring), timeline))
        for program, ids in members.items():
            for pid in ids:
                answers[("participant", program, pid)] = views.participant(db, program, pid)
    return answers


def scoped_answers(system, position: int, members: dict[str, list[str]],
                   claims: list[str]) -> dict:
    """Every answer as the HTTP and CLI surfaces ask for it, each replaying its scope."""
    point = LogPoint(position, DAY)
    answers: dict = {}
    for program in PROGRAMS:
        for query in (budget_summary, findings):
            answers[(query.__name__, program)] = as_of.program_as_of(system, program, point,
                                                                     query)
        answers[("claims", program)] = scoped_claims(system, program, position)
    for claim_id in claims:
        answers[("claim", claim_id)] = as_of.claim_as_of(system, MAKASSAR, claim_id, point)
    for program, ids in members.items():
        for pid in ids:
            answers[("participant", program, pid)] = as_of.participant_as_of(
                system, program, pid, position)
    return answers


def scoped_claims(system, program: str, position: int) -> list[tuple] | None:
    """``ledger report claims --position``, which measures service levels on today."""
    try:
        return recorded(report_files.claims_report(system, program, position=position))
    except ProgramNotFound:
        return None


def recorded(report) -> list[tuple]:
    """A claims report's figures that do not depend on the day it is read."""
    return [(line.claim_id, line.status, line.approved_idr, line.paid_idr)
            for line in report.claims]


def test_every_scoped_answer_equals_the_whole_log_replayed_at_every_point(system):
    members, claims, points = history(system)

    for position in points:
        assert (scoped_answers(system, position, members, claims)
                == whole_log_answers(system, position, members, claims)), position


def test_findings_across_programs_as_of_are_those_of_the_whole_log(system):
    members, claims, _ = history(system)
    head = system.store.head()

    found = as_of.program_as_of(system, MAROS, LogPoint(head, DAY), findings)

    across = {(f.participant_id, tuple(f.periods)) for f in found
              if f.kind == "double_payment_programs"}
    assert across and across <= {(pid, ("2024-03",)) for pid in members[MAROS]}
    assert found == whole_log_answers(system, head, members, claims)[("findings", MAROS)]


def test_a_question_replays_only_the_streams_it_reads(system):
    members, claims, _ = history(system)
    head = system.store.head()
    siti = members[MAKASSAR][0]

    person = as_of.participant_scope(system, siti)
    program = program_scope(system, MAKASSAR, head)

    assert system.store.positions_of(person.streams, head) == [
        position for position in range(1, head + 1)
        if system.store.read_log(position - 1, 1)[0].stream_id == UUID(siti)]
    assert [p.name for p in person.projections] == ["participants"]
    claim_stream = as_of.claim_scope(system, MAKASSAR, claims[0]).streams
    assert not claim_stream & program.streams  # budget and findings read no claim
    assert len(system.store.positions_of(program.streams, head)) < head
