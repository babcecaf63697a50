-- Tenants, users (token digests only) and the versioned catalog.
CREATE TABLE tenants (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    description  TEXT,
    workers      BIGINT NOT NULL DEFAULT 0,
    max_clusters BIGINT,
    max_nodes    BIGINT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE users (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'user')),
    token_digest TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- Every write of a catalog entity adds a row with the next version; plugin type specs live in
-- the superadmin tenant under kinds 'providertypes' and 'automatortypes'.
CREATE TABLE catalog_entities (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL CHECK (version > 0),
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, kind, name, version)
);
