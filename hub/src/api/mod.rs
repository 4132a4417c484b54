//! HTTP: the GraphQL endpoint, GraphiQL, and health.

mod auth;
mod error;
pub mod graphql;
mod state;

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

use crate::config::Config;
use crate::store::Store;

/// Requests larger than this are refused before they are parsed.
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

pub fn router(store: Store, config: Arc<Config>) -> Router {
    let state = AppState { store, config };
    let schema = graphql::schema(Some(state.clone()));
    Router::new()
        .route("/graphql", get(graphiql).post(graphql_handler))
        .route("/healthz", get(|| async { "ok" }))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state((state, schema))
}

async fn graphiql() -> impl IntoResponse {
    Html(GraphiQLSource::build().endpoint("/graphql").finish())
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
