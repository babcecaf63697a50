//! The versioned catalog: every write adds a version; reads without a version get the latest.

use serde_json::{Map, Value};
use sqlx::FromRow;
use weft_model::{EntityKind, ImportMode};

use crate::{Result, Store, StoreError, execute, now_ms, on_pool};

/// One version of a catalog entity.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntity {
    pub kind: EntityKind,
    pub name: String,
    pub version: i64,
    /// The entity as written, without `version`.
    pub body: Map<String, Value>,
}

impl StoredEntity {
    /// The entity as the API shows it: the body with its `version`.
    pub fn to_json(&self) -> Value {
        let mut body = self.body.clone();
        body.insert("version".to_string(), Value::from(self.version));
        Value::Object(body)
    }
}

#[derive(FromRow)]
struct EntityRow {
    kind: String,
    name: String,
    version: i64,
    body: String,
}

impl TryFrom<EntityRow> for StoredEntity {
    type Error = StoreError;

    fn try_from(row: EntityRow) -> Result<StoredEntity> {
        let kind = EntityKind::parse(&row.kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown entity kind '{}'", row.kind)))?;
        let body = match serde_json::from_str(&row.body) {
            Ok(Value::Object(body)) => body,
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "{kind} '{}' version {} is not a JSON object",
                    row.name, row.version
                )));
            }
        };
        Ok(StoredEntity {
            kind,
            name: row.name,
            version: row.version,
            body,
        })
    }
}

/// An entity's name and body, as an import writes it.
pub type NamedBody = (String, Map<String, Value>);

/// Everything but `version`, serialised for storage.
fn storable(body: &Map<String, Value>) -> String {
    let mut body = body.clone();
    body.remove("version");
    Value::Object(body).to_string()
}

const LATEST: &str = "version = (SELECT MAX(l.version) FROM catalog_entities l \
                      WHERE l.tenant_id = catalog_entities.tenant_id AND l.kind = catalog_entities.kind \
                      AND l.name = catalog_entities.name)";

pub(crate) const NEXT_VERSION: &str = "INSERT INTO catalog_entities (tenant_id, kind, name, version, body, created_at) \
     SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4, $5 FROM catalog_entities \
     WHERE tenant_id = $1 AND kind = $2 AND name = $3 RETURNING version";

impl Store {
    /// The latest version of every entity of `kind` in a tenant, by name.
    pub async fn list_entities(
        &self,
        tenant_id: &str,
        kind: EntityKind,
    ) -> Result<Vec<StoredEntity>> {
        let sql = format!(
            "SELECT kind, name, version, body FROM catalog_entities WHERE tenant_id = $1 AND kind = $2 AND {LATEST} ORDER BY name"
        );
        let rows: Vec<EntityRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(kind.as_str())
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(StoredEntity::try_from).collect()
    }

    /// One entity: the latest version, or the one asked for. `NotFound` names what is missing.
    pub async fn get_entity(
        &self,
        tenant_id: &str,
        kind: EntityKind,
        name: &str,
        version: Option<i64>,
    ) -> Result<StoredEntity> {
        let row: Option<EntityRow> = match version {
            None => {
                let sql = format!(
                    "SELECT kind, name, version, body FROM catalog_entities WHERE tenant_id = $1 AND kind = $2 AND name = $3 AND {LATEST}"
                );
                on_pool!(self, |pool| {
                    sqlx::query_as(&sql)
                        .bind(tenant_id)
                        .bind(kind.as_str())
                        .bind(name)
                        .fetch_optional(pool)
                        .await
                })?
            }
            Some(version) => on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT kind, name, version, body FROM catalog_entities \
                     WHERE tenant_id = $1 AND kind = $2 AND name = $3 AND version = $4",
                )
                .bind(tenant_id)
                .bind(kind.as_str())
                .bind(name)
                .bind(version)
                .fetch_optional(pool)
                .await
            })?,
        };
        match (row, version) {
            (Some(row), _) => row.try_into(),
            (None, None) => Err(StoreError::NotFound(format!(
                "{} '{name}' does not exist",
                kind.noun()
            ))),
            (None, Some(v)) => Err(StoreError::NotFound(format!(
                "{} '{name}' has no version {v}",
                kind.noun()
            ))),
        }
    }

    /// The latest version of the entity `kind`/`name` of `tenant_id`'s own catalog, or else of
    /// `fallback_tenant_id`'s (the global one): one query, the tenant's first.
    pub async fn get_entity_own_or(
        &self,
        tenant_id: &str,
        fallback_tenant_id: &str,
        kind: EntityKind,
        name: &str,
    ) -> Result<Option<StoredEntity>> {
        let sql = format!(
            "SELECT kind, name, version, body FROM catalog_entities WHERE tenant_id IN ($1, $2) \
             AND kind = $3 AND name = $4 AND {LATEST} \
             ORDER BY CASE WHEN tenant_id = $1 THEN 0 ELSE 1 END LIMIT 1"
        );
        let row: Option<EntityRow> = on_pool!(self, |pool| {
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(fallback_tenant_id)
                .bind(kind.as_str())
                .bind(name)
                .fetch_optional(pool)
                .await
        })?;
        row.map(TryInto::try_into).transpose()
    }

    /// Creates version 1 of a new entity; `Conflict` if the name is taken.
    pub async fn create_entity(
        &self,
        tenant_id: &str,
        kind: EntityKind,
        name: &str,
        body: &Map<String, Value>,
    ) -> Result<StoredEntity> {
        let _changes = self.catalog_write();
        let text = storable(body);
        let result =
            execute!(self, sqlx::query(
                "INSERT INTO catalog_entities (tenant_id, kind, name, version, body, created_at) \
                 SELECT $1, $2, $3, 1, $4, $5 WHERE NOT EXISTS \
                 (SELECT 1 FROM catalog_entities WHERE tenant_id = $1 AND kind = $2 AND name = $3)",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .bind(&text)
            .bind(now_ms()));
        let conflict = || StoreError::Conflict(format!("{} '{name}' already exists", kind.noun()));
        match result {
            Ok(1) => Ok(self.stored(kind, name, 1, body)),
            Ok(_) => Err(conflict()),
            Err(e) if StoreError::is_unique_violation(&e) => Err(conflict()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a new version of an entity (version 1 if it is new).
    pub async fn put_entity(
        &self,
        tenant_id: &str,
        kind: EntityKind,
        name: &str,
        body: &Map<String, Value>,
    ) -> Result<StoredEntity> {
        let _changes = self.catalog_write();
        let text = storable(body);
        // Two concurrent writers may compute the same next version; the loser tries again.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result: Result<i64, sqlx::Error> = on_pool!(self, |pool| {
                sqlx::query_scalar(NEXT_VERSION)
                    .bind(tenant_id)
                    .bind(kind.as_str())
                    .bind(name)
                    .bind(&text)
                    .bind(now_ms())
                    .fetch_one(pool)
                    .await
            });
            match result {
                Ok(version) => return Ok(self.stored(kind, name, version, body)),
                Err(e) if StoreError::is_unique_violation(&e) && attempts < 5 => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Deletes every version of an entity, or one. `NotFound` if nothing matched.
    pub async fn delete_entity(
        &self,
        tenant_id: &str,
        kind: EntityKind,
        name: &str,
        version: Option<i64>,
    ) -> Result<()> {
        let _changes = self.catalog_write();
        let deleted = execute!(self, sqlx::query(
                "DELETE FROM catalog_entities WHERE tenant_id = $1 AND kind = $2 AND name = $3 AND ($4 IS NULL OR version = $4)",
            )
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .bind(version))?;
        if deleted == 0 {
            return Err(match version {
                None => StoreError::NotFound(format!("{} '{name}' does not exist", kind.noun())),
                Some(v) => {
                    StoreError::NotFound(format!("{} '{name}' has no version {v}", kind.noun()))
                }
            });
        }
        Ok(())
    }

    /// Writes whole lists of entities in one transaction: all of them or none. In `Replace` mode
    /// each listed kind is emptied first; kinds not listed are untouched.
    pub async fn import_entities(
        &self,
        tenant_id: &str,
        lists: &[(EntityKind, Vec<NamedBody>)],
        mode: ImportMode,
    ) -> Result<()> {
        let _changes = self.catalog_write();
        let now = now_ms();
        let result: Result<(), sqlx::Error> = on_pool!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                for (kind, entities) in lists {
                    if mode == ImportMode::Replace {
                        sqlx::query(
                            "DELETE FROM catalog_entities WHERE tenant_id = $1 AND kind = $2",
                        )
                        .bind(tenant_id)
                        .bind(kind.as_str())
                        .execute(&mut *tx)
                        .await?;
                    }
                    for (name, body) in entities {
                        sqlx::query_scalar::<_, i64>(NEXT_VERSION)
                            .bind(tenant_id)
                            .bind(kind.as_str())
                            .bind(name)
                            .bind(storable(body))
                            .bind(now)
                            .fetch_one(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await
            }
            .await
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => Err(StoreError::Conflict(
                "the catalog changed during the import; nothing was written, try again".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    fn stored(
        &self,
        kind: EntityKind,
        name: &str,
        version: i64,
        body: &Map<String, Value>,
    ) -> StoredEntity {
        let mut body = body.clone();
        body.remove("version");
        StoredEntity {
            kind,
            name: name.to_string(),
            version,
            body,
        }
    }
}
