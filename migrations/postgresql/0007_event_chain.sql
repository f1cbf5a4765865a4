-- depends: 0005_append_only
-- The hash chain (src/ledger/chain.py, docs/audit.md): one SHA-256 per stored event,
-- written by the recorder in the same transaction as the event. As append-only as
-- the log itself.
CREATE TABLE event_chain (
    position BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
);

CREATE TRIGGER event_chain_append_only BEFORE UPDATE OR DELETE ON event_chain
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_history_change();

CREATE TRIGGER event_chain_no_truncate BEFORE TRUNCATE ON event_chain
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_history_change();
