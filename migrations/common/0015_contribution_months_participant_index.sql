-- depends: 0003_contributions
-- A member's contribution months are looked up by participant alone (a claim's paid
-- months, the masks recomputed after a reversal or refund, the amounts of a finding), so
-- the index needs no period: on participant_id alone PostgreSQL stores each member's
-- months as one deduplicated entry, a seventh of the size of (participant_id, period).
-- Every bill adds an entry per member at a random place in this index, so its size is
-- what a bill's projection pays for, and what ten programs' bills keep in memory.
DROP INDEX contribution_months_participant_idx;
CREATE INDEX contribution_months_participant_idx ON contribution_months (participant_id);
