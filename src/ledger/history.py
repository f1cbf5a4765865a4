"""The history of any stream as an auditor reads it: what happened, on which business
date, when the ledger recorded it and who did.

Every event has the time it was recorded (its ``meta``); most also speak about a
business date of their own (the day a payment was made, a death happened, a
verification was done). ``business_date`` names it per event type, so a reader
need not know each type's fields; events without one (a submission, a seat) have
None and are dated by when they were recorded.
"""

from datetime import date

from ledger.events import (
    BillIssued,
    ClaimApproved,
    ClaimAssessed,
    ClaimClosed,
    ClaimRejected,
    ClaimReopened,
    ClaimReported,
    DocumentReceived,
    Event,
    HeirRecorded,
    ParticipantEnrolled,
    ParticipantLapsed,
    ParticipantTerminated,
    PaymentRecorded,
    PaymentReversed,
    PayoutRecorded,
    ProgramOpened,
    RefundRecorded,
    VerificationRecorded,
)

BUSINESS_DATE_FIELD = {
    ProgramOpened: "coverage_start",
    VerificationRecorded: "verified_on",
    ParticipantEnrolled: "coverage_start",
    ParticipantTerminated: "effective_date",
    ParticipantLapsed: "lapsed_on",
    BillIssued: "issued_on",
    PaymentRecorded: "paid_on",
    PaymentReversed: "reversed_on",
    RefundRecorded: "refunded_on",
    ClaimReported: "reported_on",
    DocumentReceived: "received_on",
    HeirRecorded: "recorded_on",
    ClaimAssessed: "assessed_on",
    ClaimApproved: "approved_on",
    PayoutRecorded: "paid_on",
    ClaimRejected: "rejected_on",
    ClaimClosed: "closed_on",
    ClaimReopened: "reopened_on",
}
"""The field holding each event type's business date; types not listed have none."""


def business_date(event: Event) -> date | None:
    field = BUSINESS_DATE_FIELD.get(type(event))
    return getattr(event, field) if field else None
