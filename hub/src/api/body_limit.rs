//! Request bodies larger than a limit are refused before they are read.
//!
//! `DefaultBodyLimit` only binds axum's own extractors; the GraphQL request
//! reads its body itself, so the limit is put on the body here: a declared
//! length over it is answered at once, and a body that streams past it fails
//! its read.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn limit(State(max): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return too_large(max);
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, max));
    next.run(Request::from_parts(parts, body)).await
}

fn too_large(max: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        axum::Json(serde_json::json!({ "error": {
            "code": "PAYLOAD_TOO_LARGE",
            "message": format!("the request body is larger than {} MiB", max / (1024 * 1024)),
        } })),
    )
        .into_response()
}
