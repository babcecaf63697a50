//! The bearer-token extractor: every route but `/status` takes a [`Caller`], so none can be
//! reached without a valid token. The tenant comes from the token, never from a header.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use weft_auth::{Principal, token_digest};

use crate::{ApiError, AppState};

/// The authenticated principal of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or(ApiError::Unauthenticated)?;
        let found = state
            .store
            .caller_by_token_digest(&token_digest(token))
            .await?;
        let caller = found.ok_or(ApiError::Unauthenticated)?;
        if let Some(slot) = parts.extensions.get::<crate::audit::AuditSlot>() {
            slot.set(&caller.tenant_id, &caller.user);
        }
        tracing::Span::current()
            .record("tenant", caller.tenant_name.as_str())
            .record("user", caller.user.as_str());
        Ok(Caller(Principal {
            tenant_id: caller.tenant_id,
            tenant_name: caller.tenant_name,
            user: caller.user,
            role: caller.role,
        }))
    }
}

impl Caller {
    /// Admins only (of any tenant, for their own tenant's data).
    pub fn require_admin(&self, action: &str) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(action))
        }
    }

    /// Superadmins only.
    pub fn require_superadmin(&self, action: &str) -> Result<(), ApiError> {
        if self.is_superadmin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(action))
        }
    }
}
