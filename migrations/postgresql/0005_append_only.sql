-- depends: 0001_event_store
-- The log is append-only in the database itself, not by convention: any UPDATE, DELETE
-- or TRUNCATE of stored_events is refused, whoever asks. (A superuser can still drop
-- the triggers; the hash chain is what makes that detectable.)
CREATE FUNCTION ledger_refuse_history_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'stored_events is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER stored_events_append_only BEFORE UPDATE OR DELETE ON stored_events
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_history_change();

CREATE TRIGGER stored_events_no_truncate BEFORE TRUNCATE ON stored_events
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_history_change();
