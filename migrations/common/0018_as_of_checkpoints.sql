-- depends: 0016_program_snapshots
-- As-of checkpoints (src/projections/checkpoints.py): a program's read models replayed
-- to a log position, kept so that a later as-of of that program replays only the events
-- after it. A cache beside the log, not history: any row may be deleted, and one made by
-- other code, from another log or altered (body is sealed with the data key, bound to the
-- other columns) is passed over.
CREATE TABLE as_of_checkpoints (
    scope TEXT NOT NULL,
    code TEXT NOT NULL,
    position BIGINT NOT NULL,
    chain_hash BYTEA NOT NULL,
    made_at TEXT NOT NULL,
    body BYTEA NOT NULL,
    PRIMARY KEY (scope, code, position)
);
