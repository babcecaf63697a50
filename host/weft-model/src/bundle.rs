//! The import/export body: Coopr's whole-catalog shape.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::EntityKind;

/// `GET /v2/export` answers with every list present; `POST /v2/import` replaces the types whose
/// list is present and leaves the absent ones untouched (so `{}` changes nothing).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogBundle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub providers: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub hardwaretypes: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub imagetypes: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub services: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub clustertemplates: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub partialtemplates: Option<Vec<Value>>,
}

impl CatalogBundle {
    pub fn list(&self, kind: EntityKind) -> Option<&Vec<Value>> {
        match kind {
            EntityKind::Providers => self.providers.as_ref(),
            EntityKind::Hardwaretypes => self.hardwaretypes.as_ref(),
            EntityKind::Imagetypes => self.imagetypes.as_ref(),
            EntityKind::Services => self.services.as_ref(),
            EntityKind::Clustertemplates => self.clustertemplates.as_ref(),
            EntityKind::Partialtemplates => self.partialtemplates.as_ref(),
            EntityKind::Providertypes | EntityKind::Automatortypes => None,
        }
    }

    pub fn list_mut(&mut self, kind: EntityKind) -> Option<&mut Option<Vec<Value>>> {
        match kind {
            EntityKind::Providers => Some(&mut self.providers),
            EntityKind::Hardwaretypes => Some(&mut self.hardwaretypes),
            EntityKind::Imagetypes => Some(&mut self.imagetypes),
            EntityKind::Services => Some(&mut self.services),
            EntityKind::Clustertemplates => Some(&mut self.clustertemplates),
            EntityKind::Partialtemplates => Some(&mut self.partialtemplates),
            EntityKind::Providertypes | EntityKind::Automatortypes => None,
        }
    }
}

/// How an import treats the entities already there (`POST /v2/import?mode=`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImportMode {
    /// Coopr's import: every entity of an imported type is deleted first, history included.
    #[default]
    Replace,
    /// Each imported entity becomes a new version; others are kept.
    Merge,
}

impl ImportMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportMode::Replace => "replace",
            ImportMode::Merge => "merge",
        }
    }
}
