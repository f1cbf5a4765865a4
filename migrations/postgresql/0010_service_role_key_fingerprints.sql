-- depends: 0008_service_role 0009_personal_data_sealed
-- key_fingerprints remembers every personal-data key the ledger has sealed with; it is
-- not rebuilt from the log, so the service role may add to it but never change it.
GRANT SELECT, INSERT ON key_fingerprints TO ledger_service;
