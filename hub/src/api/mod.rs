//! HTTP: the GraphQL endpoint, GraphiQL, and health.

mod auth;
mod body_limit;
mod error;
mod files;
pub mod graphql;
mod headers;
mod live;
mod provider_webhooks;
mod state;
mod web;
mod widget;

use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse};
use axum::routing::get;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

/// Requests larger than this are refused before they are parsed (provider
/// webhooks excepted: see `router`).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
pub fn router(state: AppState) -> Router {
    let web = web::routes(&state.config.web.dir);
    let widget = widget::routes(state.clone());
    let schema = graphql::schema(Some(state.clone()));
    let live = live::Live {
        feeds: Arc::new(live::SharedFeeds::new(
            schema.clone(),
            state.bus.clone(),
            state.config.events.subscriber_buffer,
        )),
        state: state.clone(),
        schema: schema.clone(),
    };
    let subscriptions = Router::new()
        .route("/graphql/ws", get(live::handler))
        .with_state(live);
    // Providers deliver attachments inline (an e-mail's files, base64 in a
    // form), so their webhooks take what the file store keeps, and a margin.
    let webhook_max =
        state.config.files.max_file_mib as usize * 1024 * 1024 * 4 / 3 + MAX_BODY_BYTES;
    let webhooks = Router::new()
        .route(
            "/webhooks/{plugin}/{tenant}",
            get(provider_webhooks::handle).post(provider_webhooks::handle),
        )
        .route(
            "/webhooks/{plugin}/{tenant}/{*rest}",
            get(provider_webhooks::handle).post(provider_webhooks::handle),
        )
        .layer(axum::extract::DefaultBodyLimit::max(webhook_max))
        .layer(axum::middleware::from_fn_with_state(
            webhook_max,
            body_limit::limit,
        ))
        .with_state((state.clone(), schema.clone()));
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_handler))
        .route("/files/{id}", get(files::download))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state((state, schema))
        .merge(subscriptions)
        .merge(widget)
        .merge(web)
        .layer(axum::middleware::from_fn_with_state(
            MAX_BODY_BYTES,
            body_limit::limit,
        ))
        .merge(webhooks)
        .layer(axum::middleware::map_response(headers::security))
}

async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .finish(),
    )
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
