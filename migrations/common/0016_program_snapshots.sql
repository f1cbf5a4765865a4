-- depends: 0015_contribution_months_participant_index
-- A program's state folded up to a version of its stream (src/ledger/program_snapshots.py):
-- a program stream gains an event per quota seat, so a process meeting a program for the
-- first time reads its snapshot and the events after it, not 35,000 seats. A cache beside
-- the log, not history: a row may be deleted at any time and is taken again; one of
-- another shape than the code's, or at a version its stream does not hold, is ignored.
CREATE TABLE program_snapshots (
    program_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL,
    shape TEXT NOT NULL,
    state TEXT NOT NULL
);
