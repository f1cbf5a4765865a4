-- depends: 0018_as_of_checkpoints
-- The claims read model keeps the names a claim holds (its reporter, heirs and payees)
-- sealed, as the log does (UU PDP 27/2022); before, claim_summary.state held them in
-- the clear. These tables are a projection: emptied here, they are filled again from the
-- log, names sealed, by the next catch-up.
DELETE FROM claim_stages;
DELETE FROM claim_summary;
UPDATE projection_positions SET position = 0 WHERE name = 'claims';
