-- A workflow's SLA (its definition's `sla`, start to leaf) becomes a deadline stored
-- with it; the sweeper notes the moment it is breached, once, for metrics and logs.
ALTER TABLE relentless_workflows ADD COLUMN sla_deadline timestamptz,
                                 ADD COLUMN sla_breached_at timestamptz;

-- The sweeper's breach scan looks only at running workflows not yet noted as breached.
CREATE INDEX relentless_workflows_sla ON relentless_workflows (sla_deadline)
    WHERE status = 'running' AND sla_deadline IS NOT NULL AND sla_breached_at IS NULL;

-- The metrics' gauges count what is active (running or incident) by definition and by
-- incident cause; finished workflows, however many, are not read.
CREATE INDEX relentless_workflows_active
    ON relentless_workflows (status, definition_id, incident)
    WHERE status IN ('running', 'incident');
