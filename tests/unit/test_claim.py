from datetime import date

import msgspec
import pytest

from ledger import claim, coverage, eligibility, periods
from ledger.benefits import Child, TransportCost, rules_on
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
from ledger.errors import (
    ClaimNotFound,
    ClaimStateConflict,
    InvalidInput,
    MissingDocuments,
    NotEnrolled,
    PayoutExceedsApproved,
)
from ledger.events import (
    ClaimApproved,
    ClaimAssessed,
    ClaimClosed,
    ClaimRejected,
    ClaimReopened,
    ClaimReported,
    DocumentReceived,
    HeirRecorded,
    ParticipantEnrolled,
    PayoutRecorded,
)

PROGRAM = "kotamobagu-2024"
SITI = "p-siti"
COVERAGE_START = date(2024, 3, 1)
INCOME = 1_000_000
TODAY = date(2024, 12, 31)

INCIDENT = date(2024, 4, 1)      # a Monday
REPORTED = date(2024, 4, 2)
DOCUMENTS_DAY = date(2024, 4, 5)  # a Friday, just before Eid al-Fitr (10 and 11 April)
ASSESSED = date(2024, 4, 8)
APPROVED = date(2024, 4, 9)
JKM_DUE = date(2024, 4, 12)       # Mon 8, Tue 9, [Eid 10, 11], Fri 12
JKK_DUE = date(2024, 4, 18)       # Mon 8, Tue 9, Fri 12, Mon 15, Tue 16, Wed 17, Thu 18

JKM_DOCUMENTS = ["kpj_card", "ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                 "heir_certificate", "savings_book"]
JKK_DOCUMENTS = ["kpj_card", "accident_report_stage_1", "accident_report_stage_2",
                 "chronology_with_witnesses", "medical_receipts", "savings_book"]
DEATH_DOCUMENTS = ["ktp_deceased", "ktp_heir", "death_certificate", "family_card",
                   "heir_certificate"]

ELIGIBLE = eligibility.Verdict(True, None, None, "2024-04 covered (paid)", 2,
                               "coverage/2015-07")
NOT_COVERED = eligibility.Verdict(False, "month_not_covered", "2024-04",
                                  "2024-04 was not covered on 2024-04-08: arrears", 1,
                                  "coverage/2015-07")

RINA = ("Rina Mokodompit", "spouse")
ANDI = ("Andi Mokodompit", "child")
HASAN = ("Hasan Mokodompit", "parent")


# Given: a claim folded from its events


def after(state: Claim | None, events) -> Claim:
    for event in events:
        state = claim.evolve(state, event)
    return state


def death_report(**changes) -> ReportClaim:
    fields = dict(benefit="JKM", incident_date=INCIDENT, reported_on=REPORTED,
                  reporter_name="Rina Mokodompit", reporter_relation="spouse",
                  circumstances="died at home of a stroke")
    return ReportClaim(**{**fields, **changes})


def accident_report(**changes) -> ReportClaim:
    fields = dict(benefit="JKK", incident_date=INCIDENT, reported_on=REPORTED,
                  reporter_name="Siti Mokodompit", reporter_relation="self",
                  circumstances="fell from a market stall while unloading")
    return ReportClaim(**{**fields, **changes})


def reported(command: ReportClaim | None = None) -> Claim:
    return after(None, claim.report(None, PROGRAM, SITI, COVERAGE_START,
                                    command or death_report(), TODAY))


def with_documents(state: Claim, documents, on: date = DOCUMENTS_DAY) -> Claim:
    for document in documents:
        state = after(state, claim.receive_document(
            state, ReceiveDocument(document=document, received_on=on, reference=f"ref/{document}"),
            TODAY))
    return state


def with_heir(state: Claim, heir: tuple[str, str]) -> Claim:
    name, relation = heir
    return after(state, claim.record_heir(state, RecordHeir(
        name=name, relation=relation, evidence="KK 7174010101240001", recorded_on=REPORTED),
        TODAY))


def assessed(state: Claim, verdict=ELIGIBLE, **command) -> Claim:
    return after(state, claim.assess(state, AssessClaim(assessed_on=ASSESSED, **command),
                                     verdict, INCOME, TODAY))


def approved(state: Claim) -> Claim:
    return after(state, claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY))


def payout(component: str, amount: int, payee=RINA, paid_on=JKM_DUE, ref=None,
           override_reason=None) -> RecordPayout:
    name, relation = payee
    return RecordPayout(payout_ref=ref or f"SP2D/{component}/{amount}/{paid_on}",
                        payee_name=name, relation=relation, component=component,
                        amount_idr=amount, paid_on=paid_on, override_reason=override_reason)


def paid(state: Claim, *payouts: RecordPayout) -> Claim:
    for command in payouts:
        state = after(state, claim.pay(state, command, TODAY))
    return state


def death_claim_approved(*heirs) -> Claim:
    """A JKM death claim with its heirs (the widow by default), every document, approved."""
    state = reported()
    for heir in heirs or (RINA,):
        state = with_heir(state, heir)
    return approved(assessed(with_documents(state, state.required_documents)))


def accident_claim_approved(report: ReportClaim | None = None) -> Claim:
    """A JKK claim: Rp5M medical care, Rp1M land transport and 2 months off work."""
    state = reported(report or accident_report())
    state = with_documents(state, state.required_documents)
    return approved(assessed(state, medical_cost_idr=5_000_000, incapacity_months=2,
                             transport=[TransportCost(mode="land", cost_idr=1_000_000)]))


def to_siti(component: str, amount: int, paid_on: date, **changes) -> RecordPayout:
    return payout(component, amount, payee=("Siti Mokodompit", "self"), paid_on=paid_on,
                  **changes)


JKM_IN_FULL = [payout("jkm_lump_sum", 20_000_000), payout("jkm_periodic", 12_000_000),
               payout("funeral", 10_000_000)]


# Report


def test_a_jkm_report_is_always_a_death_keyed_by_the_participant():
    event, = claim.report(None, PROGRAM, SITI, COVERAGE_START, death_report(fatal=False), TODAY)

    assert isinstance(event, ClaimReported)
    assert (event.claim_id, event.benefit, event.fatal) == ("death-p-siti", "JKM", True)
    assert event.reclassified_from is None
    assert (event.program_id, event.participant_id) == (PROGRAM, SITI)


def test_a_jkm_death_from_a_work_accident_is_recorded_as_jkk_reclassified_from_jkm():
    event, = claim.report(None, PROGRAM, SITI, COVERAGE_START,
                          death_report(work_related=True), TODAY)

    assert (event.benefit, event.fatal, event.reclassified_from) == ("JKK", True, "JKM")
    assert event.claim_id == "death-p-siti"


def test_two_death_reports_of_one_person_meet_on_one_stream():
    jkm, = claim.report(None, PROGRAM, SITI, COVERAGE_START, death_report(), TODAY)
    jkk, = claim.report(None, PROGRAM, SITI, COVERAGE_START,
                        accident_report(fatal=True, claim_id="BPJS-123"), TODAY)

    assert jkm.claim_id == jkk.claim_id == claim.death_claim_id(SITI)
    assert claim.stream_id(PROGRAM, jkm.claim_id) == claim.stream_id(PROGRAM, jkk.claim_id)
    assert claim.stream_id(PROGRAM, jkm.claim_id) != claim.stream_id("gorontalo-2024",
                                                                      jkm.claim_id)


def test_a_non_fatal_accident_is_numbered_from_its_date_unless_given_a_number():
    dated, = claim.report(None, PROGRAM, SITI, COVERAGE_START, accident_report(), TODAY)
    numbered, = claim.report(None, PROGRAM, SITI, COVERAGE_START,
                             accident_report(claim_id="KLM-2024-0042"), TODAY)

    assert (dated.claim_id, dated.benefit, dated.fatal) == ("JKK-2024-04-01", "JKK", False)
    assert numbered.claim_id == "KLM-2024-0042"


def test_a_traffic_accident_is_recorded_as_one():
    event, = claim.report(None, PROGRAM, SITI, COVERAGE_START,
                          accident_report(traffic_accident=True), TODAY)

    assert event.traffic_accident


def test_a_second_report_on_the_same_stream_is_refused_reopen_instead():
    with pytest.raises(ClaimStateConflict) as refused:
        claim.report(reported(), PROGRAM, SITI, COVERAGE_START,
                     death_report(reported_on=date(2024, 4, 20)), TODAY)

    assert refused.value.field == "claim_id"
    assert "death-p-siti" in refused.value.detail


def test_a_participant_never_enrolled_cannot_report_a_claim():
    with pytest.raises(NotEnrolled) as refused:
        claim.report(None, PROGRAM, SITI, None, death_report(), TODAY)

    assert refused.value.field == "participant_id"


@pytest.mark.parametrize(("changes", "field"), [
    (dict(incident_date=date(2025, 1, 1), reported_on=date(2025, 1, 1)), "incident_date"),
    (dict(incident_date=date(2024, 2, 29)), "incident_date"),  # the day before coverage
    (dict(reported_on=date(2024, 3, 31)), "reported_on"),      # before the incident
    (dict(reported_on=date(2025, 1, 1)), "reported_on"),       # after today
    (dict(reporter_name="  "), "reporter_name"),
    (dict(reporter_relation=""), "reporter_relation"),
    (dict(circumstances=" "), "circumstances"),
])
def test_an_impossible_report_is_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidInput) as refused:
        claim.report(None, PROGRAM, SITI, COVERAGE_START, death_report(**changes), TODAY)

    assert refused.value.field == field


def test_an_incident_on_the_day_coverage_started_reported_the_same_day_is_accepted():
    events = claim.report(None, PROGRAM, SITI, COVERAGE_START,
                          death_report(incident_date=COVERAGE_START, reported_on=COVERAGE_START),
                          TODAY)

    assert len(events) == 1


def test_a_report_opens_the_claim_as_reported_with_nothing_else():
    state = reported()

    assert state.status == "reported"
    assert (state.documents, state.heirs, state.payouts) == ({}, [], [])
    assert state.assessment is None and state.approved is None


# Documents


def test_a_document_received_is_recorded_with_its_day():
    events = claim.receive_document(reported(), ReceiveDocument(
        document="death_certificate", received_on=DOCUMENTS_DAY, reference="AKTA-7174-0099"),
        TODAY)

    assert events == [DocumentReceived(document="death_certificate", received_on=DOCUMENTS_DAY,
                                       reference="AKTA-7174-0099")]
    assert after(reported(), events).documents == {"death_certificate": DOCUMENTS_DAY}


def test_an_unknown_document_is_refused():
    with pytest.raises(InvalidInput) as refused:
        claim.receive_document(reported(), ReceiveDocument(
            document="birth_certificate", received_on=DOCUMENTS_DAY, reference="x"), TODAY)

    assert refused.value.field == "document"
    assert "birth_certificate" in refused.value.detail


@pytest.mark.parametrize("day", [date(2024, 3, 31), date(2025, 1, 1)])
def test_a_document_received_before_the_incident_or_after_today_is_refused(day):
    with pytest.raises(InvalidInput) as refused:
        claim.receive_document(reported(), ReceiveDocument(
            document="kpj_card", received_on=day, reference="x"), TODAY)

    assert refused.value.field == "received_on"


def test_the_same_document_received_twice_on_the_same_day_appends_nothing():
    state = with_documents(reported(), ["kpj_card"])

    again = claim.receive_document(state, ReceiveDocument(
        document="kpj_card", received_on=DOCUMENTS_DAY, reference="another scan"), TODAY)

    assert again == []


def test_a_death_claim_needs_the_jkm_documents():
    assert reported().required_documents == JKM_DOCUMENTS
    assert reported().missing_documents == JKM_DOCUMENTS


def test_a_non_fatal_accident_needs_the_accident_documents_and_the_participants_ktp():
    assert reported(accident_report()).required_documents == [*JKK_DOCUMENTS, "ktp"]


def test_a_fatal_accident_needs_the_death_documents_instead_of_the_ktp():
    assert reported(accident_report(fatal=True)).required_documents == \
        [*JKK_DOCUMENTS, *DEATH_DOCUMENTS]


def test_a_traffic_accident_also_needs_the_police_report():
    required = reported(accident_report(traffic_accident=True)).required_documents

    assert required == [*JKK_DOCUMENTS, "ktp", "police_report"]


def test_a_widow_or_widower_as_heir_adds_the_marriage_book():
    with_spouse = with_heir(reported(), RINA)
    with_child = with_heir(reported(), ANDI)

    assert with_spouse.required_documents == [*JKM_DOCUMENTS, "marriage_book"]
    assert "marriage_book" not in with_child.required_documents


def test_the_documents_are_complete_on_the_day_the_last_required_one_arrived():
    state = with_documents(reported(), JKM_DOCUMENTS[:-1], on=date(2024, 4, 3))
    assert state.documents_complete_on is None
    assert state.missing_documents == ["savings_book"]

    state = with_documents(state, ["savings_book"], on=date(2024, 4, 5))

    assert state.documents_complete_on == date(2024, 4, 5)
    assert state.missing_documents == []


def test_a_document_that_is_not_required_does_not_move_the_clock():
    state = with_documents(reported(), JKM_DOCUMENTS)

    state = with_documents(state, ["police_report"], on=date(2024, 5, 1))

    assert state.documents_complete_on == DOCUMENTS_DAY


# Heirs


def test_an_heir_is_recorded_on_a_death_claim():
    events = claim.record_heir(reported(), RecordHeir(
        name="Rina Mokodompit", relation="spouse", evidence="KK 7174010101240001",
        recorded_on=REPORTED), TODAY)

    assert events == [HeirRecorded(name="Rina Mokodompit", relation="spouse",
                                   evidence="KK 7174010101240001", recorded_on=REPORTED)]


def test_heirs_are_recorded_on_a_fatal_accident_too():
    assert with_heir(reported(accident_report(fatal=True)), ANDI).heirs[0].relation == "child"


def test_heirs_are_refused_on_a_non_fatal_accident():
    with pytest.raises(InvalidInput) as refused:
        with_heir(reported(accident_report()), RINA)

    assert refused.value.field == "relation"


def test_the_deceased_is_not_their_own_heir():
    with pytest.raises(InvalidInput) as refused:
        with_heir(reported(), ("Siti Mokodompit", "self"))

    assert refused.value.field == "relation"


def test_an_heir_without_a_name_is_refused():
    with pytest.raises(InvalidInput) as refused:
        with_heir(reported(), (" ", "child"))

    assert refused.value.field == "name"


@pytest.mark.parametrize("day", [date(2024, 4, 1), date(2025, 1, 1)])
def test_an_heir_recorded_before_the_report_or_after_today_is_refused(day):
    with pytest.raises(InvalidInput) as refused:
        claim.record_heir(reported(), RecordHeir(name="Andi", relation="child", evidence="KK",
                                                 recorded_on=day), TODAY)

    assert refused.value.field == "recorded_on"


def test_the_same_heir_recorded_twice_appends_nothing():
    state = with_heir(reported(), RINA)

    assert claim.record_heir(state, RecordHeir(name=RINA[0], relation="spouse",
                                               evidence="heir certificate 12",
                                               recorded_on=REPORTED), TODAY) == []


# Assessment


def test_an_eligible_death_is_assessed_at_42_million_with_the_versions_used():
    event, = claim.assess(reported(), AssessClaim(assessed_on=ASSESSED), ELIGIBLE, INCOME,
                          TODAY)

    assert isinstance(event, ClaimAssessed)
    assert event.eligible and event.failed_rule is None and event.failed_month is None
    assert event.outcome == "death"
    assert {line.component: line.amount_idr for line in event.lines} == {
        "jkm_lump_sum": 20_000_000, "jkm_periodic": 12_000_000, "funeral": 10_000_000}
    assert (event.benefit_rule_version, event.coverage_rule_version) == \
        ("benefits/2019-12", "coverage/2015-07")
    assert (event.declared_income_idr, event.contribution_months) == (INCOME, 2)


@pytest.mark.parametrize(("months", "scholarship"), [(35, False), (36, True)])
def test_a_death_earns_the_scholarship_from_36_contribution_months(months, scholarship):
    verdict = ELIGIBLE._replace(contribution_months=months)

    state = assessed(reported(), verdict, children=[Child(level="SMP"), Child(level="PT")])

    components = [line.component for line in state.assessment.lines]
    assert ("scholarship_child_2" in components) is scholarship
    assert sum(line.amount_idr for line in state.assessment.lines) == \
        (56_000_000 if scholarship else 42_000_000)


def test_an_ineligible_claim_is_assessed_with_its_failed_rule_and_no_lines():
    state = assessed(reported(), NOT_COVERED)

    assert state.status == "assessed"
    assert not state.assessment.eligible
    assert (state.assessment.failed_rule, state.assessment.failed_month) == \
        ("month_not_covered", "2024-04")
    assert state.assessment.detail == NOT_COVERED.detail
    assert state.assessment.lines == []


def test_a_fatal_accident_is_assessed_as_a_jkk_death_whatever_outcome_was_asked():
    state = assessed(reported(accident_report(fatal=True)), outcome="treatment",
                     children=[Child(level="SMA")])

    assert state.assessment.outcome == "death"
    assert {line.component: line.amount_idr for line in state.assessment.lines} == {
        "jkk_death": 48_000_000, "funeral": 10_000_000, "jkk_periodic": 12_000_000,
        "scholarship_child_1": 3_000_000}


def test_a_work_related_death_reported_as_jkm_is_paid_as_jkk_with_scholarship_at_any_period():
    state = assessed(reported(death_report(work_related=True)),
                     ELIGIBLE._replace(contribution_months=2), children=[Child(level="TK_SD")])

    components = {line.component: line.amount_idr for line in state.assessment.lines}
    assert components["jkk_death"] == 48_000_000
    assert components["scholarship_child_1"] == 1_500_000
    assert "jkm_lump_sum" not in components


def test_a_non_fatal_accident_cannot_be_assessed_as_a_death():
    with pytest.raises(InvalidInput) as refused:
        assessed(reported(accident_report()), outcome="death")

    assert refused.value.field == "outcome"


def test_an_accident_is_assessed_from_its_costs_and_days_off_work():
    state = assessed(reported(accident_report()), medical_cost_idr=7_500_000,
                     transport=[TransportCost(mode="air", cost_idr=14_000_000)],
                     incapacity_months=13)

    assert {line.component: line.amount_idr for line in state.assessment.lines} == {
        "medical": 7_500_000, "transport_air": 10_000_000,
        "temporary_incapacity": 12_500_000}
    assert state.assessment.outcome == "treatment"


@pytest.mark.parametrize("day", [date(2024, 4, 1), date(2025, 1, 1)])
def test_an_assessment_before_the_report_or_after_today_is_refused(day):
    with pytest.raises(InvalidInput) as refused:
        claim.assess(reported(), AssessClaim(assessed_on=day), ELIGIBLE, INCOME, TODAY)

    assert refused.value.field == "assessed_on"


def test_an_assessed_claim_can_be_assessed_again_and_the_last_assessment_counts():
    state = assessed(assessed(reported(), NOT_COVERED), ELIGIBLE)

    assert state.assessment.eligible


def test_an_approved_claim_cannot_be_assessed_again_without_reopening():
    with pytest.raises(ClaimStateConflict):
        assessed(death_claim_approved())


# Approval


def test_an_eligible_assessed_claim_with_every_document_is_approved_for_its_total():
    state = reported()
    state = with_documents(with_heir(state, RINA), [*JKM_DOCUMENTS, "marriage_book"])

    events = claim.approve(assessed(state), ApproveClaim(approved_on=APPROVED, note="ok"), TODAY)

    assert events == [ClaimApproved(approved_on=APPROVED, amount_idr=42_000_000, note="ok")]


def test_a_claim_cannot_be_approved_before_it_is_assessed():
    state = with_documents(reported(), JKM_DOCUMENTS)

    with pytest.raises(ClaimStateConflict) as refused:
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)

    assert "reported" in refused.value.detail


def test_an_ineligible_claim_cannot_be_approved_it_is_rejected():
    state = assessed(with_documents(reported(), JKM_DOCUMENTS), NOT_COVERED)

    with pytest.raises(ClaimStateConflict) as refused:
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)

    assert "month_not_covered" in refused.value.detail


def test_a_claim_with_documents_missing_is_refused_naming_them():
    state = assessed(with_documents(reported(), ["kpj_card", "ktp_deceased", "ktp_heir",
                                                 "family_card", "savings_book"]))

    with pytest.raises(MissingDocuments) as refused:
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)

    assert refused.value.field == "documents"
    assert "death_certificate" in refused.value.detail
    assert "heir_certificate" in refused.value.detail
    assert "kpj_card" not in refused.value.detail


def test_a_widow_as_heir_cannot_be_paid_before_the_marriage_book_arrives():
    state = assessed(with_documents(with_heir(reported(), RINA), JKM_DOCUMENTS))

    with pytest.raises(MissingDocuments) as refused:
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)

    assert "marriage_book" in refused.value.detail


def test_a_traffic_accident_cannot_be_approved_without_the_police_report():
    state = reported(accident_report(traffic_accident=True))
    state = assessed(with_documents(state, [*JKK_DOCUMENTS, "ktp"]), medical_cost_idr=1_000)

    with pytest.raises(MissingDocuments) as refused:
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)

    assert "police_report" in refused.value.detail


def test_an_approval_dated_before_the_assessment_is_refused():
    state = assessed(with_documents(reported(), JKM_DOCUMENTS))

    with pytest.raises(InvalidInput) as refused:
        claim.approve(state, ApproveClaim(approved_on=date(2024, 4, 7)), TODAY)

    assert refused.value.field == "approved_on"


def test_an_approved_claim_is_not_approved_twice():
    with pytest.raises(ClaimStateConflict):
        approved(death_claim_approved())


# Rejection


def test_an_ineligible_claim_is_rejected_with_the_failed_month_of_its_assessment():
    state = assessed(reported(), NOT_COVERED)

    events = claim.reject(state, RejectClaim(rejected_on=ASSESSED,
                                             reason_code="month_not_covered",
                                             detail="April was in arrears"), TODAY)

    assert events == [ClaimRejected(rejected_on=ASSESSED, reason_code="month_not_covered",
                                    detail="April was in arrears", failed_month="2024-04")]
    assert after(state, events).status == "rejected"


def test_a_rejection_needs_a_known_reason_and_a_detail():
    with pytest.raises(InvalidInput) as unknown:
        claim.reject(reported(), RejectClaim(rejected_on=ASSESSED, reason_code="fraud",
                                             detail="x"), TODAY)
    with pytest.raises(InvalidInput) as blank:
        claim.reject(reported(), RejectClaim(rejected_on=ASSESSED, reason_code="other",
                                             detail=" "), TODAY)

    assert (unknown.value.field, blank.value.field) == ("reason_code", "detail")


def test_an_approved_claim_cannot_be_rejected():
    with pytest.raises(ClaimStateConflict):
        claim.reject(death_claim_approved(), RejectClaim(
            rejected_on=APPROVED, reason_code="documents_invalid", detail="forged KK"), TODAY)


# Payouts


def test_an_approved_claim_pays_the_recorded_heir_and_becomes_paid():
    events = claim.pay(death_claim_approved(), payout("jkm_lump_sum", 20_000_000), TODAY)

    assert events == [PayoutRecorded(
        payout_ref=f"SP2D/jkm_lump_sum/20000000/{JKM_DUE}", payee_name="Rina Mokodompit",
        relation="spouse", component="jkm_lump_sum", amount_idr=20_000_000, paid_on=JKM_DUE)]
    state = after(death_claim_approved(), events)
    assert state.status == "paid"
    assert state.benefit_paid_idr == 20_000_000


def test_a_claim_is_not_paid_before_approval():
    state = assessed(with_documents(with_heir(reported(), RINA),
                                    [*JKM_DOCUMENTS, "marriage_book"]))

    with pytest.raises(ClaimStateConflict):
        claim.pay(state, payout("funeral", 10_000_000), TODAY)


def test_a_payee_who_is_not_a_recorded_heir_is_refused():
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(), payout("funeral", 10_000_000,
                                                 payee=("Budi Paputungan", "sibling")), TODAY)

    assert refused.value.field == "payee_name"
    # the refusal names the relation, never the person (error messages carry no names)
    assert "sibling" in refused.value.detail and "Budi" not in refused.value.detail


def test_a_recorded_heir_under_another_relation_is_refused():
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(), payout("funeral", 10_000_000,
                                                 payee=("Rina Mokodompit", "sibling")), TODAY)

    assert refused.value.field == "payee_name"


def test_a_lower_heir_is_refused_while_a_higher_one_is_recorded():
    state = death_claim_approved(RINA, HASAN)

    with pytest.raises(InvalidInput) as refused:
        claim.pay(state, payout("jkm_lump_sum", 20_000_000, payee=HASAN), TODAY)

    assert refused.value.field == "override_reason"
    assert "spouse" in refused.value.detail


@pytest.mark.parametrize("blank", ["", "   "])
def test_a_blank_override_reason_is_no_reason(blank):
    with pytest.raises(InvalidInput):
        claim.pay(death_claim_approved(RINA, HASAN),
                  payout("jkm_lump_sum", 20_000_000, payee=HASAN, override_reason=blank), TODAY)


def test_a_lower_heir_is_paid_when_the_officer_records_why():
    event, = claim.pay(death_claim_approved(RINA, HASAN), payout(
        "jkm_lump_sum", 20_000_000, payee=HASAN,
        override_reason="the widow waived in writing, letter 12/2024"), TODAY)

    assert (event.payee_name, event.relation) == HASAN
    assert event.override_reason == "the widow waived in writing, letter 12/2024"


def test_heirs_of_the_same_class_are_paid_without_an_override():
    state = death_claim_approved(RINA, ANDI)

    state = paid(state, payout("jkm_lump_sum", 10_000_000, ref="a"),
                 payout("jkm_lump_sum", 10_000_000, payee=ANDI, ref="b"))

    assert state.paid_idr("jkm_lump_sum") == 20_000_000


def test_whoever_arranged_the_funeral_receives_the_funeral_benefit_when_there_is_no_heir():
    state = approved(assessed(with_documents(reported(), JKM_DOCUMENTS)))  # no heir recorded

    event, = claim.pay(state, payout("funeral", 10_000_000,
                                     payee=("Pak RT Gogagoman", "funeral_arranger")), TODAY)

    assert (event.relation, event.amount_idr) == ("funeral_arranger", 10_000_000)


def test_whoever_arranged_the_funeral_receives_nothing_but_the_funeral_benefit():
    state = approved(assessed(with_documents(reported(), JKM_DOCUMENTS)))

    with pytest.raises(InvalidInput) as refused:
        claim.pay(state, payout("jkm_lump_sum", 20_000_000,
                                payee=("Pak RT Gogagoman", "funeral_arranger")), TODAY)

    assert refused.value.field == "component"


def test_whoever_arranged_the_funeral_comes_after_a_recorded_heir():
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(ANDI), payout(
            "funeral", 10_000_000, payee=("Pak RT Gogagoman", "funeral_arranger")), TODAY)

    assert refused.value.field == "override_reason"
    assert "child" in refused.value.detail


def test_a_non_fatal_accident_is_paid_to_the_participant_only():
    state = accident_claim_approved()

    with pytest.raises(InvalidInput) as refused:
        claim.pay(state, payout("medical", 5_000_000, payee=RINA, paid_on=JKK_DUE), TODAY)
    accepted = claim.pay(state, to_siti("medical", 5_000_000, JKK_DUE), TODAY)

    assert refused.value.field == "relation"
    assert accepted[0].relation == "self"


def test_a_payout_beyond_what_is_still_owed_on_the_line_is_refused():
    state = paid(death_claim_approved(), payout("funeral", 6_000_000, ref="first"))

    with pytest.raises(PayoutExceedsApproved) as refused:
        claim.pay(state, payout("funeral", 4_000_001, ref="second"), TODAY)
    rest = claim.pay(state, payout("funeral", 4_000_000, ref="second"), TODAY)

    assert refused.value.field == "amount_idr"
    assert "4,000,000" in refused.value.detail
    assert after(state, rest).paid_idr("funeral") == 10_000_000


def test_a_line_paid_in_full_takes_not_one_rupiah_more():
    state = paid(death_claim_approved(), *JKM_IN_FULL)

    with pytest.raises(PayoutExceedsApproved):
        claim.pay(state, payout("funeral", 1, ref="one more"), TODAY)


def test_a_payout_for_a_line_that_was_not_approved_is_refused():
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(), payout("scholarship_child_1", 1_500_000), TODAY)

    assert refused.value.field == "component"


def test_a_payout_reference_is_used_once():
    state = paid(death_claim_approved(), payout("funeral", 5_000_000, ref="SP2D-9"))

    with pytest.raises(InvalidInput) as refused:
        claim.pay(state, payout("jkm_periodic", 5_000_000, ref="SP2D-9"), TODAY)

    assert refused.value.field == "payout_ref"


@pytest.mark.parametrize("amount", [0, -10_000_000])
def test_a_payout_of_nothing_is_refused(amount):
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(), payout("funeral", amount), TODAY)

    assert refused.value.field == "amount_idr"


@pytest.mark.parametrize("day", [date(2024, 4, 8), date(2025, 1, 1)])
def test_a_payout_before_the_approval_or_after_today_is_refused(day):
    with pytest.raises(InvalidInput) as refused:
        claim.pay(death_claim_approved(), payout("funeral", 10_000_000, paid_on=day), TODAY)

    assert refused.value.field == "paid_on"


# Service levels


def test_a_death_is_due_three_working_days_after_the_documents_are_complete_skipping_eid():
    assert death_claim_approved().documents_complete_on == DOCUMENTS_DAY
    assert death_claim_approved().due_on == JKM_DUE


def test_an_accident_is_due_seven_working_days_after_the_documents_are_complete():
    assert accident_claim_approved().due_on == JKK_DUE


def test_a_work_related_death_is_due_on_the_jkk_clock():
    state = reported(death_report(work_related=True))

    assert with_documents(state, state.required_documents).due_on == JKK_DUE


def test_a_claim_with_documents_missing_has_no_due_day():
    assert with_documents(reported(), JKM_DOCUMENTS[1:]).due_on is None


def test_the_clock_starts_when_the_last_document_arrives():
    state = with_documents(reported(), JKM_DOCUMENTS[:3], on=date(2024, 4, 2))
    state = with_documents(state, JKM_DOCUMENTS[3:], on=date(2024, 12, 19))  # a Thursday
    assert state.due_on == date(2024, 12, 24)  # Fri 20, Mon 23, Tue 24

    state = with_documents(state, ["marriage_book"], on=date(2024, 12, 20))
    assert state.due_on == date(2024, 12, 24)  # not required without a spouse heir
    # with the widow recorded it is: from Fri 20, Mon 23, Tue 24, [Christmas], Thu 26
    assert after(state, claim.record_heir(state, RecordHeir(
        name=RINA[0], relation="spouse", evidence="KK", recorded_on=REPORTED), TODAY)
    ).due_on == date(2024, 12, 26)


def test_a_copy_of_a_document_already_received_does_not_restart_the_clock():
    # The clock starts when the last required document arrives (docs/claims.md): the KPJ
    # card arrived on 5 April, so a second copy brought in after approval changes nothing,
    # neither the due day nor the penalty owed for paying late.
    state = accident_claim_approved()
    state = with_documents(state, ["kpj_card"], on=date(2024, 5, 1))
    state = paid(state, to_siti("medical", 5_000_000, date(2024, 5, 2)))  # 14 days late

    assert state.documents_complete_on == DOCUMENTS_DAY
    assert state.due_on == JKK_DUE
    assert state.penalty_due_idr() == 700_000


def test_a_jkk_benefit_paid_on_its_due_day_owes_no_penalty():
    state = paid(accident_claim_approved(), to_siti("medical", 5_000_000, JKK_DUE))

    assert state.penalty_due_idr() == 0


def test_a_jkk_benefit_paid_late_owes_one_percent_a_calendar_day():
    state = paid(accident_claim_approved(),
                 to_siti("medical", 5_000_000, date(2024, 4, 20)),        # 2 days late
                 to_siti("transport_land", 1_000_000, JKK_DUE),           # on time
                 to_siti("temporary_incapacity", 2_000_000, date(2024, 4, 28)))  # 10 days

    assert state.penalty_due_idr() == 100_000 + 0 + 200_000


def test_the_penalty_rounds_down_each_payout_to_the_rupiah():
    state = paid(accident_claim_approved(), to_siti("medical", 1_999, date(2024, 4, 19)))

    assert state.penalty_due_idr() == 19


def test_a_late_jkm_benefit_owes_no_penalty():
    state = paid(death_claim_approved(), payout("funeral", 10_000_000, paid_on=date(2024, 6, 1)))

    assert state.penalty_due_idr() == 0


def test_the_late_penalty_is_payable_up_to_what_is_due_and_accrues_nothing_itself():
    state = paid(accident_claim_approved(), to_siti("medical", 5_000_000, date(2024, 4, 20)))

    with pytest.raises(PayoutExceedsApproved):
        claim.pay(state, to_siti(claim.LATE_PENALTY, 100_001, date(2024, 6, 1)), TODAY)
    state = paid(state, to_siti(claim.LATE_PENALTY, 60_000, date(2024, 6, 1), ref="pen-1"))
    with pytest.raises(PayoutExceedsApproved):
        claim.pay(state, to_siti(claim.LATE_PENALTY, 40_001, date(2024, 6, 1), ref="pen-2"),
                  TODAY)
    state = paid(state, to_siti(claim.LATE_PENALTY, 40_000, date(2024, 6, 1), ref="pen-2"))

    assert state.paid_idr(claim.LATE_PENALTY) == 100_000
    assert state.penalty_due_idr() == 100_000
    assert state.benefit_paid_idr == 5_000_000


def test_no_late_penalty_is_payable_on_a_claim_paid_on_time():
    state = paid(accident_claim_approved(), to_siti("medical", 5_000_000, JKK_DUE))

    with pytest.raises(PayoutExceedsApproved):
        claim.pay(state, to_siti(claim.LATE_PENALTY, 1, JKK_DUE, ref="pen"), TODAY)


# Close and reopen


def test_a_claim_paid_in_full_is_closed():
    state = paid(death_claim_approved(), *JKM_IN_FULL)

    events = claim.close(state, CloseClaim(closed_on=date(2024, 4, 15), note="handed over"), TODAY)

    assert events == [ClaimClosed(closed_on=date(2024, 4, 15), note="handed over")]
    assert after(state, events).status == "closed"


def test_a_rejected_claim_is_closed():
    state = after(assessed(reported(), NOT_COVERED), [ClaimRejected(
        rejected_on=ASSESSED, reason_code="month_not_covered", detail="arrears")])

    assert claim.close(state, CloseClaim(closed_on=ASSESSED), TODAY) == [
        ClaimClosed(closed_on=ASSESSED, note="")]


def test_a_claim_partly_paid_is_not_closed():
    state = paid(death_claim_approved(), *JKM_IN_FULL[:2])

    with pytest.raises(ClaimStateConflict) as refused:
        claim.close(state, CloseClaim(closed_on=date(2024, 4, 15)), TODAY)

    assert "10,000,000" in refused.value.detail


@pytest.mark.parametrize("stage", ["reported", "assessed", "approved"])
def test_a_claim_not_yet_paid_or_rejected_is_not_closed(stage):
    state = {"reported": reported(), "assessed": assessed(reported()),
             "approved": death_claim_approved()}[stage]

    with pytest.raises(ClaimStateConflict):
        claim.close(state, CloseClaim(closed_on=TODAY), TODAY)


def test_a_closed_claim_takes_no_more_steps_until_reopened():
    state = after(paid(death_claim_approved(), *JKM_IN_FULL),
                  [ClaimClosed(closed_on=date(2024, 4, 15), note="")])

    with pytest.raises(ClaimStateConflict):
        with_documents(state, ["marriage_book"])
    with pytest.raises(ClaimStateConflict):
        claim.close(state, CloseClaim(closed_on=TODAY), TODAY)
    with pytest.raises(ClaimStateConflict):
        claim.pay(state, payout("funeral", 1, ref="late"), TODAY)


def test_a_claim_that_does_not_exist_cannot_be_worked_on():
    with pytest.raises(ClaimNotFound):
        claim.receive_document(None, ReceiveDocument(document="kpj_card",
                                                     received_on=DOCUMENTS_DAY, reference="x"),
                               TODAY)
    with pytest.raises(ClaimNotFound):
        claim.reopen(None, ReopenClaim(reopened_on=TODAY, reason="x"), TODAY)


def test_a_rejected_claim_is_reopened_and_its_assessment_cleared():
    state = after(assessed(reported(), NOT_COVERED), [ClaimRejected(
        rejected_on=ASSESSED, reason_code="month_not_covered", detail="arrears")])

    events = claim.reopen(state, ReopenClaim(reopened_on=date(2024, 7, 1),
                                             reason="April's arrears were paid on 30 June"), TODAY)
    reopened = after(state, events)

    assert events == [ClaimReopened(reopened_on=date(2024, 7, 1),
                                    reason="April's arrears were paid on 30 June")]
    assert reopened.status == "reported"
    assert (reopened.assessment, reopened.approved, reopened.rejected) == (None, None, None)
    assert reopened.reported == state.reported


def test_a_closed_claim_is_reopened_keeping_its_documents_heirs_and_payouts():
    state = after(paid(death_claim_approved(), *JKM_IN_FULL),
                  [ClaimClosed(closed_on=date(2024, 4, 15), note="")])

    reopened = after(state, claim.reopen(state, ReopenClaim(
        reopened_on=date(2024, 8, 1), reason="a second child's scholarship"), TODAY))

    assert reopened.status == "reported"
    assert reopened.assessment is None and reopened.approved is None
    assert reopened.documents == state.documents and reopened.heirs == state.heirs
    assert reopened.benefit_paid_idr == 42_000_000


@pytest.mark.parametrize("stage", ["reported", "assessed", "approved", "paid"])
def test_only_a_closed_or_rejected_claim_is_reopened(stage):
    state = {"reported": reported(), "assessed": assessed(reported()),
             "approved": death_claim_approved(),
             "paid": paid(death_claim_approved(), *JKM_IN_FULL[:1])}[stage]

    with pytest.raises(ClaimStateConflict):
        claim.reopen(state, ReopenClaim(reopened_on=TODAY, reason="second look"), TODAY)


def test_a_reopening_needs_its_reason():
    state = after(assessed(reported(), NOT_COVERED), [ClaimRejected(
        rejected_on=ASSESSED, reason_code="month_not_covered", detail="arrears")])

    with pytest.raises(InvalidInput) as refused:
        claim.reopen(state, ReopenClaim(reopened_on=TODAY, reason="  "), TODAY)

    assert refused.value.field == "reason"


def test_a_reopened_claim_never_pays_a_line_twice():
    state = after(paid(death_claim_approved(), *JKM_IN_FULL),
                  [ClaimClosed(closed_on=date(2024, 4, 15), note="")])
    state = after(state, claim.reopen(state, ReopenClaim(reopened_on=date(2024, 8, 1),
                                                         reason="second look"), TODAY))
    state = approved(assessed(state))

    with pytest.raises(PayoutExceedsApproved):
        claim.pay(state, payout("funeral", 10_000_000, ref="again"), TODAY)


def test_a_reopened_claim_assessed_again_to_the_figures_already_paid_can_be_closed_again():
    # Documented rule: a claim is closed when rejected or paid in full. Reopened, assessed
    # and approved again for the same Rp42,000,000 that was paid before, it is paid in full.
    state = after(paid(death_claim_approved(), *JKM_IN_FULL),
                  [ClaimClosed(closed_on=date(2024, 4, 15), note="")])
    reopening = ReopenClaim(reopened_on=date(2024, 8, 1), reason="heir certificate re-checked")
    state = after(state, claim.reopen(state, reopening, TODAY))
    state = approved(assessed(state))
    assert state.benefit_paid_idr == state.approved.amount_idr == 42_000_000

    assert claim.close(state, CloseClaim(closed_on=date(2024, 8, 2)), TODAY) == [
        ClaimClosed(closed_on=date(2024, 8, 2), note="")]


# A whole story, with eligibility judged from the ledger's own payments


def test_a_death_in_a_month_paid_late_is_rejected_then_reopened_and_paid_once_arrears_land():
    member = eligibility.Member(coverage_start=COVERAGE_START, terminated_on=None,
                                lapsed_from=None, program_last="2024-12")
    rules = coverage.rules_in_force("2024-04")
    paid_months = {p: coverage.due_date(p, rules) for p in periods.between("2024-03", "2024-12")}
    paid_months["2024-04"] = date(2024, 6, 28)  # April's arrears, inside its window (31 July)

    def verdict(as_of: date) -> eligibility.Verdict:
        return eligibility.assess("JKM", INCIDENT, REPORTED, member, paid_months, as_of,
                                  rules_on(INCIDENT))

    state = with_documents(with_heir(reported(), ANDI), JKM_DOCUMENTS)
    state = assessed(state, verdict(ASSESSED))
    assert (state.assessment.eligible, state.assessment.failed_month) == (False, "2024-04")
    with pytest.raises(ClaimStateConflict):
        claim.approve(state, ApproveClaim(approved_on=APPROVED), TODAY)
    state = after(state, claim.reject(state, RejectClaim(
        rejected_on=ASSESSED, reason_code="month_not_covered", detail="April unpaid"), TODAY))
    state = after(state, claim.reopen(state, ReopenClaim(
        reopened_on=date(2024, 7, 1), reason="April's arrears were paid on 28 June"), TODAY))

    state = after(state, claim.assess(state, AssessClaim(assessed_on=date(2024, 7, 1)),
                                      verdict(date(2024, 7, 1)), INCOME, TODAY))
    state = after(state, claim.approve(state, ApproveClaim(approved_on=date(2024, 7, 2)), TODAY))
    state = paid(state, *[msgspec.structs.replace(p, payee_name=ANDI[0], relation="child",
                                                  paid_on=date(2024, 7, 3))
                          for p in JKM_IN_FULL])
    state = after(state, claim.close(state, CloseClaim(closed_on=date(2024, 7, 3)), TODAY))

    assert state.status == "closed"
    assert state.benefit_paid_idr == 42_000_000
    assert state.rejected is None


def test_an_event_from_another_stream_does_not_fold_into_a_claim():
    with pytest.raises(ValueError):
        claim.evolve(reported(), ParticipantEnrolled(kpj="24012340001",
                                                     coverage_start=COVERAGE_START, batch="b1"))
