//! Per-request helpers: who is calling, and the permission check.

use std::str::FromStr;

use async_graphql::Context;

use crate::api::auth::Caller;
use crate::api::error::{ApiError, ApiResult};
use crate::api::state::AppState;
use crate::auth::Principal;
use crate::domain::DomainError;
use crate::domain::permissions::Action;
use crate::store::TenantStore;

pub fn state<'a>(ctx: &Context<'a>) -> &'a AppState {
    ctx.data_unchecked::<AppState>()
}

/// The signed-in caller, or `UNAUTHENTICATED` saying why not.
pub fn principal<'a>(ctx: &Context<'a>) -> ApiResult<&'a Principal> {
    match ctx.data_opt::<Caller>() {
        Some(Caller::Authenticated(p)) => Ok(p),
        Some(Caller::Rejected(why)) => Err(ApiError::Unauthenticated(why.clone())),
        _ => Err(ApiError::Unauthenticated(
            "sign in first: send `Authorization: Bearer <token>` (mutation signIn gives one)"
                .into(),
        )),
    }
}

/// Checks that the caller may perform `action`, and hands out the store
/// handle bound to the caller's tenant: the only way resolvers reach data.
pub fn authorize<'a>(ctx: &Context<'a>, action: Action) -> ApiResult<(&'a Principal, TenantStore)> {
    let p = principal(ctx)?;
    p.require(action).map_err(ApiError::Forbidden)?;
    Ok((p, state(ctx).store.tenant(p.tenant())))
}

/// Parses an id argument; a malformed id is a validation error naming `field`.
pub fn parse_id<T: FromStr<Err = DomainError>>(field: &str, raw: &str) -> ApiResult<T> {
    raw.parse::<T>()
        .map_err(|_| ApiError::validation(field, format!("`{raw}` is not a valid id")))
}
