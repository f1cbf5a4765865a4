"""Matching (pemadanan) a candidate against the civil registry: every reason that applies.

Pure: the registry record (or its absence) is looked up by the caller through
the ``CivilRegistry`` port and handed in. The outcome is padan (matched) only
when no reason applies; otherwise tidak padan with all of them, so a clerk
fixes everything in one pass.
"""

from datetime import date

import msgspec

from ledger import nik as nik_rules
from ledger.events import MismatchReason, Sex, VerificationOutcome
from ledger.names import similarity
from ledger.rules import VerificationRules

REASON_CODES: dict[str, str] = {
    "nik_not_found": "the NIK is not in the civil-registry extract",
    "name_differs": "the full name differs from the registry's (score below the threshold)",
    "birth_date_differs": "the birth date differs from the registry's",
    "sex_differs": "the sex differs from the registry's",
    "mother_name_differs": "the mother's maiden name differs from the registry's",
    "nik_already_used": "the same NIK was submitted in this program for a different person",
    "nik_other_region": "the NIK was issued outside the program's region",
    "nik_birth_date_differs": "the declared birth date is not the one the NIK encodes",
    "nik_sex_differs": "the declared sex is not the one the NIK encodes",
    "not_in_p3ke": (
        "the cohort requires the extreme-poverty register (P3KE) and the NIK is not in it"),
    "other": "recorded by an officer from a verification done elsewhere",
}


class RegistryRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One person as the civil registry (Disdukcapil) knows them."""

    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    mother_name: str


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    """What verification needs to know of a submitted candidate."""

    nik: str
    full_name: str
    birth_date: date
    sex: Sex
    mother_name: str
    earlier_identities: list[tuple[str, date]] = []
    """(full name, birth date) of earlier submissions of the same NIK in this program."""


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    outcome: VerificationOutcome
    reasons: list[MismatchReason]
    name_score: int | None


def match(
    candidate: Candidate,
    record: RegistryRecord | None,
    *,
    program_region: str,
    requires_p3ke: bool,
    in_p3ke: bool,
    rules: VerificationRules,
) -> Verdict:
    reasons = _nik_reasons(candidate, program_region, rules)
    if requires_p3ke and not in_p3ke:
        reasons.append(_reason("not_in_p3ke", "nik"))
    name_score = None
    if record is None:
        reasons.insert(0, _reason("nik_not_found", "nik"))
    else:
        name_score = similarity(candidate.full_name, record.full_name)
        reasons += _registry_reasons(candidate, record, name_score, rules)
    return Verdict(
        outcome="mismatched" if reasons else "matched", reasons=reasons, name_score=name_score
    )


def _nik_reasons(
    candidate: Candidate, program_region: str, rules: VerificationRules
) -> list[MismatchReason]:
    reasons = []
    if nik_rules.region_of(candidate.nik) != program_region:
        reasons.append(_reason("nik_other_region", "nik",
                               f"issued in {nik_rules.region_of(candidate.nik)}"))
    if not nik_rules.encoded_birth_date_matches(candidate.nik, candidate.birth_date):
        reasons.append(_reason("nik_birth_date_differs", "birth_date"))
    if nik_rules.encoded_sex(candidate.nik) != candidate.sex:
        reasons.append(_reason("nik_sex_differs", "sex"))
    if candidate.earlier_identities and any(
        birth_date != candidate.birth_date
        or similarity(name, candidate.full_name) < rules.name_match_threshold
        for name, birth_date in candidate.earlier_identities
    ):
        reasons.append(_reason("nik_already_used", "nik"))
    return reasons


def _registry_reasons(
    candidate: Candidate, record: RegistryRecord, name_score: int, rules: VerificationRules
) -> list[MismatchReason]:
    reasons = []
    if name_score < rules.name_match_threshold:
        reasons.append(_reason("name_differs", "full_name", score=name_score))
    if candidate.birth_date != record.birth_date:
        reasons.append(_reason("birth_date_differs", "birth_date"))
    if candidate.sex != record.sex:
        reasons.append(_reason("sex_differs", "sex"))
    mother_score = similarity(candidate.mother_name, record.mother_name)
    if mother_score < rules.mother_name_match_threshold:
        reasons.append(_reason("mother_name_differs", "mother_name", score=mother_score))
    return reasons


def _reason(code: str, field: str, detail: str = "", *, score: int | None = None) -> MismatchReason:
    return MismatchReason(code=code, field=field, detail=detail or REASON_CODES[code], score=score)
