-- The durable task queue. A row is a task waiting or claimed; a claim is a lease that expires
-- unless its worker renews it. Finished tasks leave for task_history, so the hot table holds
-- only what is in flight.
CREATE TABLE task_queue (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id      TEXT NOT NULL,
    payload     TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'claimed')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    not_before  BIGINT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    worker      TEXT,
    lease_until BIGINT
);
CREATE INDEX task_queue_ready ON task_queue (state, not_before, enqueued_at);
CREATE INDEX task_queue_tenant ON task_queue (tenant_id, state);

CREATE TABLE task_history (
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    job_id      TEXT NOT NULL,
    attempts    BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    result      TEXT NOT NULL,
    worker      TEXT NOT NULL,
    finished_at BIGINT NOT NULL,
    PRIMARY KEY (id, attempts)
);
CREATE INDEX task_history_job ON task_history (tenant_id, job_id);
