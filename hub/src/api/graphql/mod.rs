//! The GraphQL schema.

mod connection;
mod context;
mod mutation;
mod plugins;
mod query;
mod subscription;

pub use subscription::FeedProbe;
mod types;

use async_graphql::Schema;

use super::state::AppState;

pub type HubSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Deep or huge queries are refused before they run.
const MAX_DEPTH: usize = 12;
const MAX_COMPLEXITY: usize = 5_000;

pub fn schema(state: Option<AppState>) -> HubSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as checked in at `schema/graphql/schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}
