//! Request bodies larger than the limit are refused before they are read.
//!
//! `DefaultBodyLimit` only binds axum's own extractors; the GraphQL request
//! reads its body itself, so the limit is put on the body here, for every
//! route: a declared length over it is answered at once, and a body that
//! streams past it fails its read.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::MAX_BODY_BYTES;

pub async fn limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, MAX_BODY_BYTES));
    next.run(Request::from_parts(parts, body)).await
}

fn too_large() -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(serde_json::json!({ "error": {
            "code": "PAYLOAD_TOO_LARGE",
            "message": format!("the request body is larger than {} MiB", MAX_BODY_BYTES / (1024 * 1024)),
        } })),
    )
        .into_response()
}
