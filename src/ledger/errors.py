"""Named refusals of the ledger.

Every refusal carries a stable machine-readable ``code`` (the RFC 9457 problem
type suffix), the offending ``field`` when one is to blame, and a sentence a
clerk can act on. The HTTP layer maps them to status codes in one table.
"""


class LedgerError(Exception):
    code = "ledger-error"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field


class InvalidInput(LedgerError):
    """A value is malformed or impossible (bad NIK, 30 February, negative quota)."""

    code = "invalid-input"


class ProgramNotFound(LedgerError):
    code = "program-not-found"


class ProgramAlreadyOpen(LedgerError):
    code = "program-already-open"


class ParticipantNotFound(LedgerError):
    code = "participant-not-found"


class NotMatched(LedgerError):
    """Enrollment of a candidate the civil registry has not matched (tidak padan)."""

    code = "not-matched"


class AlreadyEnrolled(LedgerError):
    code = "already-enrolled"


class KpjInUse(LedgerError):
    """A KPJ another participant of the program was enrolled with."""

    code = "kpj-in-use"


class AlreadyTerminated(LedgerError):
    code = "already-terminated"


class QuotaFull(LedgerError):
    code = "quota-full"


class OverAgeCap(LedgerError):
    code = "over-age-cap"


class OutsideCoverageWindow(LedgerError):
    code = "outside-coverage-window"


class ConcurrencyConflict(LedgerError):
    """Another writer changed the same stream first; re-read and try again."""

    code = "concurrency-conflict"


class ImportRejected(LedgerError):
    """A whole import file is unusable (wrong columns, bad encoding, empty)."""

    code = "import-rejected"


class BillNotFound(LedgerError):
    code = "bill-not-found"


class BillAlreadyIssued(LedgerError):
    code = "bill-already-issued"


class ReferenceAlreadyUsed(LedgerError):
    """A payment or refund reference recorded before, for something else."""

    code = "reference-already-used"


class PaymentNotFound(LedgerError):
    code = "payment-not-found"


class PaymentExceedsBill(LedgerError):
    """More money than the bill has left unpaid."""

    code = "payment-exceeds-bill"


class PaymentAlreadyReversed(LedgerError):
    code = "payment-already-reversed"


class RefundNotDue(LedgerError):
    """A refund for a month that was not paid on this bill, or refunded already."""

    code = "refund-not-due"


class NotEnrolled(LedgerError):
    code = "not-enrolled"


class MembershipLapsed(LedgerError):
    code = "membership-lapsed"


class ClaimNotFound(LedgerError):
    code = "claim-not-found"


class ClaimStateConflict(LedgerError):
    """The claim is not in a stage where this step can happen."""

    code = "claim-state-conflict"


class MissingDocuments(LedgerError):
    code = "missing-documents"


class PayoutExceedsApproved(LedgerError):
    code = "payout-exceeds-approved"


class LogTampered(LedgerError):
    """The hash chain or a kept digest does not verify: history was altered."""

    code = "log-tampered"


class RebuildUnderWay(LedgerError):
    """Another rebuild of the read models holds the database's rebuild lock."""

    code = "rebuild-under-way"


class StreamNotFound(LedgerError):
    code = "stream-not-found"


class KeysUnusable(LedgerError):
    """The personal-data keys are missing, malformed, or not the ones this ledger's
    data was sealed with."""

    code = "keys-unusable"


class PersonalDataUnreadable(LedgerError):
    """A sealed personal-data value that the keyring cannot open."""

    code = "personal-data-unreadable"


class Unauthenticated(LedgerError):
    """No bearer token, or one that is malformed, unknown, expired or revoked."""

    code = "unauthenticated"


class RoleForbidden(LedgerError):
    """The caller's role may not do this (docs/access.md)."""

    code = "forbidden-role"


class OutsideRegion(LedgerError):
    """The program is in a region outside the caller's scope."""

    code = "outside-region"


class TokenNotFound(LedgerError):
    code = "token-not-found"
