//! Relay-style connections: opaque cursors and page sizes.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::types::{AuditEvent, Chat, Client, Message};
use crate::api::error::{ApiError, ApiResult};

pub type ClientConnection = Connection<String, Client, EmptyFields, EmptyFields>;
pub type ChatConnection = Connection<String, Chat, Live, EmptyFields>;
pub type MessageConnection = Connection<String, Message, Live, EmptyFields>;

/// Where the event log stood just before a page was read. A client that
/// subscribes with it as `after` gets every change made since the read, so
/// nothing falls between loading a list and following it live.
pub struct Live {
    /// Read only when the query asks for `liveCursor`.
    seq: Option<i64>,
}

impl Live {
    /// Whether the page's query asks for `liveCursor`: the log's position is
    /// then read before the page, in its round trip.
    pub fn wanted(ctx: &Context<'_>) -> bool {
        ctx.look_ahead().field("liveCursor").exists()
    }

    /// The position read before the page (`None` when not [`Self::wanted`]).
    pub fn at(seq: Option<i64>) -> Self {
        Self { seq }
    }
}

#[Object]
impl Live {
    /// Pass as `after` when subscribing to follow this page live.
    async fn live_cursor(&self) -> String {
        // Resolved only when asked for, and then read with the page.
        self.seq.unwrap_or_default().to_string()
    }
}

pub type AuditConnection = Connection<String, AuditEvent, EmptyFields, EmptyFields>;

pub const MAX_PAGE: usize = 200;

/// Checks `first`: 1 to 200.
pub fn page_size(first: i32) -> ApiResult<usize> {
    usize::try_from(first)
        .ok()
        .filter(|n| (1..=MAX_PAGE).contains(n))
        .ok_or_else(|| ApiError::validation("first", format!("must be between 1 and {MAX_PAGE}")))
}

pub fn encode(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

/// The parts of a cursor made by [`encode`]; anything else is a validation error.
pub fn decode(field: &str, cursor: &str, parts: usize) -> ApiResult<Vec<String>> {
    let bad = || ApiError::validation(field, "is not a cursor this API gave out");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let out: Vec<String> = text.split('\n').map(str::to_owned).collect();
    if out.len() == parts {
        Ok(out)
    } else {
        Err(bad())
    }
}

pub fn messages(
    rows: Vec<crate::domain::message::Message>,
    has_more: bool,
    live: Live,
) -> MessageConnection {
    let mut conn = Connection::with_additional_fields(false, has_more, live);
    conn.edges.extend(
        rows.into_iter()
            .map(|m| Edge::new(m.id().to_string(), Message(m))),
    );
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = encode(&["ann lee", "0190"]);
        assert_eq!(decode("after", &c, 2).unwrap(), vec!["ann lee", "0190"]);
        assert!(decode("after", "!!", 2).is_err());
        assert!(decode("after", &c, 3).is_err());
        assert!(page_size(0).is_err());
        assert!(page_size(201).is_err());
        assert_eq!(page_size(20).unwrap(), 20);
    }
}
