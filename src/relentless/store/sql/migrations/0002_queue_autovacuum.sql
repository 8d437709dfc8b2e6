-- Jobs and workflows churn like a queue: every step updates a workflow and closes a
-- job. Vacuum and analyze them after 1% changes rather than the default 20%, so that
-- dead rows and stale statistics never push the hot statements off their indexes.
ALTER TABLE relentless_jobs SET (autovacuum_vacuum_scale_factor = 0.01,
                                 autovacuum_analyze_scale_factor = 0.01);
ALTER TABLE relentless_workflows SET (autovacuum_vacuum_scale_factor = 0.01,
                                      autovacuum_analyze_scale_factor = 0.01);
