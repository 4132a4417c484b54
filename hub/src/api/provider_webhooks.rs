//! `/webhooks/{plugin}/{tenant}`: providers call the hub here; the plugin
//! verifies and reads the request, the inbound pipeline stores the result.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::graphql::HubSchema;
use crate::delivery::inbound::{self, InboundError};
use crate::plugins::types::{Header, HttpRequest};

pub async fn handle(
    State((state, _)): State<(AppState, HubSchema)>,
    Path(params): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let plugin = params.get("plugin").cloned().unwrap_or_default();
    let tenant_key = params.get("tenant").cloned().unwrap_or_default();
    let tenant = match state
        .intake
        .tenants
        .tenant_of(&state.store, &tenant_key)
        .await
    {
        Ok(t) => t,
        Err(e) => return error_response(&plugin, e),
    };
    let path_and_query = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let request = HttpRequest {
        method: method.as_str().to_owned(),
        url: format!("{}{path_and_query}", state.public_url.trim_end_matches('/')),
        path: params
            .get("rest")
            .map(|r| format!("/{r}"))
            .unwrap_or_default(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: headers
            .iter()
            .map(|(k, v)| Header {
                name: k.as_str().to_owned(),
                value: String::from_utf8_lossy(v.as_bytes()).into_owned(),
            })
            .collect(),
        body: body.to_vec(),
    };
    match inbound::handle_webhook(
        &state.store,
        &state.transports,
        &plugin,
        tenant,
        request,
        &state.intake,
    )
    .await
    {
        Ok((response, outcome)) => {
            tracing::info!(
                plugin,
                %tenant,
                stored = outcome.stored,
                duplicates = outcome.duplicates,
                statuses = outcome.statuses,
                "provider webhook handled"
            );
            let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::OK);
            let mut out = (status, response.body).into_response();
            for h in response.headers {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(h.name.as_bytes()),
                    HeaderValue::from_str(&h.value),
                ) {
                    out.headers_mut().insert(n, v);
                }
            }
            out
        }
        Err(e) => error_response(&plugin, e),
    }
}

pub(super) fn error_response(plugin: &str, e: InboundError) -> Response {
    let (status, code) = match &e {
        InboundError::NotFound(_) => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        InboundError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        InboundError::Malformed(_) => (StatusCode::BAD_REQUEST, "MALFORMED"),
        // The provider keeps the message and retries later.
        InboundError::Plugin(_) => (StatusCode::SERVICE_UNAVAILABLE, "PLUGIN_FAILED"),
        InboundError::Store(_) | InboundError::Files(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "STORE_UNAVAILABLE")
        }
    };
    let message = match &e {
        InboundError::Store(_) | InboundError::Files(_) => {
            "the hub could not store this; retry later".to_owned()
        }
        other => other.to_string(),
    };
    tracing::warn!(
        plugin,
        status = status.as_u16(),
        "provider webhook refused: {e}"
    );
    let mut r = (
        status,
        axum::Json(serde_json::json!({ "error": { "code": code, "message": message } })),
    )
        .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        r.headers_mut()
            .insert("retry-after", HeaderValue::from_static("30"));
    }
    r
}
