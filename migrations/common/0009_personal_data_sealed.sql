-- depends: 0003_contributions 0006_lapsed_counts
-- Personal data leaves the read models (UU PDP 27/2022): a NIK is kept as its keyed
-- hash (lookups, the cross-program join), its masked form (display) and, where billing
-- needs it whole, sealed; names and birth dates sealed (ledger/personal_data.py).
-- The log's format changed in the same step (sealed fields, stream ids from the keyed
-- hash), so a ledger recorded before it cannot be read by this version: none was in
-- service. These tables are projections and are filled again from the log.
ALTER TABLE participant_status RENAME COLUMN nik TO nik_hash;
ALTER TABLE participant_status RENAME COLUMN full_name TO full_name_sealed;
ALTER TABLE participant_status RENAME COLUMN birth_date TO birth_date_sealed;
ALTER TABLE participant_status ADD COLUMN nik_masked TEXT NOT NULL DEFAULT '';
ALTER TABLE participant_status ADD COLUMN nik_sealed TEXT NOT NULL DEFAULT '';
CREATE INDEX participant_status_nik_hash_idx ON participant_status (nik_hash);

ALTER TABLE contribution_months RENAME COLUMN nik TO nik_masked;

ALTER TABLE member_months RENAME COLUMN nik TO nik_hash;
ALTER TABLE member_months ADD COLUMN nik_masked TEXT NOT NULL DEFAULT '';

CREATE TABLE key_fingerprints (
    key_name TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL
);
