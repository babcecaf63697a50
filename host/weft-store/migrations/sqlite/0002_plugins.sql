-- Registered plugin components: every upload of a name adds a version. The component bytes
-- are kept so any worker can load them; grants are JSON text.
CREATE TABLE plugins (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    version     BIGINT NOT NULL CHECK (version > 0),
    kind        TEXT NOT NULL CHECK (kind IN ('provider', 'automator')),
    digest      TEXT NOT NULL,
    wit_version TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    description TEXT NOT NULL,
    requested   TEXT NOT NULL,
    approved    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'quarantined', 'disabled')),
    component   BLOB NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name, version),
    UNIQUE (tenant_id, digest)
);
