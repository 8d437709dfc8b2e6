-- Every statement Relentless runs against PostgreSQL, by name (see queries.py).
-- Batches travel as parallel arrays through unnest(): one statement per batch,
-- never one per row. Time is always a parameter ($now), never now(), so that the
-- engine's clock (and a test's) is the only source of time.

-- name: lock_definition_name
-- Publishing computes the next version number; one publisher per name at a time.
SELECT pg_advisory_xact_lock(hashtext('relentless.definition:' || $1))

-- name: insert_definition
INSERT INTO relentless_definitions (name, version, fingerprint, source, source_format,
                                    canonical)
SELECT $1, coalesce(max(version), 0) + 1, $2, $3, $4, $5
FROM relentless_definitions WHERE name = $1
RETURNING id, version

-- name: latest_definition_with_fingerprint
-- The latest version, if it has this content: publishing it again changes nothing,
-- while an older version's content published again becomes a new latest version.
SELECT id, version FROM (
    SELECT id, version, fingerprint FROM relentless_definitions WHERE name = $1
    ORDER BY version DESC LIMIT 1
) latest WHERE fingerprint = $2

-- name: definition_by_id
SELECT id, name, version, fingerprint, source, source_format, canonical, created_at
FROM relentless_definitions WHERE id = $1

-- name: definition_by_version
SELECT id, name, version, fingerprint, source, source_format, canonical, created_at
FROM relentless_definitions WHERE name = $1 AND version = $2

-- name: latest_definition
SELECT id, name, version, fingerprint, source, source_format, canonical, created_at
FROM relentless_definitions WHERE name = $1 ORDER BY version DESC LIMIT 1

-- name: definition_versions
SELECT id, name, version, fingerprint, created_at
FROM relentless_definitions WHERE name = $1 ORDER BY version

-- name: definition_names
SELECT name, max(version) AS latest, count(*) AS versions
FROM relentless_definitions GROUP BY name ORDER BY name

-- name: allocate_workflow_ids
SELECT nextval(pg_get_serial_sequence('relentless_workflows', 'id')) AS id
FROM generate_series(1, $1)

-- name: start_workflows
-- Inserts the workflows that are new (an idempotency key seen before inserts
-- nothing) and the first job of each, in one statement.
WITH requested AS (
    SELECT * FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::text[], $6::text[],
                         $7::text[], $8::jsonb[], $9::timestamptz[], $10::text[],
                         $11::boolean[], $12::bigint[], $13::timestamptz[])
        AS r(id, definition_id, idempotency_scope, idempotency_key, input_fingerprint, node,
             context, step_deadline, operation, manual, timeout_ms, sla_deadline)
), created AS (
    INSERT INTO relentless_workflows (id, definition_id, idempotency_scope, idempotency_key,
                                      input_fingerprint, node, step, status, context,
                                      step_started_at, step_deadline, created_at, updated_at,
                                      sla_deadline)
    SELECT id, definition_id, idempotency_scope, idempotency_key, input_fingerprint, node, 1,
           'running', context, $1, step_deadline, $1, $1, sla_deadline
    FROM requested
    -- concurrent batches sharing keys wait in one order
    ORDER BY idempotency_scope, idempotency_key
    ON CONFLICT (idempotency_scope, idempotency_key) DO NOTHING
    RETURNING id
), first_jobs AS (
    INSERT INTO relentless_jobs (workflow_id, step, attempt, node, operation, manual, timeout_ms,
                                 state, ready_at)
    SELECT r.id, 1, 1, r.node, r.operation, r.manual, r.timeout_ms, 'ready', $1
    FROM requested r JOIN created c ON c.id = r.id
    ORDER BY r.id  -- jobs are numbered (seq) in the order the workflows were requested
)
SELECT id FROM created

-- name: workflows_by_key
-- Keys are scoped per definition name: (scope, key) pairs, read through the unique index.
SELECT w.id, w.idempotency_scope, w.idempotency_key, w.input_fingerprint, d.version
FROM unnest($1::text[], $2::text[]) AS k(scope, key)
JOIN relentless_workflows w ON (w.idempotency_scope, w.idempotency_key) = (k.scope, k.key)
JOIN relentless_definitions d ON d.id = w.definition_id

-- name: lease_jobs
-- Oldest ready job first (ties: creation order), skipping rows another leaser
-- holds, so concurrent leasers never wait on each other or take the same job.
-- The index by operation means only the requested operations' ready jobs are read;
-- rows are locked one by one in that order until the limit is reached, so nothing is
-- locked that is not taken. A lease runs lease_ms, capped by the attempt's timeout
-- counted from now.
WITH due AS (
    SELECT workflow_id, step, attempt
    FROM relentless_jobs
    WHERE state = 'ready' AND NOT manual AND ready_at <= $1 AND operation = ANY($2::text[])
    ORDER BY ready_at, seq
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE relentless_jobs AS j
SET state = 'leased', holder = $4, leased_at = $1,
    lease_expires_at = $1 + least($5::bigint, j.timeout_ms) * interval '1 millisecond'
FROM due
WHERE j.workflow_id = due.workflow_id AND j.step = due.step AND j.attempt = due.attempt
RETURNING j.workflow_id, j.step, j.attempt, j.node, j.operation, j.lease_expires_at, j.seq,
          j.ready_at,
          (SELECT w.definition_id FROM relentless_workflows w WHERE w.id = j.workflow_id)
              AS definition_id,
          (SELECT w.context FROM relentless_workflows w WHERE w.id = j.workflow_id) AS context

-- name: heartbeat_jobs
-- Extends live leases only (held by this worker, not yet expired), never past the
-- attempt's timeout and never shorter than they were. Rows are locked in key order,
-- as completions lock them, so the two never deadlock.
WITH held AS (
    SELECT j.workflow_id, j.step, j.attempt
    FROM relentless_jobs j
    JOIN unnest($4::bigint[], $5::integer[], $6::integer[]) AS k(workflow, step, attempt)
      ON j.workflow_id = k.workflow AND j.step = k.step AND j.attempt = k.attempt
    WHERE j.state = 'leased' AND j.holder = $2 AND j.lease_expires_at > $1
    ORDER BY j.workflow_id, j.step, j.attempt
    FOR UPDATE OF j
)
UPDATE relentless_jobs AS j
SET lease_expires_at = greatest(
        j.lease_expires_at,
        least($1 + $3::bigint * interval '1 millisecond',
              j.leased_at + j.timeout_ms * interval '1 millisecond'))
FROM held
WHERE j.workflow_id = held.workflow_id AND j.step = held.step AND j.attempt = held.attempt
  AND j.state = 'leased' AND j.holder = $2 AND j.lease_expires_at > $1
RETURNING j.workflow_id, j.step, j.attempt, j.lease_expires_at

-- name: release_jobs
-- A released job is ready again at once, the same attempt: giving work back is
-- not a failure. Rows are locked in key order (see heartbeat_jobs).
WITH held AS (
    SELECT j.workflow_id, j.step, j.attempt
    FROM relentless_jobs j
    JOIN unnest($3::bigint[], $4::integer[], $5::integer[]) AS k(workflow, step, attempt)
      ON j.workflow_id = k.workflow AND j.step = k.step AND j.attempt = k.attempt
    WHERE j.state = 'leased' AND j.holder = $2 AND j.lease_expires_at > $1
    ORDER BY j.workflow_id, j.step, j.attempt
    FOR UPDATE OF j
), released AS (
    UPDATE relentless_jobs AS j
    SET state = 'ready', holder = NULL, leased_at = NULL, lease_expires_at = NULL,
        ready_at = $1
    FROM held
    WHERE j.workflow_id = held.workflow_id AND j.step = held.step
      AND j.attempt = held.attempt
      AND j.state = 'leased' AND j.holder = $2 AND j.lease_expires_at > $1
    RETURNING j.workflow_id, j.step, j.attempt, j.operation
), audited AS (
    -- The attempt goes on; the audit trail keeps who gave it back, and when.
    INSERT INTO relentless_events (workflow_id, step, attempt, kind, at, by)
    SELECT workflow_id, step, attempt, 'released', $1, $2 FROM released
)
SELECT workflow_id, step, attempt, operation FROM released

-- name: lock_jobs_for_completion
-- Locks the workflows (in id order, as every writer does, so writers never
-- deadlock) and the jobs a batch of completions names.
SELECT j.workflow_id, j.step, j.attempt, j.node, j.manual, j.state, j.label,
       w.definition_id, w.step AS current_step, w.status, w.step_started_at, w.created_at
FROM unnest($1::bigint[], $2::integer[], $3::integer[]) AS k(workflow, step, attempt)
JOIN relentless_jobs j
  ON j.workflow_id = k.workflow AND j.step = k.step AND j.attempt = k.attempt
JOIN relentless_workflows w ON w.id = j.workflow_id
ORDER BY w.id
FOR UPDATE OF w, j

-- name: take_transitions
-- Moves workflows along one edge each: the history entry, the new position (and
-- context), and the first job of the next step unless the target is a leaf; and
-- wakes the long-polling leasers once if any job became ready.
WITH moves AS (
    SELECT * FROM unnest($2::bigint[], $3::integer[], $4::text[], $5::text[],
                         $6::relentless_transition_kind[], $7::text[], $8::integer[],
                         $9::text[], $10::text[], $11::jsonb[], $12::boolean[],
                         $13::timestamptz[], $14::text[], $15::boolean[], $16::bigint[])
        AS m(workflow_id, step, source, target, kind, label, attempt, by, reason, output,
             is_leaf, step_deadline, operation, manual, timeout_ms)
), decided AS (
    -- The job whose completion decided the step (the sweeper and people close
    -- theirs before moving, so only completions have one to close here).
    UPDATE relentless_jobs AS j
    SET state = 'completed', label = m.label, completed_by = m.by, closed_at = $1
    FROM moves m
    WHERE m.kind IN ('completed', 'manual')
      AND j.workflow_id = m.workflow_id AND j.step = m.step AND j.attempt = m.attempt
), recorded AS (
    INSERT INTO relentless_history (workflow_id, step, source, target, kind, label, attempt,
                                    at, by, reason, output)
    SELECT workflow_id, step, source, target, kind, label, attempt, $1, by, reason, output
    FROM moves
), moved AS (
    UPDATE relentless_workflows AS w
    SET node = m.target, step = m.step + 1,
        status = CASE WHEN m.is_leaf THEN 'completed' ELSE 'running' END
            ::relentless_workflow_status,
        incident = NULL,
        context = CASE WHEN m.output IS NULL THEN w.context ELSE w.context || m.output END,
        step_started_at = $1, step_deadline = m.step_deadline, updated_at = $1
    FROM moves m
    WHERE w.id = m.workflow_id
), next_jobs AS (
    INSERT INTO relentless_jobs (workflow_id, step, attempt, node, operation, manual,
                                 timeout_ms, state, ready_at)
    SELECT workflow_id, step + 1, 1, target, operation, manual, timeout_ms, 'ready', $1
    FROM moves WHERE NOT is_leaf
    RETURNING operation, manual
)
-- (a payload too long for PostgreSQL is sent empty: everyone wakes, see ready_payload)
SELECT pg_notify('relentless_ready', CASE WHEN octet_length(payload) > 7900 THEN ''
                                          ELSE payload END)
FROM (SELECT string_agg(DISTINCT operation, ',') AS payload
      FROM next_jobs WHERE NOT manual HAVING count(*) > 0) AS ready

-- name: lock_sweepable
-- Running workflows whose step deadline passed or whose leased job's lease ran
-- out, with their open job. SKIP LOCKED lets sweepers on every node share the
-- work; a workflow being completed right now is simply looked at next tick.
WITH candidates AS (
    SELECT id FROM relentless_workflows
    WHERE status = 'running' AND step_deadline <= $1
    UNION
    SELECT workflow_id FROM relentless_jobs
    WHERE state = 'leased' AND lease_expires_at <= $1
    UNION
    SELECT id FROM relentless_workflows
    WHERE status = 'running' AND sla_deadline <= $1 AND sla_breached_at IS NULL
)
SELECT w.id, w.definition_id, w.node, w.step, w.step_deadline <= $1 AS deadline_passed,
       j.attempt, j.state AS job_state, j.lease_expires_at <= $1 AS lease_expired,
       coalesce(w.sla_deadline <= $1 AND w.sla_breached_at IS NULL, false) AS sla_breached,
       w.step_started_at, w.created_at
FROM candidates c
JOIN relentless_workflows w ON w.id = c.id
LEFT JOIN relentless_jobs j
  ON j.workflow_id = w.id AND j.step = w.step AND j.state IN ('ready', 'leased')
WHERE w.status = 'running'
ORDER BY w.id
LIMIT $2
FOR UPDATE OF w SKIP LOCKED

-- name: close_jobs
-- Ends attempts for good: 'expired' when a lease ran out, 'closed' when a
-- deadline, a cancel or a move took the step away. An expiry is checked again
-- here: a heartbeat may have extended the lease since the sweeper looked.
UPDATE relentless_jobs AS j
SET state = k.state, closed_at = $1
FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::relentless_job_state[])
    AS k(workflow, step, attempt, state)
WHERE j.workflow_id = k.workflow AND j.step = k.step AND j.attempt = k.attempt
  AND j.state IN ('ready', 'leased')
  AND (k.state <> 'expired' OR j.lease_expires_at <= $1)
RETURNING j.workflow_id, j.step, j.attempt

-- name: schedule_retries
INSERT INTO relentless_jobs (workflow_id, step, attempt, node, operation, manual, timeout_ms,
                             state, ready_at)
SELECT r.workflow, r.step, r.attempt, r.node, r.operation, r.manual, r.timeout_ms, 'ready',
       r.ready_at
FROM unnest($1::bigint[], $2::integer[], $3::integer[], $4::text[], $5::text[],
            $6::boolean[], $7::bigint[], $8::timestamptz[])
    AS r(workflow, step, attempt, node, operation, manual, timeout_ms, ready_at)

-- name: raise_incidents
-- The workflow waits for a person; the audit trail says why and with which error.
WITH raised AS (
    SELECT * FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::text[], $6::text[])
        AS k(workflow_id, step, attempt, cause, error)
), marked AS (
    UPDATE relentless_workflows AS w
    SET status = 'incident', incident = k.cause, updated_at = $1
    FROM raised k
    WHERE w.id = k.workflow_id
)
INSERT INTO relentless_events (workflow_id, step, attempt, kind, at, reason, details)
SELECT workflow_id, step, attempt, 'incident_raised', $1, cause,
       CASE WHEN error IS NULL THEN NULL ELSE jsonb_build_object('error', error) END
FROM raised

-- name: note_sla_breaches
UPDATE relentless_workflows SET sla_breached_at = $1 WHERE id = ANY($2::bigint[])

-- name: fail_jobs
-- Ends leased attempts as failed, with their error; returns those it ended (a job no
-- longer leased was decided, expired or closed meanwhile).
UPDATE relentless_jobs AS j
SET state = 'failed', error = k.error, error_details = k.error_details, closed_at = $1
FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::text[], $6::jsonb[])
    AS k(workflow, step, attempt, error, error_details)
WHERE j.workflow_id = k.workflow AND j.step = k.step AND j.attempt = k.attempt
  AND j.state = 'leased'
RETURNING j.workflow_id, j.step, j.attempt

-- name: record_events
INSERT INTO relentless_events (workflow_id, step, attempt, kind, at, by, reason, details)
SELECT e.workflow_id, e.step, e.attempt, e.kind, $1, e.by, e.reason, e.details
FROM unnest($2::bigint[], $3::integer[], $4::integer[], $5::relentless_event_kind[],
            $6::text[], $7::text[], $8::jsonb[])
    AS e(workflow_id, step, attempt, kind, by, reason, details)

-- name: lock_workflow
SELECT w.id, w.definition_id, w.node, w.step, w.status, w.step_started_at, w.created_at
FROM relentless_workflows w WHERE w.id = $1
FOR UPDATE

-- name: close_steps
-- Ends every open attempt of each step: a deadline, a cancel or a move takes the step
-- away whichever attempt is open now (this statement's snapshot, not the caller's).
UPDATE relentless_jobs AS j
SET state = 'closed', closed_at = $1
FROM unnest($2::bigint[], $3::integer[]) AS k(workflow, step)
WHERE j.workflow_id = k.workflow AND j.step = k.step AND j.state IN ('ready', 'leased')
RETURNING j.workflow_id, j.step, j.attempt

-- name: cancel_workflow
UPDATE relentless_workflows
SET status = 'cancelled', incident = NULL, step_deadline = NULL, updated_at = $1
WHERE id = $2

-- name: workflow
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.id = $1

-- name: history
SELECT step, source, target, kind, label, attempt, at, by, reason, output
FROM relentless_history WHERE workflow_id = $1 ORDER BY step

-- name: latest_attempt
-- The current step's latest attempt, and the last error any of its attempts ended with
-- (the latest may be a retry waiting out its backoff, with no error of its own).
SELECT attempt, state, ready_at, holder, leased_at, lease_expires_at, closed_at AS ended_at,
       label, completed_by AS by, error, error_details,
       (SELECT e.error FROM relentless_jobs e
        WHERE e.workflow_id = $1 AND e.step = $2 AND e.error IS NOT NULL
        ORDER BY e.attempt DESC LIMIT 1) AS last_error
FROM relentless_jobs WHERE workflow_id = $1 AND step = $2
ORDER BY attempt DESC LIMIT 1

-- name: timeline_attempts
-- A page of a workflow's steps: every attempt of steps $2 < step <= $3.
SELECT step, node, attempt, state, ready_at, holder, leased_at, lease_expires_at,
       closed_at AS ended_at, label, completed_by AS by, error, error_details
FROM relentless_jobs WHERE workflow_id = $1 AND step > $2 AND step <= $3
ORDER BY step, attempt

-- name: timeline_transitions
SELECT step, source, target, kind, label, attempt, at, by, reason, output
FROM relentless_history WHERE workflow_id = $1 AND step > $2 AND step <= $3 ORDER BY step

-- name: timeline_events
SELECT step, attempt, kind, at, by, reason, details
FROM relentless_events WHERE workflow_id = $1 AND step > $2 AND step <= $3 ORDER BY seq

-- name: jobs_of
SELECT workflow_id, step, attempt, node, operation, manual, state, ready_at, holder, leased_at,
       lease_expires_at, label, completed_by, seq
FROM relentless_jobs WHERE workflow_id = $1 ORDER BY step, attempt

-- name: list_workflows
-- Keyset pagination, newest first: $1 is the last id of the previous page. One
-- statement per filter, so that each generic plan can use its own index.
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.id < $1
ORDER BY w.id DESC
LIMIT $2

-- name: list_workflows_by_status
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.status = $1 AND w.id < $2
ORDER BY w.id DESC
LIMIT $3

-- name: list_workflows_by_definition
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE d.name = $1 AND w.id < $2
ORDER BY w.id DESC
LIMIT $3

-- name: list_workflows_by_status_and_definition
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.status = $1 AND d.name = $2 AND w.id < $3
ORDER BY w.id DESC
LIMIT $4

-- name: manual_steps
SELECT j.workflow_id, j.step, j.attempt, j.node, j.operation, j.ready_at, w.context,
       w.definition_id, w.step_deadline, j.claimed_by, j.claimed_at
FROM relentless_jobs j JOIN relentless_workflows w ON w.id = j.workflow_id
WHERE j.state = 'ready' AND j.manual
ORDER BY j.ready_at, j.seq
LIMIT $1

-- name: ping
SELECT 1

-- name: database_time
-- The one clock of a cluster (see DatabaseClock): the time now, not the transaction's.
SELECT clock_timestamp() AS now

-- name: notify_ready
-- Wakes long-polling leasers of the operations the payload names, on every node (see
-- ready_payload). At most one per transaction: a NOTIFY per job would serialise
-- commits on the notification queue's lock.
SELECT pg_notify('relentless_ready', $1)

-- name: ready_jobs_by_operation
-- The metrics' queue gauges: read from the partial index of ready jobs, so as small as
-- the queue whatever is stored. Retries still waiting out their backoff do not count.
SELECT operation, count(*) AS ready, min(ready_at) AS oldest
FROM relentless_jobs
WHERE state = 'ready' AND NOT manual AND ready_at <= $1
GROUP BY operation

-- name: active_workflows
-- Running and incident workflows by definition, status and cause (the partial index of
-- active workflows: finished ones are not read), with those past their step deadline
-- and their SLA, and those past ``$2`` of their SLA.
SELECT d.name AS definition, w.status, w.incident, count(*) AS workflows,
       count(*) FILTER (WHERE w.step_deadline <= $1) AS past_deadline,
       count(*) FILTER (WHERE w.sla_deadline <= $1) AS past_sla,
       count(*) FILTER (WHERE w.sla_deadline > $1
                        AND w.created_at + (w.sla_deadline - w.created_at) * $2 <= $1)
           AS at_risk
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.status IN ('running', 'incident')
GROUP BY d.name, w.status, w.incident

-- name: prune_finished
-- Deletes up to $2 finished workflows that ended before $1, oldest first, with every row
-- keyed by them; a workflow another transaction holds is left for the next batch.
WITH doomed AS (
    SELECT id FROM relentless_workflows
    WHERE status IN ('completed', 'cancelled') AND updated_at < $1
    ORDER BY updated_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
), ids AS (
    -- One array, so that each delete below is a look-up by the key its table leads with.
    SELECT coalesce(array_agg(id), '{}') AS ids FROM doomed
), jobs AS (
    DELETE FROM relentless_jobs WHERE workflow_id = ANY ((SELECT ids FROM ids)::bigint[])
), history AS (
    DELETE FROM relentless_history WHERE workflow_id = ANY ((SELECT ids FROM ids)::bigint[])
), events AS (
    DELETE FROM relentless_events WHERE workflow_id = ANY ((SELECT ids FROM ids)::bigint[])
)
DELETE FROM relentless_workflows WHERE id = ANY ((SELECT ids FROM ids)::bigint[])
RETURNING id

-- name: count_prunable
SELECT count(*) AS workflows FROM relentless_workflows
WHERE status IN ('completed', 'cancelled') AND updated_at < $1

-- name: list_active_workflows_matching
-- The console's filtered listings of running and incident workflows, newest first: the
-- partial index of active workflows by id is walked back from the cursor, so finished
-- workflows, however many, are never read. A filter left NULL matches everything;
-- "retrying" is a running workflow whose current step is on its second attempt or later.
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.status IN ('running', 'incident') AND w.id < $1
  AND ($2::relentless_workflow_status IS NULL OR w.status = $2)
  AND ($3::text IS NULL OR d.name = $3)
  AND ($4::integer IS NULL OR d.version = $4)
  AND ($5::text IS NULL OR w.node = $5)
  AND ($6::text IS NULL OR w.incident = $6)
  AND (NOT $7::boolean OR (w.status = 'running' AND EXISTS (
      SELECT 1 FROM relentless_jobs j
      WHERE j.workflow_id = w.id AND j.step = w.step AND j.attempt > 1)))
  AND ($8::timestamptz IS NULL OR w.created_at >= $8)
  AND ($9::timestamptz IS NULL OR w.created_at < $9)
  AND ($10::timestamptz IS NULL OR w.updated_at >= $10)
  AND ($11::timestamptz IS NULL OR w.updated_at < $11)
ORDER BY w.id DESC
LIMIT $12

-- name: list_workflows_matching
-- The same filters over every workflow, finished ones too, walking the primary key back
-- from the cursor: a page costs what it takes to find its matches, so the console and
-- the CLI narrow by status (the index above) or key (the statement below) first.
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.id < $1
  AND ($2::relentless_workflow_status IS NULL OR w.status = $2)
  AND ($3::text IS NULL OR d.name = $3)
  AND ($4::integer IS NULL OR d.version = $4)
  AND ($5::text IS NULL OR w.node = $5)
  AND ($6::text IS NULL OR w.incident = $6)
  AND (NOT $7::boolean OR (w.status = 'running' AND EXISTS (
      SELECT 1 FROM relentless_jobs j
      WHERE j.workflow_id = w.id AND j.step = w.step AND j.attempt > 1)))
  AND ($8::timestamptz IS NULL OR w.created_at >= $8)
  AND ($9::timestamptz IS NULL OR w.created_at < $9)
  AND ($10::timestamptz IS NULL OR w.updated_at >= $10)
  AND ($11::timestamptz IS NULL OR w.updated_at < $11)
ORDER BY w.id DESC
LIMIT $12

-- name: list_workflows_by_key
-- A key names at most one workflow per definition: read through the keys' index.
SELECT w.id, d.name AS definition, d.version, w.idempotency_key, w.node, w.step, w.status,
       w.incident, w.context, w.step_started_at, w.step_deadline, w.created_at, w.updated_at
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.idempotency_key = $1 AND w.id < $2
  AND ($3::relentless_workflow_status IS NULL OR w.status = $3)
  AND ($4::text IS NULL OR d.name = $4)
  AND ($5::integer IS NULL OR d.version = $5)
ORDER BY w.id DESC
LIMIT $6

-- name: finished_since
-- Throughput for the console: workflows that ended since $1, by definition and status,
-- read from the index of finished workflows by when they ended.
SELECT d.name AS definition, w.status, count(*) AS workflows
FROM relentless_workflows w JOIN relentless_definitions d ON d.id = w.definition_id
WHERE w.status IN ('completed', 'cancelled') AND w.updated_at >= $1
GROUP BY d.name, w.status

-- name: workflows_per_version
-- How many active workflows run on each version of a definition (finished ones are not
-- read: the partial index of active workflows by definition).
SELECT d.version, count(w.id) AS active
FROM relentless_definitions d
LEFT JOIN relentless_workflows w
  ON w.definition_id = d.id AND w.status IN ('running', 'incident')
WHERE d.name = $1
GROUP BY d.version ORDER BY d.version

-- name: edge_traversals
-- How often a workflow took each edge: the console draws the counts on its graph.
SELECT source, target, label, count(*) AS taken
FROM relentless_history WHERE workflow_id = $1
GROUP BY source, target, label

-- name: resume_incident
-- Retry now of an incident: running again on the same step, with a fresh deadline.
UPDATE relentless_workflows
SET status = 'running', incident = NULL, step_deadline = $3, updated_at = $1
WHERE id = $2 AND status = 'incident'

-- name: hasten_retry
-- Retry now of a running workflow whose next attempt waits out its backoff: ready now.
UPDATE relentless_jobs
SET ready_at = $1
WHERE workflow_id = $2 AND step = $3 AND state = 'ready' AND ready_at > $1
RETURNING attempt, operation, manual

-- name: claim_manual_step
-- A person claims an open manual step unless someone else has; returns the job as it
-- was, and who holds the claim now (NULL: the claim was refused or the job is not open).
WITH job AS (
    SELECT workflow_id, step, attempt, state, manual, claimed_by
    FROM relentless_jobs
    WHERE workflow_id = $3 AND step = $4 AND attempt = $5
    FOR UPDATE
), claimed AS (
    UPDATE relentless_jobs AS j
    SET claimed_by = $2, claimed_at = $1
    FROM job
    WHERE j.workflow_id = job.workflow_id AND j.step = job.step AND j.attempt = job.attempt
      AND job.manual AND job.state = 'ready'
      AND (job.claimed_by IS NULL OR job.claimed_by = $2)
    RETURNING j.claimed_by
)
SELECT job.state, job.manual, job.claimed_by AS previous,
       (SELECT claimed_by FROM claimed) AS claimed_by
FROM job

-- name: manual_claim
SELECT claimed_by FROM relentless_jobs WHERE workflow_id = $1 AND step = $2 AND attempt = $3

-- name: definition_attempt_stats
-- The ended attempts of one definition version's newest workflows started since $2 (at
-- most $4 of them), counted by node, state, label and duration bucket ($3: the buckets'
-- lower edges in ms). An attempt lasts from ready (queueing included) to closed. A
-- failed attempt is final when no attempt follows it; its number tells a last attempt
-- from one not retried. Each workflow's jobs are read by its key (OFFSET 0 keeps that
-- a per-workflow lookup), so the read is as large as the sample, not the history.
WITH sample AS (
    SELECT id FROM relentless_workflows
    WHERE definition_id = $1 AND created_at >= $2
    ORDER BY created_at DESC LIMIT $4
)
SELECT a.node, a.state, a.label, a.manual, a.bucket, a.failed_attempt, a.final,
       count(*) AS attempts
FROM sample w
CROSS JOIN LATERAL (
    SELECT j.node, j.state::text AS state, j.label, j.manual,
           CASE WHEN j.state IN ('completed', 'failed') THEN width_bucket(
               extract(epoch FROM j.closed_at - j.ready_at) * 1000, $3::double precision[])
           END AS bucket,
           CASE WHEN j.state = 'failed' THEN j.attempt END AS failed_attempt,
           j.state = 'failed' AND NOT EXISTS (
               SELECT 1 FROM relentless_jobs n
               WHERE n.workflow_id = j.workflow_id AND n.step = j.step
                 AND n.attempt = j.attempt + 1) AS final
    FROM relentless_jobs j
    WHERE j.workflow_id = w.id AND j.state IN ('completed', 'failed', 'expired')
      AND j.closed_at IS NOT NULL
    OFFSET 0
) a
GROUP BY 1, 2, 3, 4, 5, 6, 7

-- name: definition_workflows_since
-- How many workflows of one definition version started since $2 (the stats' sample).
SELECT count(*) AS workflows FROM relentless_workflows
WHERE definition_id = $1 AND created_at >= $2
