-- Clusters, their nodes and jobs, the job engine's tasks, node action history, task logs,
-- sealed sensitive fields, worker credentials and registrations, the audit log.

-- Counters handed out atomically (cluster numbers; Coopr's cluster ids are numeric).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('cluster', 0);

CREATE TABLE clusters (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner         TEXT NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL,
    node_count    BIGINT NOT NULL,
    create_time   BIGINT NOT NULL,
    expire_time   BIGINT NOT NULL,
    -- last time a user did something with the cluster (inactivity leases)
    active_time   BIGINT NOT NULL,
    latest_job_id TEXT,
    -- why the last job failed, for the user
    message       TEXT,
    -- JSON: description, provider copy, template copy, services, config, dnsSuffix, message
    body          TEXT NOT NULL
);
CREATE INDEX clusters_tenant ON clusters (tenant_id, status);

CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    nodenum    BIGINT NOT NULL,
    -- JSON: properties, provisionerResults
    body       TEXT NOT NULL
);
CREATE INDEX nodes_cluster ON nodes (cluster_id, nodenum);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    cluster_id    TEXT NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL,
    action        TEXT NOT NULL,
    status        TEXT NOT NULL,
    current_stage BIGINT NOT NULL,
    message       TEXT,
    -- JSON: plannedServices, plannedNodes, what the action was asked
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX jobs_cluster ON jobs (cluster_id, created_at);
CREATE INDEX jobs_status ON jobs (status);

CREATE TABLE job_tasks (
    id          TEXT PRIMARY KEY,
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    cluster_id  TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    service     TEXT NOT NULL,
    task_name   TEXT NOT NULL,
    stage       BIGINT NOT NULL,
    status      TEXT NOT NULL,
    -- failed attempts so far; every attempt is a node_actions row, written when it is claimed
    failures    BIGINT NOT NULL DEFAULT 0,
    -- the attempt the queue holds or last held (0: never claimed)
    attempt     BIGINT NOT NULL DEFAULT 0,
    status_time BIGINT NOT NULL
);
CREATE INDEX job_tasks_job ON job_tasks (job_id, stage);

CREATE TABLE node_actions (
    task_id     TEXT NOT NULL,
    attempt     BIGINT NOT NULL,
    node_id     TEXT NOT NULL,
    cluster_id  TEXT NOT NULL,
    service     TEXT NOT NULL,
    action      TEXT NOT NULL,
    submit_time BIGINT NOT NULL,
    status_time BIGINT NOT NULL,
    status      TEXT NOT NULL,
    stdout      TEXT NOT NULL,
    stderr      TEXT NOT NULL,
    PRIMARY KEY (task_id, attempt)
);
CREATE INDEX node_actions_node ON node_actions (node_id, submit_time);

CREATE TABLE task_logs (
    task_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    level   TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (task_id, attempt, seq)
);

-- Sensitive provider fields, sealed (AEAD); wiped when a delete succeeds.
CREATE TABLE sensitive_fields (
    cluster_id TEXT PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    sealed     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each cluster's SSH key pair; the private half sealed.
CREATE TABLE cluster_keys (
    cluster_id  TEXT PRIMARY KEY REFERENCES clusters (id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL,
    private_key TEXT NOT NULL
);

-- Worker credentials: shared (tenant_id NULL, any tenant with capacity) or one tenant's.
CREATE TABLE worker_tokens (
    name         TEXT PRIMARY KEY,
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    token_digest TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL
);

-- Registered worker processes (Coopr's provisioners) and their last heartbeat.
CREATE TABLE provisioners (
    id             TEXT PRIMARY KEY,
    token_name     TEXT NOT NULL,
    host           TEXT NOT NULL,
    capacity       BIGINT NOT NULL,
    usage          BIGINT NOT NULL DEFAULT 0,
    registered_at  BIGINT NOT NULL,
    heartbeat_at   BIGINT NOT NULL
);

-- Lifecycle events waiting to be delivered to webhooks (an outbox: written with the job change).
CREATE TABLE job_events (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    id        TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    actor     TEXT NOT NULL,
    method    TEXT NOT NULL,
    path      TEXT NOT NULL,
    status    BIGINT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX audit_log_tenant ON audit_log (tenant_id, at);

ALTER TABLE task_queue ADD COLUMN claimed_at BIGINT;
