-- depends: 0001_event_store
-- The log is append-only in the database itself: UPDATE and DELETE of stored_events
-- are refused (SQLite has no TRUNCATE; its DELETE without WHERE fires the trigger too).
CREATE TRIGGER stored_events_no_update BEFORE UPDATE ON stored_events
BEGIN
    SELECT RAISE(ABORT, 'stored_events is append-only: UPDATE refused');
END;

CREATE TRIGGER stored_events_no_delete BEFORE DELETE ON stored_events
BEGIN
    SELECT RAISE(ABORT, 'stored_events is append-only: DELETE refused');
END;
