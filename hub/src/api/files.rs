//! `GET /files/{id}`: an attachment's bytes, for a signed-in user of the
//! tenant that keeps it. Served as a download with `nosniff`, so a file a
//! customer sent is never rendered as a page of the hub.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::{Caller, caller};
use super::graphql::HubSchema;
use crate::domain::permissions::Action;
use crate::files::FileError;

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

pub async fn download(
    State((state, _)): State<(AppState, HubSchema)>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let principal = match caller(&state, &headers).await {
        Ok(Caller::Authenticated(p)) => p,
        Ok(Caller::Anonymous) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "send `Authorization: Bearer <token>`",
            );
        }
        Ok(Caller::Rejected(why)) => {
            return refuse(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &why);
        }
        Err(_) => {
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "STORE_UNAVAILABLE",
                "retry later",
            );
        }
    };
    if let Err(why) = principal.require(Action::ReadChats) {
        return refuse(StatusCode::FORBIDDEN, "FORBIDDEN", &why);
    }
    // Only the caller's own tenant folder is ever read.
    match state.intake.files.get(principal.tenant(), &id).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CONTENT_DISPOSITION, "attachment"),
                (
                    header::CACHE_CONTROL,
                    "private, max-age=31536000, immutable",
                ),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) | Err(FileError::BadId(_)) => {
            refuse(StatusCode::NOT_FOUND, "NOT_FOUND", "no such file")
        }
        Err(e) => {
            tracing::error!("cannot read a file: {e}");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "STORE_UNAVAILABLE",
                "retry later",
            )
        }
    }
}
