//! The closed set of error kinds and the field-named validation error.

use serde::Serialize;

/// What went wrong, in the terms a caller can act on. Every library error answers one of these,
/// and only the HTTP layer turns a kind into a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule.
    Invalid,
    /// The thing named does not exist (or is not visible to the caller).
    NotFound,
    /// The thing exists already, or its state forbids the operation.
    Conflict,
    /// No valid credential was presented.
    Unauthenticated,
    /// The credential is valid but its role may not do this.
    Forbidden,
    /// A fault on our side; the details are logged, not returned.
    Internal,
}

/// A validation failure that names the field (a JSON path such as `constraints.size.max`)
/// and the rule it breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub rule: String,
    pub message: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
