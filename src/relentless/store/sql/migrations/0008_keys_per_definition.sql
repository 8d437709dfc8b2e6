-- Idempotency keys are scoped per definition name (issue #10, defect 6): a key used by
-- one definition says nothing about another's, and a repeat must send the input the
-- key was first sent with (else key_conflict), so the input's fingerprint is kept.
--
-- Both columns are written only for keyed starts. Rows keyed before this migration get
-- their scope from their definition; their input fingerprint stays NULL (unknown), and
-- a repeat of such a key is answered with its workflow whatever input it sends.
ALTER TABLE relentless_workflows
    ADD COLUMN idempotency_scope text,
    ADD COLUMN input_fingerprint text;

UPDATE relentless_workflows w SET idempotency_scope = d.name
FROM relentless_definitions d
WHERE d.id = w.definition_id AND w.idempotency_key IS NOT NULL;

ALTER TABLE relentless_workflows DROP CONSTRAINT relentless_workflows_idempotency_key_key;
-- NULLs are distinct in a unique constraint: unkeyed starts never collide.
ALTER TABLE relentless_workflows ADD CONSTRAINT relentless_workflows_scoped_key
    UNIQUE (idempotency_scope, idempotency_key);

-- Republishing an older version's content makes it the latest, as a new version: one
-- content may now stand under several versions of a name. Publishing looks up the
-- latest version through UNIQUE (name, version).
ALTER TABLE relentless_definitions DROP CONSTRAINT relentless_definitions_name_fingerprint_key;
