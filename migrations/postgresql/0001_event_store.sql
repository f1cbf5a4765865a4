-- The append-only event log, in the exact shape the eventsourcing library's
-- PostgresApplicationRecorder reads and writes (we create it here instead of
-- letting the library do it at start-up, so every table the project owns is
-- made by a migration). notification_id is the global order of the log.
CREATE TABLE stored_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text NOT NULL,
    state bytea NOT NULL,
    notification_id bigserial NOT NULL,
    PRIMARY KEY (originator_id, originator_version)
);
CREATE UNIQUE INDEX stored_events_notification_id_idx ON stored_events (notification_id);
