-- The append-only event log, in the exact shape the eventsourcing library's
-- SQLiteApplicationRecorder reads and writes. SQLite's rowid is the global order.
CREATE TABLE stored_events (
    originator_id TEXT NOT NULL,
    originator_version INTEGER NOT NULL,
    topic TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (originator_id, originator_version)
);
