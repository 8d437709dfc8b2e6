-- The operator console: retry-now and manual-step claims are audited, a claim is kept on
-- its job, and listings of active workflows (the console's default) read only them.
--
-- New enum values cannot be used in the transaction that adds them; nothing here does.
ALTER TYPE relentless_event_kind ADD VALUE IF NOT EXISTS 'retried';
ALTER TYPE relentless_event_kind ADD VALUE IF NOT EXISTS 'claimed';

ALTER TABLE relentless_jobs ADD COLUMN claimed_by text, ADD COLUMN claimed_at timestamptz;

-- Running and incident workflows newest first, however many finished ones are stored:
-- the filtered listings of active workflows (by node, cause, retrying, ...) walk this
-- index backwards from the cursor.
CREATE INDEX relentless_workflows_active_by_id ON relentless_workflows (id)
    WHERE status IN ('running', 'incident');
