//! Live updates over WebSocket: the `graphql-transport-ws` protocol at
//! `/graphql/ws`.
//!
//! The client authenticates in `connection_init` with
//! `{"authorization": "Bearer <token>"}`; a missing or bad token closes the
//! connection (4403) before anything is subscribed.
//!
//! Subscribers asking the same thing get the same bytes, so each distinct
//! subscription (tenant, role, query, variables) is executed once and its
//! serialised results are fanned out (`shared`); a connection only frames
//! them with its own operation id. An event then costs each subscriber a
//! copy and a socket write, not a GraphQL execution.

mod connection;
mod operation;
mod plan;
mod protocol;
mod shared;

use std::sync::Arc;

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

pub use shared::SharedFeeds;

use super::AppState;
use super::graphql::HubSchema;

/// Per-WebSocket write buffer: an idle subscriber should cost kilobytes,
/// not the 128 KiB tungstenite starts with.
const BUFFER_BYTES: usize = 4 * 1024;
/// Bytes read at a time. Small: tungstenite zeroes this much before every
/// read attempt, and a connection makes one after each frame it sends (4%
/// of the hub's CPU in a fan-out at 4 KiB). Client messages are small.
const READ_BYTES: usize = 512;
/// The largest message a subscriber may send (a subscription query).
const MAX_MESSAGE_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct Live {
    pub state: AppState,
    pub schema: HubSchema,
    pub feeds: Arc<SharedFeeds>,
}

pub async fn handler(State(live): State<Live>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols([protocol::SUBPROTOCOL])
        .read_buffer_size(READ_BYTES)
        .write_buffer_size(BUFFER_BYTES)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection::serve(socket, live))
}
