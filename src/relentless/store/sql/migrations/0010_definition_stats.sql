-- What the workers did under one definition version over a period (the stats route,
-- which learns a simulation scenario from history) reads that version's workflows
-- started in the period: by definition, then creation time, so that the read is as
-- large as the period's traffic of that version, however much history is stored.
CREATE INDEX relentless_workflows_by_definition_created
    ON relentless_workflows (definition_id, created_at);
