//! HTTP: the GraphQL endpoint, GraphiQL, and health.

mod auth;
mod error;
mod files;
pub mod graphql;
mod provider_webhooks;
mod state;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// Requests larger than this are refused before they are parsed.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// Per-WebSocket read and write buffer.
const WS_BUFFER_BYTES: usize = 4 * 1024;
/// The largest message a subscriber may send (a subscription query).
const WS_MAX_MESSAGE_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let schema = graphql::schema(Some(state.clone()));
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_handler))
        .route("/graphql/ws", get(graphql_ws))
        .route(
            "/webhooks/{plugin}/{tenant}",
            get(provider_webhooks::handle).post(provider_webhooks::handle),
        )
        .route(
            "/webhooks/{plugin}/{tenant}/{*rest}",
            get(provider_webhooks::handle).post(provider_webhooks::handle),
        )
        .route("/files/{id}", get(files::download))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state((state, schema))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
}

/// Subscriptions. The client authenticates in `connection_init` with
/// `{"authorization": "Bearer <token>"}`; a missing or bad token closes the
/// connection before anything is subscribed.
async fn graphql_ws(
    State((state, schema)): State<(AppState, graphql::HubSchema)>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    // Small buffers: an idle subscriber should cost kilobytes, not the
    // 128 KiB read and write buffers tungstenite starts with.
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .read_buffer_size(WS_BUFFER_BYTES)
        .write_buffer_size(WS_BUFFER_BYTES)
        .max_message_size(WS_MAX_MESSAGE_BYTES)
        .max_frame_size(WS_MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let header = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str())
                        .unwrap_or("");
                    match auth::caller_from_header(&state, header).await {
                        Ok(auth::Caller::Authenticated(p)) => {
                            let mut data = async_graphql::Data::default();
                            data.insert(auth::Caller::Authenticated(p));
                            Ok(data)
                        }
                        Ok(auth::Caller::Rejected(why)) => Err(async_graphql::Error::new(why)),
                        Ok(auth::Caller::Anonymous) => Err(async_graphql::Error::new(
                            "send {\"authorization\": \"Bearer <token>\"} in connection_init",
                        )),
                        Err(e) => Err(e.into()),
                    }
                })
                .serve()
        })
}

async fn graphql_handler(
    State((state, schema)): State<(AppState, graphql::HubSchema)>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let mut request = request.into_inner();
    match auth::caller(&state, &headers).await {
        Ok(caller) => request = request.data(caller),
        Err(e) => {
            let err: async_graphql::Error = e.into();
            return async_graphql::Response::from_errors(vec![
                err.into_server_error(Default::default()),
            ])
            .into();
        }
    }
    schema.execute(request).await.into()
}
