"""Rules that policy may change, kept as data with the date they take effect.

Only the verification rules exist yet; tariffs, benefits and arrears windows
join this table in later work. A decision reads the version in force on its
business date so a replay years later reaches the same answer.
"""

from datetime import date

import msgspec


class VerificationRules(msgspec.Struct, frozen=True, kw_only=True):
    version: str
    effective_from: date
    name_match_threshold: int
    """Fuzzy score (0-100) at or above which two names count as the same person."""
    mother_name_match_threshold: int


VERIFICATION_RULES: tuple[VerificationRules, ...] = (
    VerificationRules(
        version="verification/2024-01",
        effective_from=date(2024, 1, 1),
        name_match_threshold=90,
        mother_name_match_threshold=85,
    ),
)

DEFAULT_ENROLLMENT_AGE_CAP = 65
"""DOMAIN.md: an age cap exists but its value is unconfirmed; programs may set their own."""


def verification_rules_on(day: date) -> VerificationRules:
    in_force = [r for r in VERIFICATION_RULES if r.effective_from <= day]
    if not in_force:
        return VERIFICATION_RULES[0]
    return max(in_force, key=lambda r: r.effective_from)
