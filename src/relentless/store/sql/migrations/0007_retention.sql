-- Retention: finished workflows (completed or cancelled) older than a setting are
-- deleted with their jobs, history and events, oldest first, in bounded batches. The
-- index holds only finished workflows, by when they ended.
CREATE INDEX relentless_workflows_finished
    ON relentless_workflows (updated_at)
    WHERE status IN ('completed', 'cancelled');
