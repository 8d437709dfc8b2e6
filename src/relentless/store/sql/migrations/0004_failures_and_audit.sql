-- Failure is an outcome: a worker can fail an attempt (state 'failed', with its error),
-- a step can give up with the reserved label 'failed' (transition kind 'failed'), and
-- what is not a transition (a release, an incident raised or resolved, a cancel) is
-- kept in an audit trail of events, so that a workflow's timeline is complete.
--
-- New enum values cannot be used in the transaction that adds them; nothing here does.
ALTER TYPE relentless_job_state ADD VALUE IF NOT EXISTS 'failed';
ALTER TYPE relentless_transition_kind ADD VALUE IF NOT EXISTS 'failed';

ALTER TABLE relentless_jobs ADD COLUMN error text, ADD COLUMN error_details jsonb;

CREATE TYPE relentless_event_kind AS ENUM (
    'released', 'incident_raised', 'incident_resolved', 'cancelled');

-- Keyed by workflow id first, like every hot table (see 0001).
CREATE TABLE relentless_events (
    workflow_id bigint NOT NULL,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    step integer NOT NULL,
    attempt integer,
    kind relentless_event_kind NOT NULL,
    at timestamptz NOT NULL,
    by text,
    reason text,
    details jsonb,
    PRIMARY KEY (workflow_id, seq)
);
