//! A JSON body extractor whose errors name the field, in the API's error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Like `axum::Json`, but a malformed body answers 400 naming the field and rule, and the
/// content type is not insisted on (Coopr's clients do not always send one).
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| ApiError::invalid("", "body", format!("cannot read the body: {e}")))?;
        parse(&bytes).map(JsonBody)
    }
}

/// Parses JSON, naming the failing field.
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::invalid("", "body", "a JSON body is required"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::invalid("", "json", format!("the body is not valid JSON: {inner}"));
        }
        ApiError::Invalid(weft_catalog::serde_field_error(&path, &inner.to_string()))
    })
}
