//! The catalog entity types and their REST collection names.

use serde::{Deserialize, Serialize};

/// A catalog entity type. The string form is Coopr's REST collection name (`/v2/{kind}`) and
/// the key used in import/export bodies.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityKind {
    Providers,
    Hardwaretypes,
    Imagetypes,
    Services,
    Clustertemplates,
    Partialtemplates,
    /// Provider type specs; global, stored in the superadmin tenant.
    Providertypes,
    /// Automator type specs; global, stored in the superadmin tenant.
    Automatortypes,
}

impl EntityKind {
    /// The six tenant catalog types, in dependency order (a type only refers to types before it).
    pub const CATALOG: [EntityKind; 6] = [
        EntityKind::Providers,
        EntityKind::Hardwaretypes,
        EntityKind::Imagetypes,
        EntityKind::Services,
        EntityKind::Partialtemplates,
        EntityKind::Clustertemplates,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Providers => "providers",
            EntityKind::Hardwaretypes => "hardwaretypes",
            EntityKind::Imagetypes => "imagetypes",
            EntityKind::Services => "services",
            EntityKind::Clustertemplates => "clustertemplates",
            EntityKind::Partialtemplates => "partialtemplates",
            EntityKind::Providertypes => "providertypes",
            EntityKind::Automatortypes => "automatortypes",
        }
    }

    /// A singular noun for messages ("provider", "cluster template").
    pub fn noun(self) -> &'static str {
        match self {
            EntityKind::Providers => "provider",
            EntityKind::Hardwaretypes => "hardware type",
            EntityKind::Imagetypes => "image type",
            EntityKind::Services => "service",
            EntityKind::Clustertemplates => "cluster template",
            EntityKind::Partialtemplates => "partial template",
            EntityKind::Providertypes => "provider type",
            EntityKind::Automatortypes => "automator type",
        }
    }

    pub fn parse(s: &str) -> Option<EntityKind> {
        [
            Self::CATALOG.as_slice(),
            &[EntityKind::Providertypes, EntityKind::Automatortypes],
        ]
        .concat()
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether entities of this kind are global plugin specs rather than tenant catalog entries.
    pub fn is_plugin_type(self) -> bool {
        matches!(self, EntityKind::Providertypes | EntityKind::Automatortypes)
    }
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
