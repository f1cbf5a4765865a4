-- depends: 0020_claim_names_sealed
-- A claim's free text is personal data too (UU PDP 27/2022): its circumstances (health
-- details), its heirs' evidence (a family card's number), a rejection's detail and a
-- payout's override reason stay sealed in claim_summary.state, as the log now stores them
-- (the v2 claim events; a v1 event's are sealed as it is read). A stage's detail no longer
-- names a document's reference nor an heir's evidence. The claims read model is a
-- projection: emptied here, it is filled again from the log by the next catch-up.
DELETE FROM claim_stages;
DELETE FROM claim_summary;
UPDATE projection_positions SET position = 0 WHERE name = 'claims';
