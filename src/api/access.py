"""Who may call what: every route of the API, by method and path template, with the roles
allowed on it (docs/access.md). A route missing here is refused to everyone, and
tests/api/test_access.py fails on it: every new route needs a decision.

The first role of each entry is the one whose job the route is; the auditor reads every
route and writes none. Scope (which regions) is checked apart, in api/auth.py.
"""

from ledger.tokens import ADMIN, AUDITOR, CLAIMS_OFFICER, ENROLLMENT_CLERK, FINANCE_OFFICER

PUBLIC_PATHS = frozenset({"/health", "/ready", "/metrics"})
"""Probes and metrics answer without a token: load balancers and scrapers hold none."""
PUBLIC_PREFIX = "/schema"
"""The OpenAPI document and its viewers: they describe the API, they hold no data."""

_PROGRAM = "/programs/{program_id}"
_PARTICIPANT = _PROGRAM + "/participants/{participant_id}"
_BILLS = _PROGRAM + "/bills"
_CLAIM = _PROGRAM + "/claims/{claim_id}"
_REPLAY = "/replay/programs/{program_id}"

EVERYONE = (ENROLLMENT_CLERK, FINANCE_OFFICER, CLAIMS_OFFICER, ADMIN, AUDITOR)
PARTICIPANT_READERS = (ENROLLMENT_CLERK, CLAIMS_OFFICER, AUDITOR)
COVERAGE_READERS = (FINANCE_OFFICER, CLAIMS_OFFICER, ENROLLMENT_CLERK, AUDITOR)
CLAIM_STEPS = ("documents", "heirs", "assessment", "approval", "rejection", "payouts",
               "closure", "reopening")

PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # Programs: the agreement itself is the admin's; everyone reads where it stands.
    ("POST", "/programs"): (ADMIN,),
    ("GET", _PROGRAM): EVERYONE,
    ("GET", _PROGRAM + "/backlog"): (ENROLLMENT_CLERK, ADMIN, AUDITOR),
    ("POST", _PROGRAM + "/quota-revisions"): (ADMIN,),
    ("POST", _PROGRAM + "/budget-revisions"): (ADMIN,),
    # Participants and imports: the enrollment clerk's.
    ("POST", _PROGRAM + "/participants"): (ENROLLMENT_CLERK,),
    ("GET", _PROGRAM + "/participants"): PARTICIPANT_READERS,
    ("GET", _PARTICIPANT): PARTICIPANT_READERS,
    **{("POST", f"{_PARTICIPANT}/{step}"): (ENROLLMENT_CLERK,)
       for step in ("corrections", "verification", "verification-results", "enrollment",
                    "termination")},
    **{("POST", f"{_PROGRAM}/imports/{kind}"): (ENROLLMENT_CLERK,)
       for kind in ("candidates", "registry", "kpj")},
    # Bills, payments and lapses: the finance officer's.
    ("POST", _BILLS): (FINANCE_OFFICER,),
    ("GET", _BILLS): (FINANCE_OFFICER, AUDITOR),
    ("GET", _BILLS + "/{bill_id}"): (FINANCE_OFFICER, AUDITOR),
    ("POST", _BILLS + "/import"): (FINANCE_OFFICER,),
    **{("POST", f"{_BILLS}/{{bill_id}}/{step}"): (FINANCE_OFFICER,)
       for step in ("payments", "reversals", "refunds")},
    ("POST", _PROGRAM + "/lapses"): (FINANCE_OFFICER,),
    ("GET", _PARTICIPANT + "/coverage"): COVERAGE_READERS,
    ("GET", _PROGRAM + "/reports/budget"): (FINANCE_OFFICER, AUDITOR),
    ("GET", _PROGRAM + "/reports/findings"): (FINANCE_OFFICER, AUDITOR),
    # Claims and payouts: the claims officer's.
    ("POST", _PARTICIPANT + "/claims"): (CLAIMS_OFFICER,),
    ("GET", _PROGRAM + "/claims"): (CLAIMS_OFFICER, AUDITOR),
    ("GET", _CLAIM): (CLAIMS_OFFICER, AUDITOR),
    **{("POST", f"{_CLAIM}/{step}"): (CLAIMS_OFFICER,) for step in CLAIM_STEPS},
    ("GET", _PROGRAM + "/reports/claims"): (CLAIMS_OFFICER, AUDITOR),
    # History and replay: the auditor's.
    ("GET", "/streams/{stream_id}/history"): (AUDITOR,),
    ("GET", _REPLAY + "/participants/{participant_id}"): (AUDITOR,),
    ("GET", _REPLAY + "/claims/{claim_id}"): (AUDITOR,),
    ("GET", _REPLAY + "/budget"): (AUDITOR,),
    ("GET", _REPLAY + "/findings"): (AUDITOR,),
}


def is_public(path_template: str) -> bool:
    return path_template in PUBLIC_PATHS or path_template.startswith(PUBLIC_PREFIX)


def allowed_roles(method: str, path_template: str) -> tuple[str, ...]:
    """The roles that may call this route; none for a route without a decision."""
    return PERMISSIONS.get((method, path_template), ())
