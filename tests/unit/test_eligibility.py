from datetime import date

import pytest

from ledger import benefits, coverage, eligibility, periods
from ledger.eligibility import Member

RULES = benefits.rules_on(date(2024, 1, 1))
COVER = coverage.rules_in_force("2024-03")
SITI = Member(coverage_start=date(2024, 3, 1), terminated_on=None, lapsed_from=None,
              program_last="2024-12")


def paid_on_time(first: str, last: str) -> dict[str, date]:
    """Every month from ``first`` to ``last`` paid on its due day, the 15th."""
    return {p: coverage.due_date(p, COVER) for p in periods.between(first, last)}


ALL_PAID = paid_on_time("2024-03", "2024-12")
ASSESSED = date(2025, 1, 20)
"""The default assessment day: after every 2024 month was paid."""


def judge(incident: date, member: Member = SITI, paid=None, as_of: date | None = None,
          benefit: str = "JKM", reported_on: date | None = None) -> eligibility.Verdict:
    return eligibility.assess(benefit, incident, reported_on or incident, member,
                              ALL_PAID if paid is None else paid, as_of or ASSESSED, RULES)


def without(paid: dict[str, date], *months: str) -> dict[str, date]:
    return {p: day for p, day in paid.items() if p not in months}


# A paid month


@pytest.mark.parametrize("incident", [date(2024, 5, 1), date(2024, 5, 31)])
def test_an_incident_on_the_first_or_last_day_of_a_paid_month_is_covered(incident):
    verdict = judge(incident)

    assert verdict.eligible
    assert (verdict.rule, verdict.month) == (None, None)
    assert "2024-05" in verdict.detail
    assert verdict.coverage_rule_version == "coverage/2015-07"


def test_an_incident_on_the_first_day_of_coverage_is_covered():
    assert judge(date(2024, 3, 1)).eligible


def test_a_month_not_yet_paid_on_the_assessment_day_is_not_covered_even_before_its_due_day():
    verdict = judge(date(2024, 3, 1), as_of=date(2024, 3, 4))  # March is paid on the 15th

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "month_not_covered", "2024-03")
    assert "due" in verdict.detail


def test_an_incident_on_the_last_day_of_the_program_window_is_covered():
    assert judge(date(2024, 12, 31)).eligible


# Arrears


def test_a_month_paid_late_inside_its_arrears_window_is_covered_when_assessed_after_payment():
    paid = {**ALL_PAID, "2024-05": date(2024, 8, 31)}  # the window of May closes on 31 Aug

    verdict = judge(date(2024, 5, 20), paid=paid, as_of=date(2024, 9, 2))

    assert verdict.eligible
    assert "paid_late" in verdict.detail


def test_the_same_month_assessed_before_its_arrears_were_paid_is_not_covered_naming_the_month():
    paid = {**ALL_PAID, "2024-05": date(2024, 8, 31)}

    verdict = judge(date(2024, 5, 20), paid=paid, as_of=date(2024, 8, 30))

    assert not verdict.eligible
    assert (verdict.rule, verdict.month) == ("month_not_covered", "2024-05")
    assert "arrears" in verdict.detail
    assert verdict.coverage_rule_version == "coverage/2015-07"


def test_a_month_paid_the_day_after_its_arrears_window_closed_is_not_covered():
    paid = {**ALL_PAID, "2024-05": date(2024, 9, 1)}

    verdict = judge(date(2024, 5, 20), paid=paid, as_of=date(2024, 10, 1))

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "month_not_covered", "2024-05")
    assert "paid_too_late" in verdict.detail


def test_a_month_never_paid_whose_window_closed_is_a_gap_and_not_covered():
    verdict = judge(date(2024, 5, 20), paid=without(ALL_PAID, "2024-05"),
                    as_of=date(2024, 10, 1))

    assert (verdict.rule, verdict.month) == ("month_not_covered", "2024-05")
    assert "gap" in verdict.detail


def test_a_month_not_covered_still_counts_the_covered_months_before_it():
    verdict = judge(date(2024, 6, 20), paid=without(ALL_PAID, "2024-06"),
                    as_of=date(2024, 10, 1))

    assert verdict.rule == "month_not_covered"
    assert verdict.contribution_months == 3  # March, April, May


# Lapse


def test_an_incident_on_the_first_day_of_the_lapse_is_refused_naming_the_lapse_month():
    lapsed = SITI._replace(lapsed_from="2024-07")
    paid = paid_on_time("2024-03", "2024-06")  # July to October never paid

    verdict = judge(date(2024, 7, 1), member=lapsed, paid=paid, as_of=date(2024, 11, 5))

    assert not verdict.eligible
    assert (verdict.rule, verdict.month) == ("lapsed_before_incident", "2024-07")


def test_the_last_covered_day_before_the_lapse_is_still_covered():
    lapsed = SITI._replace(lapsed_from="2024-07")
    paid = paid_on_time("2024-03", "2024-06")

    verdict = judge(date(2024, 6, 30), member=lapsed, paid=paid, as_of=date(2024, 11, 5))

    assert verdict.eligible
    assert verdict.contribution_months == 4


def test_an_incident_months_after_the_lapse_is_refused_from_the_first_lapsed_month():
    lapsed = SITI._replace(lapsed_from="2024-07")

    verdict = judge(date(2024, 11, 20), member=lapsed, paid=paid_on_time("2024-03", "2024-06"))

    assert (verdict.rule, verdict.month) == ("lapsed_before_incident", "2024-07")


# Membership


def test_a_participant_never_enrolled_is_refused_without_a_month():
    verdict = judge(date(2024, 5, 20), member=SITI._replace(coverage_start=None))

    assert not verdict.eligible
    assert (verdict.rule, verdict.month) == ("not_enrolled", None)
    assert verdict.contribution_months == 0


def test_an_incident_the_day_before_coverage_started_is_before_enrollment():
    late_start = SITI._replace(coverage_start=date(2024, 3, 15))

    verdict = judge(date(2024, 3, 14), member=late_start)

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "before_enrollment", "2024-03")
    assert "2024-03-15" in verdict.detail


def test_an_incident_the_day_after_termination_is_refused_naming_the_termination_month():
    moved = SITI._replace(terminated_on=date(2024, 6, 10))

    verdict = judge(date(2024, 6, 11), member=moved)

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "terminated_before_incident", "2024-06")


def test_an_incident_on_the_day_of_termination_is_still_covered():
    assert judge(date(2024, 6, 10), member=SITI._replace(terminated_on=date(2024, 6, 10))).eligible


def test_an_incident_after_the_program_window_is_refused_naming_its_month():
    verdict = judge(date(2025, 1, 1))

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "outside_program_window", "2025-01")
    assert "2024-12" in verdict.detail


def test_the_rules_are_checked_in_order_and_the_first_that_fails_names_itself():
    everything_wrong = Member(coverage_start=date(2024, 3, 1), terminated_on=date(2024, 5, 1),
                              lapsed_from="2024-04", program_last="2024-04")

    verdict = judge(date(2024, 6, 1), member=everything_wrong, paid={})

    assert verdict.rule == "terminated_before_incident"
    assert eligibility.RULES.index("terminated_before_incident") < \
        eligibility.RULES.index("lapsed_before_incident")


def test_a_lapse_is_named_before_the_program_window():
    verdict = judge(date(2025, 2, 1), member=SITI._replace(lapsed_from="2024-10"))

    assert verdict.rule == "lapsed_before_incident"


# JKK rights expire five years after the accident


def test_a_jkk_claim_reported_exactly_five_years_after_the_accident_is_in_time():
    verdict = judge(date(2024, 5, 20), benefit="JKK", reported_on=date(2029, 5, 20),
                    as_of=date(2029, 5, 21))

    assert verdict.eligible


def test_a_jkk_claim_reported_five_years_and_a_day_after_the_accident_has_expired():
    verdict = judge(date(2024, 5, 20), benefit="JKK", reported_on=date(2029, 5, 21),
                    as_of=date(2029, 5, 21))

    assert (verdict.eligible, verdict.rule, verdict.month) == \
        (False, "jkk_rights_expired", "2024-05")
    assert "2029-05-20" in verdict.detail
    assert verdict.contribution_months == 3


def test_a_late_jkm_report_does_not_expire():
    verdict = judge(date(2024, 5, 20), benefit="JKM", reported_on=date(2030, 1, 1),
                    as_of=date(2030, 1, 1))

    assert verdict.eligible


def test_the_rights_of_an_accident_on_29_february_expire_after_28_february_five_years_on():
    member = SITI._replace(coverage_start=date(2024, 1, 1))
    paid = paid_on_time("2024-01", "2024-12")

    in_time = judge(date(2024, 2, 29), member=member, paid=paid, benefit="JKK",
                    reported_on=date(2029, 2, 28), as_of=date(2029, 3, 1))
    expired = judge(date(2024, 2, 29), member=member, paid=paid, benefit="JKK",
                    reported_on=date(2029, 3, 1), as_of=date(2029, 3, 1))

    assert in_time.eligible
    assert (expired.rule, expired.month) == ("jkk_rights_expired", "2024-02")


# Contribution months (the scholarship needs 36)

THREE_YEARS = Member(coverage_start=date(2021, 1, 1), terminated_on=None, lapsed_from=None,
                     program_last="2024-12")
PAID_2021_TO_2023 = {p: coverage.due_date(p, COVER) for p in periods.between("2021-01", "2023-12")}


def test_36_months_paid_across_three_years_count_36_contribution_months():
    verdict = judge(date(2023, 12, 31), member=THREE_YEARS, paid=PAID_2021_TO_2023,
                    as_of=date(2024, 1, 5))

    assert verdict.eligible
    assert verdict.contribution_months == 36


def test_a_death_in_the_35th_month_counts_35():
    verdict = judge(date(2023, 11, 30), member=THREE_YEARS, paid=PAID_2021_TO_2023,
                    as_of=date(2024, 1, 5))

    assert verdict.contribution_months == 35


def test_months_paid_after_the_incident_month_do_not_count():
    verdict = judge(date(2023, 6, 1), member=THREE_YEARS, paid=PAID_2021_TO_2023,
                    as_of=date(2024, 1, 5))

    assert verdict.contribution_months == 30


def test_a_month_never_paid_does_not_count():
    verdict = judge(date(2023, 12, 31), member=THREE_YEARS,
                    paid=without(PAID_2021_TO_2023, "2022-05"), as_of=date(2024, 1, 5))

    assert verdict.eligible
    assert verdict.contribution_months == 35


def test_a_month_paid_too_late_does_not_count():
    paid = {**PAID_2021_TO_2023, "2022-05": date(2022, 9, 1)}

    verdict = judge(date(2023, 12, 31), member=THREE_YEARS, paid=paid, as_of=date(2024, 1, 5))

    assert verdict.contribution_months == 35


def test_a_payment_made_after_the_assessment_day_does_not_count_yet():
    paid = {**PAID_2021_TO_2023, "2023-12": date(2024, 1, 10)}  # arrears inside the window

    before = judge(date(2023, 12, 31), member=THREE_YEARS, paid=paid, as_of=date(2024, 1, 5))
    after = judge(date(2023, 12, 31), member=THREE_YEARS, paid=paid, as_of=date(2024, 1, 10))

    assert (before.eligible, before.rule, before.contribution_months) == \
        (False, "month_not_covered", 35)
    assert (after.eligible, after.contribution_months) == (True, 36)


def test_36_counted_months_earn_the_scholarship_and_35_do_not():
    children = [benefits.Child(level="SMA")]

    def scholarship(incident: date) -> list[str]:
        months = judge(incident, member=THREE_YEARS, paid=PAID_2021_TO_2023,
                       as_of=date(2024, 1, 5)).contribution_months
        lines = benefits.jkm_lines(benefits.ClaimFacts(
            outcome="death", declared_income_idr=1_000_000, contribution_months=months,
            children=children), RULES)
        return [line.component for line in lines if line.component.startswith("scholarship")]

    assert scholarship(date(2023, 12, 1)) == ["scholarship_child_1"]
    assert scholarship(date(2023, 11, 30)) == []
