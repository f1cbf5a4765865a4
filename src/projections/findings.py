"""Findings: what finance teams and auditors chase, read from the contributions read models.

Each finding names its kind, program, participant (where one is to blame),
months and amount. Kinds, and what the amount is:

    paid_after_death        months paid after the month of death, not refunded: refund due
    paid_after_end          months paid after a termination or a lapse: refund due
    paid_too_late           months paid after their arrears window: no cover bought, refund due
    double_payment          a participant-month paid twice in this program: the extra is due back
    double_payment_programs a participant-month paid here and by another program for the same NIK
    paid_not_matched        a paid bill line for a NIK not matched (tidak padan) or not known
    paid_not_enrolled       a paid bill line for someone not enrolled (yet) in that month
    bill_amount_mismatch    a bill whose total is not its lines, or whose lines are not the tariff
    beyond_quota            more enrolled than the quota (in total or in a cohort)
    beyond_budget           more paid (net of refunds) from a funding source than its budget
    unpaid_active           enrolled, alive and not covered for months already due: the gap
                            that makes a claim fail; amount = those months at today's tariff

Member months are bit masks (``projections.contributions``), so the scan is one
indexed pass over one row per member; amounts come from the few rows found.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import date

import msgspec

from ledger import coverage, periods, tariffs
from ledger.storage import Tx
from projections.contributions import LINE_NIK_MASKED, MASK_MONTHS
from projections.sql import chunks

KINDS = ("paid_after_death", "paid_after_end", "paid_too_late", "double_payment",
         "double_payment_programs", "paid_not_matched", "paid_not_enrolled",
         "bill_amount_mismatch", "beyond_quota", "beyond_budget", "unpaid_active")
FULL_TARIFF_SOURCE = "APBD"
"""A government payer, which no discount applies to: what a missing month costs."""
_FLAG_KINDS = {"not_matched": "paid_not_matched", "unknown_participant": "paid_not_matched",
               "not_enrolled": "paid_not_enrolled", "before_enrollment": "paid_not_enrolled"}


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    program_id: str
    participant_id: str | None
    periods: list[str]
    amount_idr: int
    detail: str
    nik_masked: str | None = None
    bill_id: str | None = None


def findings(tx: Tx, program_id: str, as_of: date) -> list[Finding] | None:
    program = tx.fetchone("SELECT coverage_start, coverage_end, quota_total FROM "
                          "program_summary WHERE program_id = :program_id",
                          {"program_id": program_id})
    if program is None:
        return None
    base = periods.of(date.fromisoformat(program["coverage_start"]))
    window_end = periods.of(date.fromisoformat(program["coverage_end"]))
    found = (_member_findings(tx, program_id, base, window_end, as_of)
             + _across_programs(tx, program_id)
             + _flagged_lines(tx, program_id)
             + _bill_mismatches(tx, program_id)
             + _beyond_quota(tx, program_id, program["quota_total"])
             + _beyond_budget(tx, program_id))
    return sorted(found, key=lambda f: (KINDS.index(f.kind), f.periods, f.participant_id or "",
                                        f.bill_id or ""))


def _member_findings(tx: Tx, program_id: str, base: str, window_end: str,
                     as_of: date) -> list[Finding]:
    due_mask = _due_mask(base, window_end, as_of)
    rows = tx.fetchall(
        "SELECT participant_id, nik_masked, first_idx, end_idx, end_reason, paid_mask, "
        "covered_mask, double_mask FROM member_months WHERE program_id = :program_id AND ("
        "double_mask <> 0 OR paid_mask <> covered_mask "
        "OR (end_idx IS NOT NULL AND (paid_mask >> (end_idx + 1)) <> 0) "
        "OR (end_idx IS NULL AND (:due & ~covered_mask "
        "& ~((CAST(1 AS BIGINT) << first_idx) - 1)) <> 0))",
        {"program_id": program_id, "due": due_mask})
    paid = _paid_amounts(tx, [row["participant_id"] for row in rows
                              if row["paid_mask"] != row["covered_mask"] or row["double_mask"]
                              or row["end_idx"] is not None])
    # A late disbursement leaves thousands of members with the same months unpaid: their
    # months and what those cost are worked out once per distinct mask, not per member.
    months_of = _months_of_masks(base)
    unpaid_cost: dict[int, int] = {}
    found = []
    for row in rows:
        pid, nik = row["participant_id"], row["nik_masked"]
        end = row["end_idx"]
        after_end = row["paid_mask"] >> (end + 1) << (end + 1) if end is not None else 0
        late = row["paid_mask"] & ~row["covered_mask"] & ~after_end
        money = paid.get(pid, {})
        if after_end:
            months = months_of(after_end)
            died = row["end_reason"] == "died"
            found.append(Finding(
                kind="paid_after_death" if died else "paid_after_end", program_id=program_id,
                participant_id=pid, nik_masked=nik, periods=months,
                amount_idr=sum(sum(money.get(p, [])) for p in months),
                detail=f"paid for {len(months)} month(s) after membership ended "
                       f"({row['end_reason']}); refund due to the payer"))
        if late:
            months = months_of(late)
            found.append(Finding(
                kind="paid_too_late", program_id=program_id, participant_id=pid, nik_masked=nik,
                periods=months, amount_idr=sum(sum(money.get(p, [])) for p in months),
                detail="paid after the arrears window closed: no cover bought; refund due"))
        if row["double_mask"]:
            months = months_of(row["double_mask"])
            found.append(Finding(
                kind="double_payment", program_id=program_id, participant_id=pid, nik_masked=nik,
                periods=months, amount_idr=sum(sum(money.get(p, [])[1:]) for p in months),
                detail="the same participant-month paid more than once in this program"))
        if end is None:
            gap = due_mask & ~row["covered_mask"] & ~((1 << row["first_idx"]) - 1)
            if gap:
                months = months_of(gap)
                if gap not in unpaid_cost:
                    unpaid_cost[gap] = sum(tariffs.tariff_for(p, FULL_TARIFF_SOURCE).amount_idr
                                           for p in months)
                found.append(Finding(
                    kind="unpaid_active", program_id=program_id, participant_id=pid, nik_masked=nik,
                    periods=months, amount_idr=unpaid_cost[gap],
                    detail=f"enrolled and alive but not covered for {len(months)} month(s) "
                           f"already due; a claim in those months would fail"))
    return found


def _across_programs(tx: Tx, program_id: str) -> list[Finding]:
    """Only members whose NIK another program enrolled too (``nik_shared``) can be paid
    twice across programs: an index holds those few, so no join over every member."""
    rows = tx.fetchall(
        "SELECT a.participant_id AS participant_id, a.nik_masked AS nik_masked, "
        "a.base_period AS base, "
        "a.paid_mask AS paid, b.program_id AS other_program, b.base_period AS other_base, "
        "b.paid_mask AS other_paid FROM member_months a JOIN member_months b "
        "ON b.nik_hash = a.nik_hash AND b.program_id <> a.program_id "
        "WHERE a.program_id = :program_id AND a.nik_shared = 1 AND a.paid_mask <> 0 "
        "AND b.paid_mask <> 0", {"program_id": program_id})
    overlaps = []
    for row in rows:
        here = set(_periods(row["base"], row["paid"]))
        both = sorted(here & set(_periods(row["other_base"], row["other_paid"])))
        if both:
            overlaps.append((row, both))
    amounts = _paid_amounts(tx, [row["participant_id"] for row, _ in overlaps])
    return [Finding(
        kind="double_payment_programs", program_id=program_id,
        participant_id=row["participant_id"], nik_masked=row["nik_masked"], periods=both,
        amount_idr=sum(sum(amounts[row["participant_id"]].get(p, [])) for p in both),
        detail=f"the same NIK is paid for these months by program {row['other_program']} too")
        for row, both in overlaps]


def _flagged_lines(tx: Tx, program_id: str) -> list[Finding]:
    rows = tx.fetchall(
        "SELECT c.bill_id AS bill_id, c.line_no AS line_no, c.period AS period, "
        f"c.participant_id AS participant_id, {LINE_NIK_MASKED} AS nik_masked, "
        "c.amount_idr AS amount_idr, c.flags AS flags FROM contribution_months c "
        "LEFT JOIN participant_status s ON s.participant_id = c.participant_id "
        "WHERE c.program_id = :program_id AND c.flags <> '' AND c.payment_ref IS NOT NULL "
        "AND c.refund_ref IS NULL ORDER BY c.bill_id, c.line_no, c.period",
        {"program_id": program_id})
    lines: dict[tuple[str, int, str], list[dict]] = defaultdict(list)
    for row in rows:
        kinds = [_FLAG_KINDS[f] for f in row["flags"].split() if f in _FLAG_KINDS]
        if kinds:
            lines[(row["bill_id"], row["line_no"], kinds[0])].append(row)
    return [Finding(kind=kind, program_id=program_id, participant_id=group[0]["participant_id"],
                    nik_masked=group[0]["nik_masked"], periods=[r["period"] for r in group],
                    amount_idr=sum(r["amount_idr"] for r in group), bill_id=bill_id,
                    detail=f"line {line_no} of bill {bill_id} paid although flagged "
                           f"{group[0]['flags']}")
            for (bill_id, line_no, kind), group in lines.items()]


def _bill_mismatches(tx: Tx, program_id: str) -> list[Finding]:
    rows = tx.fetchall(
        "SELECT bill_id, first_period, months, stated_total_idr, billed_idr, not_tariff_idr "
        "FROM bill_summary WHERE program_id = :program_id "
        "AND (stated_total_idr <> billed_idr OR not_tariff_idr <> 0)",
        {"program_id": program_id})
    found = []
    for row in rows:
        reasons = []
        if row["stated_total_idr"] != row["billed_idr"]:
            reasons.append(f"states Rp{row['stated_total_idr']:,} but its lines add up to "
                           f"Rp{row['billed_idr']:,}")
        if row["not_tariff_idr"]:
            reasons.append(f"lines worth Rp{row['not_tariff_idr']:,} are not at the tariff")
        found.append(Finding(
            kind="bill_amount_mismatch", program_id=program_id, participant_id=None,
            periods=periods.span(row["first_period"], row["months"]), bill_id=row["bill_id"],
            amount_idr=abs(row["stated_total_idr"] - row["billed_idr"])
            + row["not_tariff_idr"], detail=f"bill {row['bill_id']} " + " and ".join(reasons)))
    return found


def _beyond_quota(tx: Tx, program_id: str, quota_total: int) -> list[Finding]:
    cohorts = tx.fetchall(
        "SELECT s.cohort AS cohort, s.enrolled AS enrolled, q.quota AS quota "
        "FROM program_cohort_status s LEFT JOIN program_cohort_quota q "
        "ON q.program_id = s.program_id AND q.cohort = s.cohort "
        "WHERE s.program_id = :program_id", {"program_id": program_id})
    over = [(f"cohort {c['cohort']}", c["enrolled"], c["quota"]) for c in cohorts
            if c["quota"] is not None and c["enrolled"] > c["quota"]]
    enrolled = sum(c["enrolled"] for c in cohorts)
    if enrolled > quota_total:
        over.insert(0, ("the program", enrolled, quota_total))
    return [Finding(kind="beyond_quota", program_id=program_id, participant_id=None,
                    periods=[], amount_idr=0,
                    detail=f"{what} has {n:,} enrolled against a quota of {quota:,}")
            for what, n, quota in over]


def _beyond_budget(tx: Tx, program_id: str) -> list[Finding]:
    rows = tx.fetchall(
        "SELECT f.funding_source AS funding_source, f.paid_idr - f.refunded_idr AS spent, "
        "COALESCE(b.amount_idr, 0) AS budget FROM program_funding f LEFT JOIN program_budget b "
        "ON b.program_id = f.program_id AND b.funding_source = f.funding_source "
        "WHERE f.program_id = :program_id", {"program_id": program_id})
    return [Finding(kind="beyond_budget", program_id=program_id, participant_id=None,
                    periods=[], amount_idr=int(row["spent"]) - int(row["budget"]),
                    detail=f"{row['funding_source']} paid Rp{int(row['spent']):,} against a "
                           f"budget of Rp{int(row['budget']):,}")
            for row in rows if int(row["spent"]) > int(row["budget"])]


def _due_mask(base: str, window_end: str, as_of: date) -> int:
    """Bits of every month of the coverage window whose contribution was due before
    ``as_of`` (after the window nothing is due: a year later the program is not owed)."""
    last_due = periods.of(as_of)
    if as_of <= coverage.due_date(last_due, coverage.rules_in_force(last_due)):
        last_due = periods.shift(last_due, -1)
    last_due = min(last_due, window_end)
    count = min(periods.months_from(base, last_due) + 1, MASK_MONTHS)
    return (1 << count) - 1 if count > 0 else 0


def _months_of_masks(base: str) -> Callable[[int], list[str]]:
    """``_periods`` for one base, remembered per mask (each finding gets its own list)."""
    known: dict[int, list[str]] = {}

    def months_of(mask: int) -> list[str]:
        if mask not in known:
            known[mask] = _periods(base, mask)
        return list(known[mask])

    return months_of


def _periods(base: str, mask: int) -> list[str]:
    return [periods.shift(base, i) for i in range(MASK_MONTHS) if mask >> i & 1]


def _paid_amounts(tx: Tx, participant_ids: list[str]) -> dict[str, dict[str, list[int]]]:
    """Standing payments per participant and month (a list: a month paid twice has two)."""
    amounts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for chunk in chunks(sorted(set(participant_ids))):
        condition, params = tx.any_of("participant_id", chunk)
        for row in tx.fetchall(
                "SELECT participant_id, period, amount_idr FROM contribution_months "
                f"WHERE {condition} AND payment_ref IS NOT NULL AND refund_ref IS NULL "
                "ORDER BY participant_id, period, paid_on", params):
            amounts[row["participant_id"]][row["period"]].append(row["amount_idr"])
    return amounts


