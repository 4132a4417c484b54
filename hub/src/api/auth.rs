//! Turning a request's `Authorization: Bearer …` header into a [`Principal`].

use axum::http::HeaderMap;
use chrono::Utc;

use super::error::ApiError;
use super::state::AppState;
use crate::auth::{Principal, hash_token};

/// What the request proved about its caller.
#[derive(Debug, Clone)]
pub enum Caller {
    Anonymous,
    /// A token was given but is not usable; the reason is told to the caller.
    Rejected(String),
    Authenticated(Principal),
}

pub async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    caller_from_header(state, value.to_str().unwrap_or("")).await
}

/// `Bearer <token>`, from an HTTP header or a WebSocket `connection_init` payload.
pub async fn caller_from_header(state: &AppState, value: &str) -> Result<Caller, ApiError> {
    let Some(secret) = value.strip_prefix("Bearer ") else {
        return Ok(Caller::Rejected(
            "the Authorization header must be `Bearer <token>`".into(),
        ));
    };
    let Some(found) = state
        .store
        .token_and_user(&hash_token(secret.trim()))
        .await?
    else {
        return Ok(Caller::Rejected(
            "the token is not known; sign in again".into(),
        ));
    };
    let (token, user) = &*found;
    let now = Utc::now();
    if token.revoked_at.is_some() {
        return Ok(Caller::Rejected(
            "the token was revoked; sign in again".into(),
        ));
    }
    if !token.is_valid_at(now) {
        return Ok(Caller::Rejected(
            "the token has expired; sign in again".into(),
        ));
    }
    let Some(user) = user else {
        return Ok(Caller::Rejected("the token's user no longer exists".into()));
    };
    if !user.active {
        return Ok(Caller::Rejected("this user is deactivated".into()));
    }
    Ok(Caller::Authenticated(Principal {
        user: user.clone(),
        token_id: token.id,
    }))
}
