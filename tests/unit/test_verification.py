from datetime import date

from ledger.rules import verification_rules_on
from ledger.verification import Candidate, RegistryRecord, match

RULES = verification_rules_on(date(2024, 6, 1))
SITI = Candidate(nik="7174014503850001", full_name="Siti Mokodompit",
                 birth_date=date(1985, 3, 5), sex="P", mother_name="Nurhayati Paputungan")
REGISTRY_SITI = RegistryRecord(nik="7174014503850001", full_name="SITI MOKODOMPIT",
                               birth_date=date(1985, 3, 5), sex="P",
                               mother_name="NURHAYATI PAPUTUNGAN")


def verdict(candidate=SITI, record=REGISTRY_SITI, **kwargs):
    options = {"program_region": "7174", "requires_p3ke": False, "in_p3ke": False,
               "rules": RULES, **kwargs}
    return match(candidate, record, **options)


def codes(result):
    return [reason.code for reason in result.reasons]


def test_a_candidate_who_agrees_with_the_registry_is_padan():
    result = verdict()
    assert (result.outcome, result.reasons, result.name_score) == ("matched", [], 100)


def test_abbreviations_and_case_do_not_make_a_mismatch():
    moh = Candidate(nik="7174011203800002", full_name="Moh. Rahmat Damopolii",
                    birth_date=date(1980, 3, 12), sex="L", mother_name="Hj. Aisyah")
    record = RegistryRecord(nik="7174011203800002", full_name="MUHAMMAD RAHMAT DAMOPOLII",
                            birth_date=date(1980, 3, 12), sex="L", mother_name="HAJJAH AISYAH")
    assert verdict(moh, record).outcome == "matched"


def test_an_unknown_nik_is_tidak_padan():
    assert codes(verdict(record=None)) == ["nik_not_found"]


def test_every_reason_that_applies_is_reported_with_the_name_score():
    wrong = Candidate(nik="7174014503850001", full_name="Sinta Lasabuda",
                      birth_date=date(1985, 5, 3), sex="L", mother_name="Halima")

    result = verdict(wrong)

    assert result.outcome == "mismatched"
    assert codes(result) == ["nik_birth_date_differs", "nik_sex_differs", "name_differs",
                             "birth_date_differs", "sex_differs", "mother_name_differs"]
    name_reason = result.reasons[2]
    assert name_reason.score == result.name_score < RULES.name_match_threshold


def test_a_nik_from_another_region_is_a_finding_not_a_parse_error():
    manado = Candidate(nik="7171014503850001", full_name="Siti Mokodompit",
                       birth_date=date(1985, 3, 5), sex="P", mother_name="Nurhayati Paputungan")
    record = RegistryRecord(nik=manado.nik, full_name="Siti Mokodompit",
                            birth_date=date(1985, 3, 5), sex="P",
                            mother_name="Nurhayati Paputungan")
    result = verdict(manado, record)
    assert codes(result) == ["nik_other_region"]
    assert "7171" in result.reasons[0].detail


def test_the_same_nik_submitted_for_another_person_is_already_used():
    twice = Candidate(nik=SITI.nik, full_name=SITI.full_name, birth_date=SITI.birth_date,
                      sex="P", mother_name=SITI.mother_name,
                      earlier_identities=[("Fitri Manoppo", date(1990, 1, 1))])
    assert codes(verdict(twice)) == ["nik_already_used"]


def test_a_cohort_that_requires_p3ke_needs_the_nik_in_p3ke():
    assert codes(verdict(requires_p3ke=True, in_p3ke=False)) == ["not_in_p3ke"]
    assert verdict(requires_p3ke=True, in_p3ke=True).outcome == "matched"
