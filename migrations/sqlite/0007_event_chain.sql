-- depends: 0005_append_only
-- The hash chain (src/ledger/chain.py, docs/audit.md): one SHA-256 per stored event,
-- written by the recorder in the same transaction as the event. As append-only as
-- the log itself.
CREATE TABLE event_chain (
    position INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

CREATE TRIGGER event_chain_no_update BEFORE UPDATE ON event_chain
BEGIN
    SELECT RAISE(ABORT, 'event_chain is append-only: UPDATE refused');
END;

CREATE TRIGGER event_chain_no_delete BEFORE DELETE ON event_chain
BEGIN
    SELECT RAISE(ABORT, 'event_chain is append-only: DELETE refused');
END;
