from datetime import date

import msgspec
import pytest

from ledger import benefits
from ledger.benefits import Child, ClaimFacts, TransportCost
from ledger.errors import InvalidInput

RULES = benefits.rules_on(date(2024, 6, 1))
INCOME = 1_000_000  # the lowest bracket, which government programs pay for


def facts(outcome="treatment", contribution_months=12, **changes) -> ClaimFacts:
    return ClaimFacts(outcome=outcome, declared_income_idr=INCOME,
                      contribution_months=contribution_months, **changes)


def amounts(lines) -> dict[str, int]:
    return {line.component: line.amount_idr for line in lines}


# The rule table


def test_the_rules_in_force_are_pp_82_2019_from_2_december_2019():
    assert RULES.version == "benefits/2019-12"
    assert RULES.effective_from == date(2019, 12, 2)
    assert benefits.rules_on(date(2019, 12, 2)) is RULES


def test_an_incident_before_the_first_rule_table_has_no_rules_and_is_refused_by_its_date():
    with pytest.raises(InvalidInput) as refused:
        benefits.rules_on(date(2019, 12, 1))

    assert refused.value.field == "incident_date"
    assert "2019-12-02" in refused.value.detail


def test_a_later_rule_table_takes_over_from_its_effective_date_only(monkeypatch):
    later = msgspec.structs.replace(RULES, version="benefits/2030-01",
                                    effective_from=date(2030, 1, 1), funeral_idr=15_000_000)
    monkeypatch.setattr(benefits, "BENEFIT_RULES", (*benefits.BENEFIT_RULES, later))

    assert benefits.rules_on(date(2029, 12, 31)).version == "benefits/2019-12"
    assert benefits.rules_on(date(2030, 1, 1)).funeral_idr == 15_000_000


# JKM: death not caused by work


def test_a_jkm_death_pays_20m_lump_sum_12m_periodic_and_10m_funeral_42m_in_all():
    lines = benefits.jkm_lines(facts("death", contribution_months=12), RULES)

    assert amounts(lines) == {"jkm_lump_sum": 20_000_000, "jkm_periodic": 12_000_000,
                              "funeral": 10_000_000}
    assert sum(line.amount_idr for line in lines) == 42_000_000


def test_with_35_months_of_contributions_a_jkm_death_pays_no_scholarship():
    lines = benefits.jkm_lines(facts("death", contribution_months=35,
                                     children=[Child(level="SMP")]), RULES)

    assert not [line for line in lines if line.component.startswith("scholarship")]
    assert sum(line.amount_idr for line in lines) == 42_000_000


def test_with_exactly_36_months_of_contributions_a_jkm_death_pays_the_scholarship():
    lines = benefits.jkm_lines(facts("death", contribution_months=36,
                                     children=[Child(level="SMP")]), RULES)

    assert amounts(lines)["scholarship_child_1"] == 2_000_000
    assert sum(line.amount_idr for line in lines) == 44_000_000


def test_a_jkm_scholarship_without_children_adds_no_line():
    lines = benefits.jkm_lines(facts("death", contribution_months=60), RULES)

    assert len(lines) == 3


@pytest.mark.parametrize(("level", "per_year"), [
    ("TK_SD", 1_500_000), ("SMP", 2_000_000), ("SMA", 3_000_000), ("PT", 12_000_000),
])
def test_a_scholarship_pays_one_year_at_the_amount_of_the_childs_school_level(level, per_year):
    lines = benefits.jkm_lines(facts("death", contribution_months=36,
                                     children=[Child(level=level)]), RULES)

    scholarship = next(line for line in lines if line.component == "scholarship_child_1")
    assert scholarship.amount_idr == per_year
    assert level in scholarship.basis


def test_a_scholarship_goes_to_two_children_at_most_the_first_two_named():
    children = [Child(level="PT"), Child(level="SMA"), Child(level="TK_SD")]

    lines = benefits.jkm_lines(facts("death", contribution_months=48, children=children), RULES)

    assert {c: a for c, a in amounts(lines).items() if c.startswith("scholarship")} == {
        "scholarship_child_1": 12_000_000, "scholarship_child_2": 3_000_000}


def test_a_scholarship_never_pays_beyond_the_lifetime_cap():
    small_cap = msgspec.structs.replace(RULES, scholarship_cap_idr=13_000_000)
    children = [Child(level="PT"), Child(level="SMA")]

    lines = benefits.jkm_lines(facts("death", contribution_months=48, children=children),
                               small_cap)

    assert amounts(lines)["scholarship_child_1"] == 12_000_000
    assert amounts(lines)["scholarship_child_2"] == 1_000_000


# JKK: work accident


def test_a_jkk_death_pays_48_times_income_funeral_and_periodic():
    lines = benefits.jkk_lines(facts("death", contribution_months=1), RULES)

    assert amounts(lines) == {"jkk_death": 48_000_000, "funeral": 10_000_000,
                              "jkk_periodic": 12_000_000}


def test_a_jkk_death_pays_the_scholarship_with_no_minimum_contribution_period():
    children = [Child(level="TK_SD"), Child(level="SMA")]

    lines = benefits.jkk_lines(facts("death", contribution_months=1, children=children), RULES)

    assert amounts(lines)["scholarship_child_1"] == 1_500_000
    assert amounts(lines)["scholarship_child_2"] == 3_000_000


def test_jkk_death_scales_with_declared_income():
    lines = benefits.jkk_lines(msgspec.structs.replace(facts("death"),
                                                       declared_income_idr=2_500_000), RULES)

    assert amounts(lines)["jkk_death"] == 120_000_000


def test_total_permanent_disability_pays_56_times_declared_income():
    lines = benefits.jkk_lines(facts("total_disability"), RULES)

    assert amounts(lines) == {"total_disability": 56_000_000}
    assert "funeral" not in amounts(lines)


@pytest.mark.parametrize(("months", "paid"), [
    (1, 1_000_000),
    (12, 12_000_000),               # the last month at 100%
    (13, 12_000_000 + 500_000),     # the first month at 50%
    (24, 12_000_000 + 6_000_000),
])
def test_temporary_incapacity_pays_100_percent_for_12_months_then_50(months, paid):
    lines = benefits.jkk_lines(facts(incapacity_months=months), RULES)

    assert amounts(lines)["temporary_incapacity"] == paid


def test_temporary_incapacity_at_half_an_odd_income_rounds_down_to_the_rupiah():
    odd = msgspec.structs.replace(facts(incapacity_months=13), declared_income_idr=1_000_001)

    lines = benefits.jkk_lines(odd, RULES)

    assert amounts(lines)["temporary_incapacity"] == 12 * 1_000_001 + 500_000


def test_medical_care_is_paid_at_actual_cost_with_no_ceiling():
    lines = benefits.jkk_lines(facts(medical_cost_idr=987_654_321), RULES)

    assert amounts(lines) == {"medical": 987_654_321}


def test_a_treatment_without_costs_pays_nothing():
    assert benefits.jkk_lines(facts(), RULES) == []


@pytest.mark.parametrize(("mode", "cap"), [("land", 5_000_000), ("sea", 2_000_000),
                                           ("air", 10_000_000)])
def test_transport_is_capped_per_mode(mode, cap):
    over = benefits.jkk_lines(facts(transport=[TransportCost(mode=mode, cost_idr=cap + 1)]),
                              RULES)
    at = benefits.jkk_lines(facts(transport=[TransportCost(mode=mode, cost_idr=cap)]), RULES)
    under = benefits.jkk_lines(facts(transport=[TransportCost(mode=mode, cost_idr=cap - 1)]),
                               RULES)

    assert amounts(over) == {f"transport_{mode}": cap}
    assert amounts(at) == {f"transport_{mode}": cap}
    assert amounts(under) == {f"transport_{mode}": cap - 1}


def test_a_capped_transport_line_says_what_it_cost_and_the_cap():
    line, = benefits.jkk_lines(facts(transport=[TransportCost(mode="sea", cost_idr=3_500_000)]),
                               RULES)

    assert "3,500,000" in line.basis and "2,000,000" in line.basis


def test_each_mode_of_transport_is_its_own_line():
    lines = benefits.jkk_lines(facts(transport=[TransportCost(mode="land", cost_idr=750_000),
                                                TransportCost(mode="air", cost_idr=12_000_000)]),
                               RULES)

    assert amounts(lines) == {"transport_land": 750_000, "transport_air": 10_000_000}


def test_an_accident_with_care_transport_and_incapacity_pays_them_all():
    lines = benefits.jkk_lines(facts(
        medical_cost_idr=4_200_000, transport=[TransportCost(mode="land", cost_idr=300_000)],
        incapacity_months=3), RULES)

    assert amounts(lines) == {"medical": 4_200_000, "transport_land": 300_000,
                              "temporary_incapacity": 3_000_000}


# Every line carries its rule version


def test_every_jkm_and_jkk_line_carries_the_rule_version():
    jkm = benefits.jkm_lines(facts("death", contribution_months=40,
                                   children=[Child(level="SMA")]), RULES)
    jkk = benefits.jkk_lines(facts("death", medical_cost_idr=1, incapacity_months=2,
                                   transport=[TransportCost(mode="air", cost_idr=1)],
                                   children=[Child(level="PT")]), RULES)

    assert len(jkm) == 4 and len(jkk) == 7
    assert {line.rule_version for line in jkm + jkk} == {"benefits/2019-12"}
    assert all(line.basis for line in jkm + jkk)


# Refusals


@pytest.mark.parametrize(("changes", "field"), [
    (dict(medical_cost_idr=-1), "medical_cost_idr"),
    (dict(transport=[TransportCost(mode="land", cost_idr=-5)]), "transport"),
    (dict(incapacity_months=-1), "incapacity_months"),
])
def test_a_negative_cost_or_period_is_refused_naming_the_field(changes, field):
    with pytest.raises(InvalidInput) as refused:
        benefits.jkk_lines(facts(**changes), RULES)

    assert refused.value.field == field


@pytest.mark.parametrize("income", [0, -1_000_000])
def test_a_jkk_claim_without_a_positive_declared_income_is_refused(income):
    with pytest.raises(InvalidInput) as refused:
        benefits.jkk_lines(msgspec.structs.replace(facts("total_disability"),
                                                   declared_income_idr=income), RULES)

    assert refused.value.field == "declared_income_idr"
