"""Monthly contribution (iuran) of an informal (BPU) worker, as a versioned rule table.

The table is data: each version names the month it takes effect and its legal
basis, and a version is never edited once published; a new regulation is a new
version. Every computed amount carries the version it used (``Tariff.rule_version``),
so a bill replayed years later reaches the same figure.

JKK is 1% of declared income as a fixed amount per bracket (PP 44/2015 Lampiran II);
only the lowest bracket, which the government programs use, is confirmed here, and
a declared income with no bracket in the table is refused rather than guessed.
A discount applies to some occupations and funding sources only: PP 50/2025 gives
transport-sector BPU 50% off from January 2026 to March 2027 but excludes workers
paid from APBN or APBD, so a city's own program keeps the full Rp16,800.
Discounted amounts round down to the whole Rupiah.
"""

import msgspec

from ledger import periods
from ledger.errors import InvalidInput
from ledger.periods import Period

LOWEST_DECLARED_INCOME_IDR = 1_000_000


class JkkBracket(msgspec.Struct, frozen=True):
    declared_income_idr: int
    jkk_idr: int


class Discount(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    percent: int
    first_period: Period
    last_period: Period
    excluded_funding_sources: frozenset[str]
    occupation_keywords: tuple[str, ...]
    """Lower-case words of which an occupation must contain one (empty: every occupation)."""

    def applies(self, period: Period, funding_source: str, occupation: str) -> bool:
        if not self.first_period <= period <= self.last_period:
            return False
        if funding_source in self.excluded_funding_sources:
            return False
        words = occupation.lower()
        return not self.occupation_keywords or any(k in words for k in self.occupation_keywords)


class TariffRule(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    effective_from: Period
    legal_basis: str
    jkk_brackets: tuple[JkkBracket, ...]
    jkm_idr: int
    discounts: tuple[Discount, ...] = ()


class Tariff(msgspec.Struct, frozen=True, kw_only=True):
    """The contribution of one worker for one month, and how it was reached."""

    period: Period
    amount_idr: int
    jkk_idr: int
    jkm_idr: int
    rule_version: str
    discount: str | None = None


_BASE_BRACKETS = (JkkBracket(LOWEST_DECLARED_INCOME_IDR, 10_000),)
_TRANSPORT_WORDS = ("ojek", "bentor", "becak", "sopir", "pengemudi", "driver", "kurir",
                    "angkot", "transport")

TARIFF_RULES: tuple[TariffRule, ...] = (
    TariffRule(
        version="tariff/2015-07",
        effective_from="2015-07",
        legal_basis="PP 44/2015 Lampiran II (JKK by bracket), PP 44/2015 (JKM Rp6,800)",
        jkk_brackets=_BASE_BRACKETS,
        jkm_idr=6_800,
    ),
    TariffRule(
        version="tariff/2026-01",
        effective_from="2026-01",
        legal_basis="PP 50/2025: 50% off for transport-sector BPU, Jan 2026 - Mar 2027, "
                    "not for BPU paid from APBN/APBD",
        jkk_brackets=_BASE_BRACKETS,
        jkm_idr=6_800,
        discounts=(
            Discount(name="PP 50/2025 transport 50%", percent=50, first_period="2026-01",
                     last_period="2027-03",
                     excluded_funding_sources=frozenset({"APBN", "APBD"}),
                     occupation_keywords=_TRANSPORT_WORDS),
        ),
    ),
)


def rule_in_force(period: Period) -> TariffRule:
    in_force = [rule for rule in TARIFF_RULES if rule.effective_from <= period]
    if not in_force:
        raise InvalidInput(f"no tariff is in force for {period}; the earliest starts "
                           f"{TARIFF_RULES[0].effective_from}", field="period")
    return max(in_force, key=lambda rule: rule.effective_from)


def tariff_for(period: Period, funding_source: str, *,
               declared_income_idr: int = LOWEST_DECLARED_INCOME_IDR,
               occupation: str = "") -> Tariff:
    period = periods.parse(period)
    rule = rule_in_force(period)
    brackets = {b.declared_income_idr: b.jkk_idr for b in rule.jkk_brackets}
    if declared_income_idr not in brackets:
        raise InvalidInput(
            f"declared income Rp{declared_income_idr:,} is not a bracket of {rule.version} "
            f"(brackets: {sorted(brackets)})", field="declared_income_idr")
    jkk, jkm = brackets[declared_income_idr], rule.jkm_idr
    discount = next((d for d in rule.discounts
                     if d.applies(period, funding_source, occupation)), None)
    if discount is not None:
        jkk, jkm = jkk * (100 - discount.percent) // 100, jkm * (100 - discount.percent) // 100
    return Tariff(period=period, amount_idr=jkk + jkm, jkk_idr=jkk, jkm_idr=jkm,
                  rule_version=rule.version, discount=discount.name if discount else None)
