-- Ready jobs indexed by operation first: a lease reads only the operations it asks for,
-- so a backlog of an operation nobody serves costs the others nothing (the index by
-- (ready_at, seq) made every lease step over that backlog, row by row).
CREATE INDEX relentless_jobs_ready_by_operation
    ON relentless_jobs (operation, ready_at, seq)
    WHERE state = 'ready' AND NOT manual;
DROP INDEX relentless_jobs_ready;
