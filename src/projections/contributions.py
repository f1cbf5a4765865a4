"""Contributions: bills, payments and refunds, and every member's paid months.

Owns ``bill_summary``, ``bill_payments``, ``bill_refunds``, ``contribution_months``
(one row per participant-month on a bill line, with the payment settling it),
``member_months`` (per enrolled member: bit masks of paid, covered and doubly
paid months over the program's coverage window, and where membership ended),
``program_months`` and ``program_funding`` (billed, paid, refunded per month and
per funding source). A payment is a handful of set-based statements however
many lines it settles; reversals and refunds, which are rare, recompute the
masks of the members they touch from ``contribution_months``.

It reads ``program_summary`` and ``participant_status`` for a member's program
window and NIK, so it runs after the programs and participants projections.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date

from ledger import coverage, periods
from ledger.events import (
    BillIssued,
    ParticipantEnrolled,
    ParticipantLapsed,
    ParticipantTerminated,
    PaymentRecorded,
    PaymentReversed,
    PersonalFields,
    RefundRecorded,
)
from ledger.personal_data import masked_nik
from ledger.storage import Tx
from ledger.store import Recorded
from projections.sql import chunks

MASK_MONTHS = 62
"""Months a mask can hold (a signed 64-bit integer); later months are not tracked."""
MONTH_COLUMNS = ("program_id", "bill_id", "line_no", "period", "participant_id",
                 "nik_masked", "amount_idr", "rule_version", "flags")
"""What a bill line's month starts with; payment_ref, paid_on, refund_ref and refunded_on
start NULL (their default), so they are left out of the bill's 35,000-row COPY."""
MEMBER_COLUMNS = ("participant_id", "program_id", "nik_hash", "nik_masked", "base_period",
                  "first_idx", "paid_mask", "covered_mask", "double_mask", "nik_shared")
"""What a new member's months start with; end_idx and end_reason start NULL."""
LINE_NIK_MASKED = "COALESCE(NULLIF(c.nik_masked, ''), s.nik_masked, '')"
"""A bill line's masked NIK, for a query over ``contribution_months c LEFT JOIN
participant_status s`` on the participant: the one its file gave, else its member's (a
generated bill's lines name the participant, not the NIK)."""
_EVENTS = (BillIssued, PaymentRecorded, PaymentReversed, RefundRecorded, ParticipantEnrolled,
           ParticipantTerminated, ParticipantLapsed)


class ContributionsProjection:
    name = "contributions"
    tables = ("bill_summary", "bill_payments", "bill_refunds", "contribution_months",
              "member_months", "program_months", "program_funding")
    indexed_for_readers: tuple[str, ...] = ()
    personal_fields: PersonalFields = {BillIssued.TYPE: (("lines", "*", "nik"),)}
    sealed_fields: PersonalFields = {}
    event_types = _EVENTS
    summed_tables: tuple[str, ...] = ()
    by_stream = False  # a bill's payment settles months of many members
    reads_from = ("programs", "participants")
    bulk_types = (BillIssued, PaymentRecorded, PaymentReversed, RefundRecorded)

    def apply(self, tx: Tx, batch: Sequence[Recorded]) -> None:
        enrolled: list[tuple[str, ParticipantEnrolled]] = []
        for recorded in batch:
            event = recorded.event
            if isinstance(event, ParticipantEnrolled):
                enrolled.append((str(recorded.stream_id), event))
                continue
            if not isinstance(event, _EVENTS):
                continue
            if enrolled:  # an import enrolls thousands in a row: write them set-based
                _enrolled(tx, enrolled)
                enrolled = []
            match event:
                case BillIssued():
                    _issued(tx, recorded, event)
                case PaymentRecorded():
                    _paid(tx, _bill_of(tx, recorded), event)
                case PaymentReversed():
                    _reversed(tx, _bill_of(tx, recorded), event)
                case RefundRecorded():
                    _refunded(tx, _bill_of(tx, recorded), event)
                case ParticipantTerminated():
                    _ended(tx, str(recorded.stream_id), event.effective_date, event.reason)
                case ParticipantLapsed():
                    _ended(tx, str(recorded.stream_id),
                           periods.last_day(periods.shift(event.lapsed_from, -1)), "lapsed")
        if enrolled:
            _enrolled(tx, enrolled)


def month_bit(base_period: str, period: str) -> int:
    """The mask bit of ``period`` in a window starting at ``base_period`` (0: not tracked)."""
    index = periods.months_from(base_period, period)
    return 1 << index if 0 <= index < MASK_MONTHS else 0


def _issued(tx: Tx, recorded: Recorded, event: BillIssued) -> None:
    billed: dict[str, int] = defaultdict(int)
    rows = []
    program_id, bill_id = event.program_id, event.bill_id
    for number, line in enumerate(event.lines, start=1):
        monthly = line.amount_idr // line.months
        flags = " ".join(line.flags)
        nik = masked_nik(line.nik) if line.nik else ""
        months = (line.first_period,) if line.months == 1 else periods.span(
            line.first_period, line.months)
        for period in months:
            billed[period] += monthly
            rows.append({"program_id": program_id, "bill_id": bill_id,
                         "line_no": number, "period": period,
                         "participant_id": line.participant_id, "nik_masked": nik,
                         "amount_idr": monthly, "rule_version": line.rule_version,
                         "flags": flags})
    tx.insert_many("contribution_months", MONTH_COLUMNS, rows)
    tx.execute(
        "INSERT INTO bill_summary (program_id, bill_id, stream_id, source, document_ref, "
        "issued_on, issued_position, funding_source, first_period, months, lines, "
        "flagged_lines, stated_total_idr, billed_idr, not_tariff_idr, paid_idr, refunded_idr) "
        "VALUES (:program_id, :bill_id, :stream_id, :source, :document_ref, :issued_on, "
        ":position, :funding_source, :first_period, :months, :lines, :flagged, :stated, "
        ":billed, :not_tariff, 0, 0)",
        {"program_id": event.program_id, "bill_id": event.bill_id,
         "stream_id": str(recorded.stream_id), "source": event.source,
         "document_ref": event.document_ref, "issued_on": event.issued_on.isoformat(),
         "position": recorded.position, "funding_source": event.funding_source,
         "first_period": event.first_period, "months": event.months,
         "lines": len(event.lines), "flagged": sum(1 for line in event.lines if line.flags),
         "stated": event.stated_total_idr, "billed": sum(billed.values()),
         "not_tariff": sum(line.amount_idr for line in event.lines
                           if "amount_not_tariff" in line.flags)})
    _add_months(tx, event.program_id, "billed_idr", billed)
    _add_funding(tx, event.program_id, event.funding_source, "billed_idr", sum(billed.values()))


def _paid(tx: Tx, bill: dict, event: PaymentRecorded) -> None:
    key = {"program_id": bill["program_id"], "bill_id": bill["bill_id"]}
    tx.executemany(
        "UPDATE contribution_months SET payment_ref = :payment_ref, paid_on = :paid_on "
        "WHERE program_id = :program_id AND bill_id = :bill_id "
        "AND line_no BETWEEN :first AND :last",
        [{**key, "payment_ref": event.payment_ref, "paid_on": event.paid_on.isoformat(),
          "first": span.first, "last": span.last} for span in event.settled])
    paid = _sums_by_period(tx, {**key, "payment_ref": event.payment_ref})
    tx.execute(
        "INSERT INTO bill_payments (program_id, payment_ref, bill_id, paid_on, amount_idr, "
        "funding_source, lines, reversed_on, reversal_reason) VALUES (:program_id, "
        ":payment_ref, :bill_id, :paid_on, :amount_idr, :funding_source, :lines, NULL, NULL)",
        {**key, "payment_ref": event.payment_ref, "paid_on": event.paid_on.isoformat(),
         "amount_idr": event.amount_idr, "funding_source": event.funding_source,
         "lines": sum(span.last - span.first + 1 for span in event.settled)})
    tx.execute("UPDATE bill_summary SET paid_idr = paid_idr + :amount "
               "WHERE program_id = :program_id AND bill_id = :bill_id",
               {**key, "amount": event.amount_idr})
    _add_months(tx, bill["program_id"], "paid_idr", paid)
    _add_funding(tx, bill["program_id"], event.funding_source, "paid_idr", event.amount_idr)
    base = _base_period(tx, bill["program_id"])
    for period in sorted(paid):
        bit = month_bit(base, period)
        if not bit:
            continue
        rules = coverage.rules_in_force(period)
        in_window = event.paid_on <= coverage.window_end(period, rules)
        # A join, not IN (SELECT ...): PostgreSQL then walks the bill's months in line
        # order (the roster's participant order) and looks each member up in key order,
        # where the IN form hashed the ids first and looked members up at random (a third
        # slower for a 35,000-line bill). A member on two lines of the month is still
        # updated once.
        tx.execute(
            "UPDATE member_months SET double_mask = double_mask | (paid_mask & :bit), "
            "paid_mask = paid_mask | :bit, covered_mask = covered_mask | :covered "
            "FROM contribution_months c WHERE c.program_id = :program_id "
            "AND c.bill_id = :bill_id AND c.payment_ref = :payment_ref "
            "AND c.period = :period AND member_months.participant_id = c.participant_id",
            {**key, "bit": bit, "covered": bit if in_window else 0,
             "payment_ref": event.payment_ref, "period": period})


def _reversed(tx: Tx, bill: dict, event: PaymentReversed) -> None:
    key = {"program_id": bill["program_id"], "bill_id": bill["bill_id"],
           "payment_ref": event.payment_ref}
    payment = tx.fetchone("SELECT amount_idr, funding_source FROM bill_payments "
                          "WHERE program_id = :program_id AND payment_ref = :payment_ref", key)
    paid = _sums_by_period(tx, key)
    members = _participants(tx, "payment_ref = :payment_ref", key)
    tx.execute("UPDATE contribution_months SET payment_ref = NULL, paid_on = NULL "
               "WHERE program_id = :program_id AND bill_id = :bill_id "
               "AND payment_ref = :payment_ref", key)
    tx.execute("UPDATE bill_payments SET reversed_on = :reversed_on, reversal_reason = :reason "
               "WHERE program_id = :program_id AND payment_ref = :payment_ref",
               {**key, "reversed_on": event.reversed_on.isoformat(), "reason": event.reason})
    tx.execute("UPDATE bill_summary SET paid_idr = paid_idr - :amount "
               "WHERE program_id = :program_id AND bill_id = :bill_id",
               {**key, "amount": payment["amount_idr"]})
    _add_months(tx, bill["program_id"], "paid_idr", {p: -a for p, a in paid.items()})
    _add_funding(tx, bill["program_id"], payment["funding_source"], "paid_idr",
                 -payment["amount_idr"])
    _recompute_masks(tx, members)


def _refunded(tx: Tx, bill: dict, event: RefundRecorded) -> None:
    key = {"program_id": bill["program_id"], "bill_id": bill["bill_id"]}
    tx.executemany(
        "UPDATE contribution_months SET refund_ref = :refund_ref, refunded_on = :refunded_on "
        "WHERE program_id = :program_id AND bill_id = :bill_id AND line_no = :line_no "
        "AND period = :period",
        [{**key, "refund_ref": event.refund_ref, "refunded_on": event.refunded_on.isoformat(),
          "line_no": line.line, "period": line.period} for line in event.lines])
    refunded: dict[str, int] = defaultdict(int)
    for line in event.lines:
        refunded[line.period] += line.amount_idr
    tx.execute(
        "INSERT INTO bill_refunds (program_id, refund_ref, bill_id, payment_ref, refunded_on, "
        "amount_idr, reason) VALUES (:program_id, :refund_ref, :bill_id, :payment_ref, "
        ":refunded_on, :amount_idr, :reason)",
        {**key, "refund_ref": event.refund_ref, "payment_ref": event.payment_ref,
         "refunded_on": event.refunded_on.isoformat(), "amount_idr": event.amount_idr,
         "reason": event.reason})
    tx.execute("UPDATE bill_summary SET refunded_idr = refunded_idr + :amount "
               "WHERE program_id = :program_id AND bill_id = :bill_id",
               {**key, "amount": event.amount_idr})
    payment = tx.fetchone("SELECT funding_source FROM bill_payments "
                          "WHERE program_id = :program_id AND payment_ref = :payment_ref",
                          {**key, "payment_ref": event.payment_ref})
    _add_months(tx, bill["program_id"], "refunded_idr", refunded)
    _add_funding(tx, bill["program_id"], payment["funding_source"], "refunded_idr",
                 event.amount_idr)
    _recompute_masks(tx, _participants(tx, "refund_ref = :refund_ref",
                                       {**key, "refund_ref": event.refund_ref}))


def _enrolled(tx: Tx, enrolled: list[tuple[str, ParticipantEnrolled]]) -> None:
    """Start (or restart, keeping the months already paid) the members' rows, and mark
    the NIKs another program has a member with too."""
    people = {}
    for chunk in chunks(sorted({pid for pid, _ in enrolled})):
        condition, params = tx.any_of("s.participant_id", chunk)
        for row in tx.fetchall(
                "SELECT s.participant_id AS participant_id, s.program_id AS program_id, "
                "s.nik_hash AS nik_hash, s.nik_masked AS nik_masked, "
                "p.coverage_start AS window_start FROM participant_status s "
                "JOIN program_summary p ON p.program_id = s.program_id "
                f"WHERE {condition}", params):
            people[row["participant_id"]] = row
    latest = dict(enrolled)  # enrolled twice in a row: the second restarts the first
    rows = []
    for participant_id, event in latest.items():
        person = people[participant_id]
        base = periods.of(date.fromisoformat(person["window_start"]))
        rows.append({"participant_id": participant_id, "program_id": person["program_id"],
                     "nik_hash": person["nik_hash"], "nik_masked": person["nik_masked"],
                     "base_period": base, "first_idx": _clamped(
                         periods.months_from(base, periods.of(event.coverage_start)), 0),
                     "paid_mask": 0, "covered_mask": 0, "double_mask": 0, "nik_shared": 0})
    members = set()
    for chunk in chunks(sorted(latest)):
        condition, params = tx.any_of("participant_id", chunk)
        members.update(row["participant_id"] for row in tx.fetchall(
            f"SELECT participant_id FROM member_months WHERE {condition}", params))
    # New members in one COPY: an import enrolls thousands, and a statement a member
    # cost more than the rest of their enrollment. A member enrolled again keeps the
    # months already paid.
    tx.insert_many("member_months", MEMBER_COLUMNS,
                   [row for row in rows if row["participant_id"] not in members])
    tx.executemany(
        "UPDATE member_months SET first_idx = :first_idx, end_idx = NULL, end_reason = NULL "
        "WHERE participant_id = :participant_id",
        [row for row in rows if row["participant_id"] in members])
    # Both sides look the batch's hashes up by index. A correlated EXISTS over all of
    # member_months let PostgreSQL hash-join the whole table whenever its statistics were
    # stale: 1.5-4 s per enrollment batch at two million members.
    for chunk in chunks(sorted({row["nik_hash"] for row in rows})):
        condition, params = tx.any_of("nik_hash", chunk)
        tx.execute(
            f"UPDATE member_months SET nik_shared = 1 WHERE {condition} AND nik_shared = 0 "
            "AND nik_hash IN (SELECT nik_hash FROM member_months "
            f"WHERE {condition} GROUP BY nik_hash HAVING COUNT(DISTINCT program_id) > 1)",
            params)


def _ended(tx: Tx, participant_id: str, last_day: date, reason: str) -> None:
    """Membership covers the month of ``last_day`` and stops after it."""
    tx.execute(
        "UPDATE member_months SET end_idx = :end_idx, end_reason = :reason "
        "WHERE participant_id = :participant_id",
        {"participant_id": participant_id, "reason": reason,
         "end_idx": _index_of(tx, participant_id, periods.of(last_day))})


def _index_of(tx: Tx, participant_id: str, period: str) -> int:
    row = tx.fetchone("SELECT base_period FROM member_months "
                      "WHERE participant_id = :participant_id",
                      {"participant_id": participant_id})
    return _clamped(periods.months_from(row["base_period"], period), -1) if row else -1


def _clamped(index: int, lowest: int) -> int:
    """Keep an index where masks and SQL shifts stay defined (0..MASK_MONTHS-1)."""
    return max(lowest, min(index, MASK_MONTHS - 1))


def _recompute_masks(tx: Tx, participant_ids: Iterable[str]) -> None:
    """Rebuild members' masks from their standing (unreversed, unrefunded) payments."""
    ids = sorted(set(participant_ids))
    for chunk in chunks(ids):
        condition, params = tx.any_of("m.participant_id", chunk)
        rows = tx.fetchall(
            "SELECT m.participant_id AS participant_id, m.base_period AS base_period, "
            "c.period AS period, c.paid_on AS paid_on FROM member_months m "
            "LEFT JOIN contribution_months c ON c.participant_id = m.participant_id "
            "AND c.payment_ref IS NOT NULL AND c.refund_ref IS NULL "
            f"WHERE {condition}", params)
        masks: dict[str, list[int]] = {}
        for row in rows:
            paid, covered, double = masks.setdefault(row["participant_id"], [0, 0, 0])
            if row["period"] is None:
                continue
            bit = month_bit(row["base_period"], row["period"])
            rules = coverage.rules_in_force(row["period"])
            in_window = date.fromisoformat(row["paid_on"]) <= coverage.window_end(
                row["period"], rules)
            masks[row["participant_id"]] = [paid | bit, covered | (bit if in_window else 0),
                                            double | (paid & bit)]
        tx.executemany(
            "UPDATE member_months SET paid_mask = :paid, covered_mask = :covered, "
            "double_mask = :double WHERE participant_id = :participant_id",
            [{"participant_id": pid, "paid": m[0], "covered": m[1], "double": m[2]}
             for pid, m in masks.items()])


def _bill_of(tx: Tx, recorded: Recorded) -> dict:
    return tx.fetchone("SELECT program_id, bill_id FROM bill_summary WHERE stream_id = :stream",
                       {"stream": str(recorded.stream_id)})


def _base_period(tx: Tx, program_id: str) -> str:
    row = tx.fetchone("SELECT coverage_start FROM program_summary "
                      "WHERE program_id = :program_id", {"program_id": program_id})
    return periods.of(date.fromisoformat(row["coverage_start"]))


def _sums_by_period(tx: Tx, key: dict) -> dict[str, int]:
    rows = tx.fetchall("SELECT period, SUM(amount_idr) AS amount FROM contribution_months "
                       "WHERE program_id = :program_id AND bill_id = :bill_id "
                       "AND payment_ref = :payment_ref GROUP BY period", key)
    return {row["period"]: int(row["amount"]) for row in rows}


def _participants(tx: Tx, condition: str, key: dict) -> list[str]:
    rows = tx.fetchall("SELECT DISTINCT participant_id FROM contribution_months "
                       "WHERE program_id = :program_id AND bill_id = :bill_id "
                       f"AND participant_id IS NOT NULL AND {condition}", key)
    return [row["participant_id"] for row in rows]


def _add_months(tx: Tx, program_id: str, column: str, amounts: dict[str, int]) -> None:
    rows = [{"program_id": program_id, "period": p, "amount": a}
            for p, a in sorted(amounts.items())]
    tx.executemany(
        "INSERT INTO program_months (program_id, period) VALUES (:program_id, :period) "
        "ON CONFLICT (program_id, period) DO NOTHING",
        [{"program_id": r["program_id"], "period": r["period"]} for r in rows])
    tx.executemany(f"UPDATE program_months SET {column} = {column} + :amount "
                   "WHERE program_id = :program_id AND period = :period", rows)


def _add_funding(tx: Tx, program_id: str, source: str, column: str, amount: int) -> None:
    key = {"program_id": program_id, "funding_source": source}
    tx.execute("INSERT INTO program_funding (program_id, funding_source) "
               "VALUES (:program_id, :funding_source) "
               "ON CONFLICT (program_id, funding_source) DO NOTHING", key)
    tx.execute(f"UPDATE program_funding SET {column} = {column} + :amount "
               "WHERE program_id = :program_id AND funding_source = :funding_source",
               {**key, "amount": amount})
