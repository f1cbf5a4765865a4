-- depends: 0008_service_role 0021_claim_free_text_sealed
-- Where a rebuild replays the log in lanes side by side (projections/lanes.py): the
-- schema <schema>_rebuild holds the shadows of the projections replayed in one lane and
-- the views that show a partitioned projection's tables whole; <schema>_rebuild_p1 to
-- _p4 hold the parts of a projection whose streams are split among lanes. A rebuild
-- makes its UNLOGGED shadows there and drops them when it ends. The service role may
-- create tables in these schemas and nowhere else: what it makes there is a copy of a
-- read model, never history.
DO $$
DECLARE
    shadow text := current_schema() || '_rebuild';
    schema_name text;
BEGIN
    FOREACH schema_name IN ARRAY ARRAY[shadow, shadow || '_p1', shadow || '_p2',
                                      shadow || '_p3', shadow || '_p4'] LOOP
        EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', schema_name);
        EXECUTE format('GRANT USAGE, CREATE ON SCHEMA %I TO ledger_service', schema_name);
    END LOOP;
END
$$;
