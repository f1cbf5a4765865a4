"""What a JKM or JKK claim pays, as benefit lines computed from a versioned rule table.

The rules in force on the incident date decide the amounts (PP 82/2019 for both
programs; PP 44/2015 for the JKK structure), and every line records the rule
version, so a claim assessed again years later reaches the same figures.

JKM (death not caused by work): a lump sum, the periodic benefit paid at once
and the funeral cost; a scholarship for up to two children only after at least
36 months of contributions. JKK (work accident): medical care at actual cost,
transport at actual cost within a cap per mode, temporary incapacity (STMB) at
100% of declared income for the first 12 months and 50% after, total permanent
disability 56 x declared income, and death 48 x declared income plus funeral
and periodic benefit, with a scholarship that needs no minimum period.
"""

from datetime import date
from typing import Literal

import msgspec

from ledger.errors import InvalidInput
from ledger.events import BenefitLine

JkkOutcome = Literal["treatment", "temporary_incapacity", "total_disability", "death"]
TransportMode = Literal["land", "sea", "air"]
SchoolLevel = Literal["TK_SD", "SMP", "SMA", "PT"]


class BenefitRules(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    effective_from: date
    legal_basis: str
    jkm_lump_sum_idr: int
    jkm_periodic_idr: int
    funeral_idr: int
    scholarship_min_contribution_months: int
    scholarship_per_year_idr: dict[str, int]
    scholarship_max_children: int
    scholarship_cap_idr: int
    jkk_death_income_multiple: int
    jkk_total_disability_income_multiple: int
    stmb_full_months: int
    stmb_after_percent: int
    transport_cap_idr: dict[str, int]
    jkk_rights_years: int
    jkm_due_working_days: int
    jkk_due_working_days: int
    jkk_late_percent_per_day: int


BENEFIT_RULES: tuple[BenefitRules, ...] = (
    BenefitRules(
        version="benefits/2019-12",
        effective_from=date(2019, 12, 2),
        legal_basis="PP 82/2019 amending PP 44/2015 (JKK, JKM)",
        jkm_lump_sum_idr=20_000_000,
        jkm_periodic_idr=12_000_000,
        funeral_idr=10_000_000,
        scholarship_min_contribution_months=36,
        scholarship_per_year_idr={"TK_SD": 1_500_000, "SMP": 2_000_000, "SMA": 3_000_000,
                                  "PT": 12_000_000},
        scholarship_max_children=2,
        scholarship_cap_idr=174_000_000,
        jkk_death_income_multiple=48,
        jkk_total_disability_income_multiple=56,
        stmb_full_months=12,
        stmb_after_percent=50,
        transport_cap_idr={"land": 5_000_000, "sea": 2_000_000, "air": 10_000_000},
        jkk_rights_years=5,
        jkm_due_working_days=3,
        jkk_due_working_days=7,
        jkk_late_percent_per_day=1,
    ),
)


class TransportCost(msgspec.Struct, frozen=True, kw_only=True):
    mode: TransportMode
    cost_idr: int


class Child(msgspec.Struct, frozen=True, kw_only=True):
    level: SchoolLevel


class ClaimFacts(msgspec.Struct, frozen=True, kw_only=True):
    """What an assessment knows beyond the rules: the outcome and the costs shown."""

    outcome: JkkOutcome
    declared_income_idr: int
    contribution_months: int
    medical_cost_idr: int = 0
    transport: list[TransportCost] = []
    incapacity_months: int = 0
    children: list[Child] = []


def rules_on(day: date) -> BenefitRules:
    in_force = [r for r in BENEFIT_RULES if r.effective_from <= day]
    if not in_force:
        raise InvalidInput(f"no benefit rules are in force on {day}; the earliest start "
                           f"{BENEFIT_RULES[0].effective_from}", field="incident_date")
    return max(in_force, key=lambda r: r.effective_from)


def jkm_lines(facts: ClaimFacts, rules: BenefitRules) -> list[BenefitLine]:
    """A death not caused by work."""
    lines = [_line("jkm_lump_sum", rules.jkm_lump_sum_idr, "santunan sekaligus", rules),
             _line("jkm_periodic", rules.jkm_periodic_idr,
                   "santunan berkala, 24 months paid at once", rules),
             _line("funeral", rules.funeral_idr, "biaya pemakaman", rules)]
    if facts.contribution_months >= rules.scholarship_min_contribution_months:
        lines += _scholarship(facts, rules)
    return lines


def jkk_lines(facts: ClaimFacts, rules: BenefitRules) -> list[BenefitLine]:
    _check_costs(facts, rules)
    income = facts.declared_income_idr
    lines = []
    if facts.medical_cost_idr:
        lines.append(_line("medical", facts.medical_cost_idr, "actual cost, no ceiling", rules))
    for cost in facts.transport:
        cap = rules.transport_cap_idr[cost.mode]
        lines.append(_line(f"transport_{cost.mode}", min(cost.cost_idr, cap),
                           f"actual cost Rp{cost.cost_idr:,}, capped at Rp{cap:,}", rules))
    if facts.incapacity_months:
        full = min(facts.incapacity_months, rules.stmb_full_months)
        half = facts.incapacity_months - full
        lines.append(_line("temporary_incapacity",
                           full * income + half * income * rules.stmb_after_percent // 100,
                           f"{full} month(s) at 100% and {half} at "
                           f"{rules.stmb_after_percent}% of Rp{income:,}", rules))
    if facts.outcome == "total_disability":
        multiple = rules.jkk_total_disability_income_multiple
        lines.append(_line("total_disability", multiple * income,
                           f"{multiple} x declared income Rp{income:,}", rules))
    if facts.outcome == "death":
        multiple = rules.jkk_death_income_multiple
        lines += [_line("jkk_death", multiple * income,
                        f"{multiple} x declared income Rp{income:,}", rules),
                  _line("funeral", rules.funeral_idr, "biaya pemakaman", rules),
                  _line("jkk_periodic", rules.jkm_periodic_idr,
                        "santunan berkala, 24 months paid at once", rules)]
        lines += _scholarship(facts, rules)
    return lines


def _scholarship(facts: ClaimFacts, rules: BenefitRules) -> list[BenefitLine]:
    """This year's scholarship for at most two children, within the lifetime cap."""
    lines, total = [], 0
    for number, child in enumerate(facts.children[:rules.scholarship_max_children], start=1):
        amount = min(rules.scholarship_per_year_idr[child.level],
                     rules.scholarship_cap_idr - total)
        total += amount
        lines.append(_line(f"scholarship_child_{number}", amount,
                           f"beasiswa {child.level}, one year", rules))
    return lines


def _check_costs(facts: ClaimFacts, rules: BenefitRules) -> None:
    if facts.medical_cost_idr < 0:
        raise InvalidInput("medical_cost_idr must not be negative", field="medical_cost_idr")
    if any(cost.cost_idr <= 0 for cost in facts.transport):
        raise InvalidInput("each transport cost must be a positive amount", field="transport")
    if facts.incapacity_months < 0:
        raise InvalidInput("incapacity_months must not be negative", field="incapacity_months")
    if facts.declared_income_idr <= 0:
        raise InvalidInput("declared_income_idr must be positive", field="declared_income_idr")


def _line(component: str, amount_idr: int, basis: str, rules: BenefitRules) -> BenefitLine:
    return BenefitLine(component=component, amount_idr=amount_idr, basis=basis,
                       rule_version=rules.version)
