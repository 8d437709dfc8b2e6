-- Each version's canonical form, so that loading it never depends on the validation
-- rules of the release that loads it (see definition_from_canonical). Versions stored
-- before this migration have none and are read from their source.
ALTER TABLE relentless_definitions ADD COLUMN canonical jsonb;
