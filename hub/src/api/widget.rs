//! `/widget/{tenant}/messages`: the website chat widget's API. Any site may
//! embed the widget, so these answer cross-origin requests from any origin:
//! no cookies are involved, a visitor proves who they are with their token
//! in `Authorization: Visitor <token>`.

use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::provider_webhooks::error_response;
use crate::delivery::inbound::InboundError;
use crate::delivery::website::{self, Visitor, VisitorMessage};
use crate::domain::message::{Direction, Message, Sender};

/// The longest a fetch waits for something new.
const MAX_WAIT: Duration = Duration::from_secs(25);

pub fn routes(state: AppState) -> Router {
    Router::new()
        .route(
            "/widget/{tenant}/messages",
            get(fetch).post(post).options(preflight),
        )
        .layer(axum::middleware::map_response(cross_origin))
        .with_state(state)
}

/// A browser asks before sending `Authorization` or a JSON body cross-origin.
async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Any site may call these: no cookies are involved.
const CROSS_ORIGIN: [(header::HeaderName, &str); 4] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"),
    (
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "authorization, content-type",
    ),
    (header::ACCESS_CONTROL_MAX_AGE, "3600"),
];

async fn cross_origin(mut response: Response) -> Response {
    for (name, value) in CROSS_ORIGIN {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_static(value));
    }
    response
}

fn visitor(headers: &HeaderMap) -> Result<Visitor, InboundError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Visitor "))
        .ok_or_else(|| {
            InboundError::Unauthenticated("send `Authorization: Visitor <token>`".into())
        })?;
    Visitor::from_token(token.trim())
}

#[derive(Deserialize)]
struct Posted {
    id: String,
    text: String,
    name: Option<String>,
}

async fn post(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let result = async {
        let tenant = state
            .intake
            .tenants
            .tenant_of(&state.store, &tenant)
            .await?;
        let visitor = visitor(&headers)?;
        let posted: Posted = serde_json::from_slice(&body).map_err(|e| {
            InboundError::Malformed(format!(
                "the body must be JSON {{\"id\", \"text\", \"name\"?}}: {e}"
            ))
        })?;
        let message = VisitorMessage {
            id: &posted.id,
            text: &posted.text,
            name: posted.name.as_deref(),
        };
        website::receive(
            &state.store.tenant(tenant),
            &state.intake,
            &visitor,
            message,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({ "accepted": true }))).into_response(),
        Err(e) => error_response(website::SOURCE, e),
    }
}

#[derive(Deserialize)]
struct FetchQuery {
    /// The newest message id the widget has (empty before any); with
    /// `wait`, the answer waits for something newer.
    after: Option<String>,
    /// Seconds to wait for a new message (at most 25).
    #[serde(default)]
    wait: u64,
    /// The widget is open in a visible tab: the team's messages are read.
    #[serde(default)]
    seen: bool,
}

async fn fetch(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    Query(q): Query<FetchQuery>,
    headers: HeaderMap,
) -> Response {
    let result = async {
        let tenant = state
            .intake
            .tenants
            .tenant_of(&state.store, &tenant)
            .await?;
        let visitor = visitor(&headers)?;
        let store = state.store.tenant(tenant);
        // Listening first, so a message stored while the database is read
        // still wakes this request.
        let mut events = state.bus.subscribe(tenant);
        let deadline = tokio::time::Instant::now() + MAX_WAIT.min(Duration::from_secs(q.wait));
        loop {
            let messages = website::conversation(&store, &visitor, q.seen).await?;
            let newest = messages
                .last()
                .map(|m| m.id().to_string())
                .unwrap_or_default();
            let chat = messages.first().map(Message::chat);
            let changed = q.after.as_deref().is_none_or(|after| newest != after);
            if changed || tokio::time::Instant::now() >= deadline {
                return Ok::<_, InboundError>(messages);
            }
            // Wait for an event about this visitor's chat (or any, before it has one).
            loop {
                match tokio::time::timeout_at(deadline, events.recv()).await {
                    Err(_) => break,
                    Ok(Ok(event)) => {
                        let about = event.message.as_ref().map(Message::chat);
                        if chat.is_none() || about == chat {
                            break;
                        }
                    }
                    Ok(Err(_)) => break,
                }
            }
        }
    }
    .await;
    match result {
        Ok(messages) => Json(json!({
            "messages": messages.iter().map(shown).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => error_response(website::SOURCE, e),
    }
}

/// A message as the visitor sees it: no internal ids or delivery details.
fn shown(m: &Message) -> serde_json::Value {
    let (from, name) = match (m.direction(), m.sender()) {
        (Direction::Inbound, _) => ("visitor", None),
        (Direction::Outbound, Sender::User { name, .. }) => ("team", Some(name.as_str())),
        (Direction::Outbound, _) => ("team", None),
    };
    json!({
        "id": m.id().to_string(),
        "text": m.text(),
        "from": from,
        "name": name,
        "at": m.created_at(),
    })
}
