"""Claims through the service on a real store (SQLite and PostgreSQL), and their read model."""

from datetime import date
from pathlib import Path
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import StoredEvent

from ledger import claim
from ledger.bill import GenerateBill, RecordPayment
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
from ledger.errors import ClaimStateConflict, InvalidInput, MissingDocuments, PayoutExceedsApproved
from ledger.participant import Enroll
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import open_system
from projections.claims_report import claim_timeline, claims_report
from projections.findings import findings
from tests.service.test_contributions import FINANCE, PROGRAM, enroll_people

OFFICER = Actor("claims-1", "claims_officer")


@pytest.fixture
def system(db_url: str, tmp_path: Path):
    with open_system(Settings(database_url=db_url, data_dir=tmp_path)) as system:
        yield system


@pytest.fixture
def members(system) -> list[str]:
    """Given three members enrolled from March 2024, with March to May billed and paid."""
    people = enroll_people(system)
    for period in ("2024-03", "2024-04", "2024-05"):
        bill = system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)
        system.contributions.record_payment(PROGRAM, period, RecordPayment(
            payment_ref=f"SP2D-{period}", paid_on=date.fromisoformat(f"{period}-10"),
            amount_idr=bill.billed_idr), FINANCE)
    return people


def documents(system, claim_id: str, day: date) -> None:
    for doc in system.claims.claim(PROGRAM, claim_id).missing_documents:
        system.claims.receive_document(PROGRAM, claim_id, ReceiveDocument(
            document=doc, received_on=day, reference=f"{doc}-1"), OFFICER)


def report_death(system, participant_id: str, day: date) -> claim.Claim:
    return system.claims.report(PROGRAM, UUID(participant_id), ReportClaim(
        benefit="JKM", incident_date=day, reported_on=day, reporter_name="Hasan Mokodompit",
        reporter_relation="spouse", circumstances="illness at home"), OFFICER)


def read(system, query, *args):
    system.projections.catch_up()
    with system.storage.db.snapshot() as tx:
        return query(tx, PROGRAM, *args)


def test_a_covered_death_is_paid_to_the_spouse_and_closes_cover(system, members):
    siti = members[0]
    reported = report_death(system, siti, date(2024, 5, 20))
    claim_id = reported.reported.claim_id
    assert system.ledger.participant(PROGRAM, UUID(siti)).status == "terminated"

    system.claims.record_heir(PROGRAM, claim_id, RecordHeir(
        name="Hasan Mokodompit", relation="spouse", evidence="KK 7174...",
        recorded_on=date(2024, 5, 21)), OFFICER)
    with pytest.raises(ClaimStateConflict):
        system.claims.approve(PROGRAM, claim_id, ApproveClaim(approved_on=date(2024, 5, 22)),
                              OFFICER)
    assessed = system.claims.assess(PROGRAM, claim_id, AssessClaim(
        assessed_on=date(2024, 5, 22)), OFFICER)
    assert assessed.assessment.eligible
    assert [(line.component, line.amount_idr) for line in assessed.assessment.lines] == [
        ("jkm_lump_sum", 20_000_000), ("jkm_periodic", 12_000_000), ("funeral", 10_000_000)]
    with pytest.raises(MissingDocuments):
        system.claims.approve(PROGRAM, claim_id, ApproveClaim(approved_on=date(2024, 5, 22)),
                              OFFICER)

    documents(system, claim_id, date(2024, 5, 23))  # Thursday; due 3 working days later
    system.claims.approve(PROGRAM, claim_id, ApproveClaim(approved_on=date(2024, 5, 24)),
                          OFFICER)
    for component, amount in (("jkm_lump_sum", 20_000_000), ("jkm_periodic", 12_000_000),
                              ("funeral", 10_000_000)):
        system.claims.pay(PROGRAM, claim_id, RecordPayout(
            payout_ref=f"TRF-{component}", payee_name="Hasan Mokodompit", relation="spouse",
            component=component, amount_idr=amount, paid_on=date(2024, 5, 27)), OFFICER)
    closed = system.claims.close(PROGRAM, claim_id, CloseClaim(closed_on=date(2024, 5, 28)),
                                 OFFICER)

    assert closed.status == "closed"
    assert closed.due_on == date(2024, 5, 28)  # Fri 24, Mon 27 and Tue 28 (no holiday)
    report = read(system, claims_report, date(2024, 6, 1))
    (line,) = report.claims
    assert (line.sla_status, line.paid_idr, line.days_to_payment) == ("on_time", 42_000_000, 7)
    timeline = read(system, claim_timeline, claim_id, date(2024, 6, 1))
    assert [s.stage for s in timeline.stages][:3] == ["reported", "heir_recorded", "assessed"]
    assert timeline.stages[-1].stage == "closed"


def test_an_accident_in_an_unpaid_month_is_rejected_naming_the_month(system, members):
    budi = UUID(members[1])
    reported = system.claims.report(PROGRAM, budi, ReportClaim(
        benefit="JKK", incident_date=date(2024, 6, 20), reported_on=date(2024, 6, 21),
        reporter_name="Budi Lantong", reporter_relation="self",
        circumstances="fell from the ojek", traffic_accident=True), OFFICER)
    claim_id = reported.reported.claim_id

    assessed = system.claims.assess(PROGRAM, claim_id, AssessClaim(
        assessed_on=date(2024, 6, 25), medical_cost_idr=2_000_000), OFFICER)

    assert (assessed.assessment.failed_rule, assessed.assessment.failed_month) == (
        "month_not_covered", "2024-06")
    assert assessed.assessment.lines == []
    rejected = system.claims.reject(PROGRAM, claim_id, RejectClaim(
        rejected_on=date(2024, 6, 25), reason_code="month_not_covered",
        detail="June 2024 unpaid"), OFFICER)
    assert rejected.rejected.failed_month == "2024-06"
    reopened = system.claims.reopen(PROGRAM, claim_id, ReopenClaim(
        reopened_on=date(2024, 7, 1), reason="arrears paid"), OFFICER)
    assert reopened.status == "reported"


def test_a_late_jkk_payment_owes_one_percent_a_day(system, members):
    rahmat = UUID(members[2])
    claim_id = system.claims.report(PROGRAM, rahmat, ReportClaim(
        benefit="JKK", incident_date=date(2024, 4, 2), reported_on=date(2024, 4, 3),
        reporter_name="Rahmat Damopolii", reporter_relation="self",
        circumstances="cut at the construction site", claim_id="JKK-0001"), OFFICER
    ).reported.claim_id
    system.claims.assess(PROGRAM, claim_id, AssessClaim(
        assessed_on=date(2024, 4, 15), outcome="temporary_incapacity",
        medical_cost_idr=2_000_000, incapacity_months=2), OFFICER)
    documents(system, claim_id, date(2024, 4, 15))  # due 7 working days later: 24 April
    approved = system.claims.approve(PROGRAM, claim_id, ApproveClaim(
        approved_on=date(2024, 4, 16)), OFFICER)
    assert approved.approved.amount_idr == 2_000_000 + 2 * 1_000_000
    with pytest.raises(InvalidInput):
        system.claims.pay(PROGRAM, claim_id, RecordPayout(
            payout_ref="TRF-1", payee_name="Istri", relation="spouse", component="medical",
            amount_idr=2_000_000, paid_on=date(2024, 4, 29)), OFFICER)
    with pytest.raises(PayoutExceedsApproved):
        system.claims.pay(PROGRAM, claim_id, RecordPayout(
            payout_ref="TRF-1", payee_name="Rahmat Damopolii", relation="self",
            component="medical", amount_idr=2_000_001, paid_on=date(2024, 4, 29)), OFFICER)

    for ref, component, amount in (("TRF-1", "medical", 2_000_000),
                                   ("TRF-2", "temporary_incapacity", 2_000_000)):
        paid = system.claims.pay(PROGRAM, claim_id, RecordPayout(
            payout_ref=ref, payee_name="Rahmat Damopolii", relation="self",
            component=component, amount_idr=amount, paid_on=date(2024, 4, 29)), OFFICER)

    assert paid.due_on == date(2024, 4, 24)
    assert paid.penalty_due_idr() == 4_000_000 * 5 // 100  # 5 days late at 1% a day
    (line,) = read(system, claims_report, date(2024, 5, 1)).breaches
    assert (line.sla_status, line.days_late, line.penalty_idr) == ("late", 5, 200_000)


def test_a_second_death_claim_for_the_same_person_is_refused(system, members):
    report_death(system, members[0], date(2024, 5, 20))
    with pytest.raises(ClaimStateConflict):
        report_death(system, members[0], date(2024, 5, 20))


def test_a_payout_to_a_lower_heir_needs_the_officers_reason(system, members):
    claim_id = report_death(system, members[0], date(2024, 5, 20)).reported.claim_id
    for name, relation in (("Hasan", "spouse"), ("Rina", "sibling")):
        system.claims.record_heir(PROGRAM, claim_id, RecordHeir(
            name=name, relation=relation, evidence="KK", recorded_on=date(2024, 5, 21)),
            OFFICER)
    system.claims.assess(PROGRAM, claim_id, AssessClaim(assessed_on=date(2024, 5, 22)), OFFICER)
    documents(system, claim_id, date(2024, 5, 22))
    system.claims.approve(PROGRAM, claim_id, ApproveClaim(approved_on=date(2024, 5, 22)),
                          OFFICER)
    payout = RecordPayout(payout_ref="TRF-1", payee_name="Rina", relation="sibling",
                          component="funeral", amount_idr=10_000_000, paid_on=date(2024, 5, 23))

    with pytest.raises(InvalidInput) as refused:
        system.claims.pay(PROGRAM, claim_id, payout, OFFICER)
    assert refused.value.field == "override_reason"
    paid = system.claims.pay(PROGRAM, claim_id, msgspec.structs.replace(
        payout, override_reason="she arranged and paid for the funeral; the spouse agreed"),
        OFFICER)
    assert paid.payouts[0].override_reason.startswith("she arranged")


def test_a_death_reported_in_a_claim_makes_later_paid_months_refunds_due(system, members):
    siti = members[0]
    system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-06"), FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-06", RecordPayment(
        payment_ref="SP2D-2024-06", paid_on=date(2024, 6, 10), amount_idr=50_400), FINANCE)

    report_death(system, siti, date(2024, 5, 20))

    found = read(system, findings, date(2024, 6, 30))
    assert [(f.kind, f.participant_id, f.periods, f.amount_idr) for f in found
            if f.kind == "paid_after_death"] == [("paid_after_death", siti, ["2024-06"], 16_800)]


def test_the_claims_read_model_rebuilt_equals_the_one_built_as_it_went(system, members):
    claim_id = report_death(system, members[0], date(2024, 5, 20)).reported.claim_id
    system.claims.assess(PROGRAM, claim_id, AssessClaim(assessed_on=date(2024, 5, 22)), OFFICER)
    documents(system, claim_id, date(2024, 5, 23))
    before = read(system, claims_report, date(2024, 6, 1))
    timeline = read(system, claim_timeline, claim_id, date(2024, 6, 1))

    system.projections.rebuild("claims")

    assert read(system, claims_report, date(2024, 6, 1)) == before
    assert read(system, claim_timeline, claim_id, date(2024, 6, 1)) == timeline


def test_a_member_enrolled_again_after_a_lapse_is_covered_from_the_new_enrollment(system,
                                                                                   members):
    for period in ("2024-06", "2024-07", "2024-08", "2024-09"):
        system.contributions.generate_bill(PROGRAM, GenerateBill(period=period), FINANCE)
    assert len(system.contributions.record_lapses(PROGRAM, date(2024, 10, 1), FINANCE)) == 3
    system.ledger.enroll(PROGRAM, UUID(members[0]), Enroll(
        kpj="24000000000", coverage_start=date(2024, 10, 1), batch="enrolled again"), OFFICER)
    october = system.contributions.generate_bill(PROGRAM, GenerateBill(period="2024-10"),
                                                 FINANCE)
    system.contributions.record_payment(PROGRAM, "2024-10", RecordPayment(
        payment_ref="SP2D-2024-10", paid_on=date(2024, 10, 10),
        amount_idr=october.billed_idr), FINANCE)

    claim_id = report_death(system, members[0], date(2024, 10, 20)).reported.claim_id
    assessed = system.claims.assess(PROGRAM, claim_id, AssessClaim(
        assessed_on=date(2024, 10, 22)), OFFICER)

    assert october.billed_idr == 16_800  # only the member enrolled again is billed
    assert (assessed.assessment.eligible, assessed.assessment.failed_rule) == (True, None)


FREE_TEXT = ("Gunawan", "7174010101240007", "AKTA-7174-0099", "stroke at the market")


def every_text_in(system, table: str) -> str:
    with system.storage.db.snapshot() as tx:
        return "\n".join(str(row) for row in tx.fetchall(f"SELECT * FROM {table}"))


def test_a_claims_free_text_is_sealed_in_the_log_and_the_read_model(system, members):
    # Given a death reported with its circumstances, a document with its number, an heir
    # with her family card, and a payout to a sibling over her, with the officer's reason
    claim_id = system.claims.report(PROGRAM, UUID(members[0]), ReportClaim(
        benefit="JKM", incident_date=date(2024, 5, 20), reported_on=date(2024, 5, 20),
        reporter_name="Hasan Mokodompit", reporter_relation="spouse",
        circumstances="stroke at the market"), OFFICER).reported.claim_id
    system.claims.receive_document(PROGRAM, claim_id, ReceiveDocument(
        document="death_certificate", received_on=date(2024, 5, 21),
        reference="AKTA-7174-0099"), OFFICER)
    system.claims.record_heir(PROGRAM, claim_id, RecordHeir(
        name="Hasan Mokodompit", relation="spouse", evidence="KK 7174010101240007",
        recorded_on=date(2024, 5, 21)), OFFICER)
    system.claims.record_heir(PROGRAM, claim_id, RecordHeir(
        name="Rahmat", relation="sibling", evidence="KK 7174010101240007",
        recorded_on=date(2024, 5, 21)), OFFICER)
    system.claims.assess(PROGRAM, claim_id, AssessClaim(assessed_on=date(2024, 5, 22)), OFFICER)
    documents(system, claim_id, date(2024, 5, 23))
    system.claims.approve(PROGRAM, claim_id, ApproveClaim(approved_on=date(2024, 5, 24)),
                          OFFICER)
    system.claims.pay(PROGRAM, claim_id, RecordPayout(
        payout_ref="TRF-1", payee_name="Rahmat", relation="sibling", component="funeral",
        amount_idr=10_000_000, paid_on=date(2024, 5, 27),
        override_reason="Gunawan, the spouse's guardian, asked it"), OFFICER)

    # When the projections catch up and the log and the claims read model are read raw
    system.projections.catch_up()
    with system.storage.db.snapshot() as tx:
        stored = "\n".join(bytes(row["state"]).decode() for row in tx.fetchall(
            "SELECT state FROM stored_events"))
    read_model = every_text_in(system, "claim_summary") + every_text_in(system, "claim_stages")

    # Then none of the free text is there in the clear...
    assert not [text for text in FREE_TEXT if text in stored + read_model]
    # ...while the claim, read through the ledger, holds it whole
    whole = system.claims.claim(PROGRAM, claim_id)
    assert whole.reported.circumstances == "stroke at the market"
    assert whole.heirs[0].evidence == "KK 7174010101240007"
    assert whole.payouts[0].override_reason == "Gunawan, the spouse's guardian, asked it"


def test_a_claim_an_older_ledger_stored_in_the_clear_is_projected_sealed(system, members):
    # Given a claim reported and an heir recorded by a ledger before the v2 claim events,
    # their free text in the clear in the log
    stream = claim.stream_id(PROGRAM, "JKK-OLD-1")
    meta = {"actor_id": "claims-1", "actor_role": "claims_officer",
            "recorded_at": "2024-05-20T08:00:00Z", "command_id": None}
    reported = {"claim_id": "JKK-OLD-1", "program_id": PROGRAM, "participant_id": members[1],
                "benefit": "JKK", "fatal": False, "incident_date": "2024-05-20",
                "reported_on": "2024-05-20",
                "reporter_name": system.keyring.seal("Hasan Mokodompit"),
                "reporter_relation": "self", "circumstances": "stroke at the market",
                "traffic_accident": False}
    heir = {"name": system.keyring.seal("Hasan Mokodompit"), "relation": "spouse",
            "evidence": "KK 7174010101240007", "recorded_on": "2024-05-21"}
    system.storage.recorder.insert_events([
        StoredEvent(originator_id=stream, originator_version=version, topic=topic,
                    state=msgspec.json.encode({"meta": meta, "data": data}))
        for version, topic, data in ((1, "claim.reported.v1", reported),
                                     (2, "claim.heir_recorded.v1", heir))])

    # When the claims read model catches up, and when it is rebuilt
    system.projections.catch_up()
    caught_up = every_text_in(system, "claim_summary") + every_text_in(system, "claim_stages")
    system.projections.rebuild("claims")
    rebuilt = every_text_in(system, "claim_summary") + every_text_in(system, "claim_stages")

    # Then the read model holds the free text sealed, as it holds a v2 claim's
    assert "stroke at the market" not in caught_up + rebuilt
    assert "7174010101240007" not in caught_up + rebuilt
    assert caught_up == rebuilt
    # and the claim reads whole, its history under the types the log holds
    whole = system.claims.claim(PROGRAM, "JKK-OLD-1")
    assert whole.reported.circumstances == "stroke at the market"
    assert whole.heirs[0].evidence == "KK 7174010101240007"
    assert [r.type_name for r in system.store.read(stream)] == [
        "claim.reported.v1", "claim.heir_recorded.v1"]
