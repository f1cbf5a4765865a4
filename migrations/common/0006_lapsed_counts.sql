-- depends: 0002_projections
-- Participants whose membership lapsed for unpaid months (participant.lapsed.v1) are
-- counted apart from the enrolled ones.
ALTER TABLE program_cohort_status ADD COLUMN lapsed INTEGER NOT NULL DEFAULT 0;
