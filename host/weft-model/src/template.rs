//! Cluster templates, partial templates, their constraints and lease durations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Link, entity_struct};

entity_struct! {
    /// A blueprint for clusters: what may be used, what is used by default, the constraints on
    /// placement, and the lease. `extends` and `includes` are merged by `POST /v2/resolve`.
    pub struct ClusterTemplate {
        #[serde(default)]
        pub compatibility: Compatibility,
        #[serde(default)]
        pub defaults: TemplateDefaults,
        #[serde(default)]
        pub constraints: Constraints,
        #[serde(default)]
        pub administration: Administration,
        #[serde(default)]
        pub links: Vec<Link>,
        /// A parent cluster template whose defaults, compatibility, constraints and
        /// administration are merged under this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub extends: Option<NameRef>,
        /// Partial templates whose defaults and compatibility are merged under this one.
        #[serde(default)]
        pub includes: Vec<NameRef>,
    }
}

entity_struct! {
    /// A reusable fragment of a cluster template. Only its `defaults` and `compatibility` are
    /// merged into templates that include it; config keys of an `immutable` partial cannot be
    /// overridden by what is merged after it.
    pub struct PartialTemplate {
        #[serde(default)]
        pub compatibility: Compatibility,
        #[serde(default)]
        pub defaults: TemplateDefaults,
        #[serde(default)]
        pub constraints: Constraints,
        #[serde(default)]
        pub administration: Administration,
        #[serde(default)]
        pub links: Vec<Link>,
        #[serde(default)]
        pub immutable: bool,
    }
}

/// A reference to another entity by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameRef {
    pub name: String,
}

/// What a cluster of this template may use; an empty list allows everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Compatibility {
    #[serde(default)]
    pub hardwaretypes: Vec<String>,
    #[serde(default)]
    pub imagetypes: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

/// What a cluster of this template uses unless the request says otherwise.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateDefaults {
    #[serde(default)]
    pub services: Vec<DefaultService>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Forces one hardware type cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardwaretype: Option<String>,
    /// Forces one image type cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imagetype: Option<String>,
    #[serde(default, rename = "dnsSuffix", skip_serializing_if = "Option::is_none")]
    pub dns_suffix: Option<String>,
    /// Arbitrary JSON handed to automators; may contain macros.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub config: Map<String, Value>,
}

/// A default service: a name, or a name with service-specific config (moved into
/// `defaults.config[name]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DefaultService {
    Name(String),
    WithConfig {
        name: String,
        #[schema(value_type = Object)]
        config: Value,
    },
}

impl DefaultService {
    pub fn name(&self) -> &str {
        match self {
            DefaultService::Name(name) | DefaultService::WithConfig { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default)]
    pub size: SizeConstraint,
    #[serde(default)]
    pub layout: LayoutConstraint,
    /// Service name → allowed hardware/image types and node counts.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceConstraint>,
}

/// Number of nodes; `min` defaults to 1, `max` to unbounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SizeConstraint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LayoutConstraint {
    /// Each set is all-or-nothing on every node (after intersecting with the cluster's services).
    #[serde(default)]
    pub mustcoexist: Vec<Vec<String>>,
    /// No node may hold an entire set.
    #[serde(default)]
    pub cantcoexist: Vec<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceConstraint {
    #[serde(default)]
    pub hardwaretypes: Vec<String>,
    #[serde(default)]
    pub imagetypes: Vec<String>,
    #[serde(default)]
    pub quantities: Quantities,
}

/// Number of nodes carrying a service; `min` defaults to 0, `max` to unbounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Administration {
    #[serde(default)]
    pub leaseduration: LeaseDuration,
}

/// Lease durations in milliseconds; 0 means forever (initial, max) or any increment (step).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaseDuration {
    #[serde(default)]
    #[schema(value_type = i64)]
    pub initial: DurationMs,
    #[serde(default)]
    #[schema(value_type = i64)]
    pub max: DurationMs,
    #[serde(default)]
    #[schema(value_type = i64)]
    pub step: DurationMs,
}

/// A duration in milliseconds. Accepts an integer, or a string of digits optionally followed by
/// one of Coopr's suffixes `s`, `m`, `h`, `d` (`"12h"`); a bare string of digits is milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DurationMs(pub u64);

impl DurationMs {
    pub fn parse(text: &str) -> Result<DurationMs, String> {
        let text = text.trim();
        let (digits, unit_ms) = match text.char_indices().last() {
            Some((i, 's')) => (&text[..i], 1_000),
            Some((i, 'm')) => (&text[..i], 60_000),
            Some((i, 'h')) => (&text[..i], 3_600_000),
            Some((i, 'd')) => (&text[..i], 86_400_000),
            _ => (text, 1),
        };
        let amount: u64 = digits.parse().map_err(|_| {
            format!("'{text}' is not a duration: use milliseconds or digits with s, m, h or d")
        })?;
        amount
            .checked_mul(unit_ms)
            .map(DurationMs)
            .ok_or_else(|| format!("'{text}' is too long a duration"))
    }
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Text(String),
        }
        match Raw::deserialize(deserializer) {
            Ok(Raw::Number(ms)) => Ok(DurationMs(ms)),
            Ok(Raw::Text(text)) => DurationMs::parse(&text).map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "expected a non-negative number of milliseconds or a string such as \"12h\"",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DurationMs;

    #[test]
    fn durations_parse_like_coopr() {
        assert_eq!(DurationMs::parse("0"), Ok(DurationMs(0)));
        assert_eq!(DurationMs::parse("1500"), Ok(DurationMs(1500)));
        assert_eq!(DurationMs::parse("10s"), Ok(DurationMs(10_000)));
        assert_eq!(DurationMs::parse("2m"), Ok(DurationMs(120_000)));
        assert_eq!(DurationMs::parse("12h"), Ok(DurationMs(43_200_000)));
        assert_eq!(DurationMs::parse("1d"), Ok(DurationMs(86_400_000)));
        assert!(DurationMs::parse("1w").is_err());
        assert!(DurationMs::parse("-5").is_err());
        assert!(DurationMs::parse("").is_err());
    }
}
