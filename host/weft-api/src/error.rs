//! The one place where errors become HTTP statuses and bodies.
//!
//! Every error body is JSON: `{"error": message}`, plus `field` and `rule` for a validation
//! failure. Internal errors answer a bland 500 and log their cause inside the request's span.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use weft_catalog::ResolveError;
use weft_model::{ErrorKind, FieldError};
use weft_store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 400: the body or a parameter breaks a rule; names the field.
    Invalid(FieldError),
    /// 401: no valid token.
    Unauthenticated,
    /// 403: the role may not do this.
    Forbidden(String),
    /// 404: absent, or not visible to the caller.
    NotFound(String),
    /// 409: exists already, or its state forbids the operation.
    Conflict(String),
    /// 422: well formed, but the catalog cannot satisfy it; `explanation` says why.
    Unprocessable { error: String, explanation: String },
    /// 500: logged, not shown.
    Internal(String),
    /// 400 in Coopr's shape: one list of missing provider fields per alternative required set.
    MissingFields(Vec<serde_json::Map<String, serde_json::Value>>),
    /// 417: a worker reports on a task whose lease it lost.
    LeaseLost(String),
}

/// The JSON body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// The JSON path of the offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The rule the field breaks, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why the catalog cannot satisfy the request, for 422 answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
}

impl ErrorBody {
    fn message(error: String) -> ErrorBody {
        ErrorBody {
            error,
            field: None,
            rule: None,
            explanation: None,
        }
    }
}

impl ApiError {
    pub fn invalid(
        field: impl Into<String>,
        rule: impl Into<String>,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::Invalid(FieldError::new(field, rule, message))
    }

    pub fn forbidden(action: &str) -> ApiError {
        ApiError::Forbidden(format!("your role may not {action}"))
    }

    /// The same error with `prefix` put before its field path (`services[3].` + `name`).
    pub fn within(self, prefix: &str) -> ApiError {
        match self {
            ApiError::Invalid(mut e) => {
                e.field = if e.field.is_empty() {
                    prefix.trim_end_matches('.').to_string()
                } else {
                    format!("{prefix}{}", e.field)
                };
                ApiError::Invalid(e)
            }
            other => other,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ApiError::Invalid(e) => write!(f, "{e}"),
            ApiError::Unauthenticated => f.write_str("a valid token is required"),
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::Internal(m) => f.write_str(m),
            ApiError::Unprocessable { error, explanation } => write!(f, "{error}: {explanation}"),
            ApiError::MissingFields(sets) => write!(
                f,
                "missing provider fields: {:?}",
                sets.iter()
                    .map(|s| s.keys().collect::<Vec<_>>())
                    .collect::<Vec<_>>()
            ),
            ApiError::LeaseLost(task) => write!(f, "task '{task}' is not leased to this worker"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<FieldError> for ApiError {
    fn from(error: FieldError) -> Self {
        ApiError::Invalid(error)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            ErrorKind::NotFound => ApiError::NotFound(error.to_string()),
            ErrorKind::Conflict => ApiError::Conflict(error.to_string()),
            _ => ApiError::Internal(error.to_string()),
        }
    }
}

impl From<weft_engine::EngineError> for ApiError {
    fn from(error: weft_engine::EngineError) -> Self {
        use weft_engine::EngineError as E;
        match error {
            E::Invalid(e) => ApiError::Invalid(e),
            E::MissingFields(sets) => ApiError::MissingFields(sets),
            E::NotFound(m) => ApiError::NotFound(m),
            E::Conflict(m) => ApiError::Conflict(m),
            E::Unprocessable { error, explanation } => {
                ApiError::Unprocessable { error, explanation }
            }
            E::Internal(m) => ApiError::Internal(m),
        }
    }
}

impl From<ResolveError> for ApiError {
    /// A missing parent or partial while *writing* is a bad reference (400); `POST /v2/resolve`
    /// maps it to 404 itself.
    fn from(error: ResolveError) -> Self {
        match error {
            ResolveError::Invalid(e) => ApiError::Invalid(e),
            ResolveError::Missing { kind, name, field } => ApiError::invalid(
                field,
                "reference",
                format!("{} '{name}' does not exist", kind.noun()),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::Invalid(e) => {
                let error = if e.field.is_empty() {
                    e.message
                } else {
                    format!("{}: {}", e.field, e.message)
                };
                (
                    StatusCode::BAD_REQUEST,
                    ErrorBody {
                        field: Some(e.field),
                        rule: Some(e.rule),
                        ..ErrorBody::message(error)
                    },
                )
            }
            ApiError::Unauthenticated => {
                let body = ErrorBody::message(
                    "a valid token is required: send 'Authorization: Bearer <token>'".into(),
                );
                let mut response = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, ErrorBody::message(m)),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, ErrorBody::message(m)),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, ErrorBody::message(m)),
            ApiError::Unprocessable { error, explanation } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorBody {
                    explanation: Some(explanation),
                    ..ErrorBody::message(error)
                },
            ),
            ApiError::MissingFields(sets) => {
                let body = serde_json::json!({
                    "error": "required provider fields are missing",
                    "field": "providerFields",
                    "rule": "required",
                    "missingFields": sets,
                });
                return (StatusCode::BAD_REQUEST, Json(body)).into_response();
            }
            ApiError::LeaseLost(task) => (
                StatusCode::EXPECTATION_FAILED,
                ErrorBody::message(format!(
                    "task '{task}' is not leased to this worker any more"
                )),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ErrorBody::message("internal error; see the server log".into()),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}
