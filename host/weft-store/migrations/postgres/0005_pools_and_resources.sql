-- Plugin resources (Coopr's §1.15): per tenant, plugin, resource type and name, a list of
-- versions, each inactive, staged, active or recalled. Live (what tasks get) is active or
-- recalled; a sync turns staged into active and recalled into inactive.
CREATE TABLE plugin_resources (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    plugin_kind   TEXT NOT NULL CHECK (plugin_kind IN ('provider', 'automator')),
    plugin        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    name          TEXT NOT NULL,
    version       BIGINT NOT NULL CHECK (version > 0),
    status        TEXT NOT NULL CHECK (status IN ('inactive', 'staged', 'active', 'recalled')),
    digest        TEXT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    data          BYTEA NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, plugin_kind, plugin, resource_type, name, version)
);
CREATE INDEX plugin_resources_digest ON plugin_resources (digest);

-- Pools of existing machines for the hosts provider. The body is the pool without its login
-- key; the key is sealed by the vault and never leaves the host except to run a task.
CREATE TABLE host_pools (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    body       TEXT NOT NULL,
    sealed_key TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
