-- The engine's hot path: claims and finishes touch a few rows by index, never a whole queue or
-- job.
--
-- How many tasks of the job's current stage are still to finish (not complete, replaced or
-- dropped). Every scheduling step writes it; a successful finish takes one off, and only a
-- finish that brings it to zero (or a failure) runs a whole scheduling step. -1: unknown, the
-- next finish runs the step.
ALTER TABLE jobs ADD COLUMN stage_pending BIGINT NOT NULL DEFAULT -1;

-- a finish and a heartbeat find their row by task id; a scheduling step finds its job's rows
CREATE INDEX task_queue_task ON task_queue (payload);
CREATE INDEX task_queue_job ON task_queue (job_id, state);
-- a claim takes a tenant's oldest ready rows in order
CREATE INDEX task_queue_next ON task_queue (tenant_id, state, enqueued_at, id);
DROP INDEX task_queue_tenant;
