//! The CRM's entities, value objects and rules.
//!
//! Nothing here knows about HTTP, GraphQL, SurrealDB or WebAssembly: every
//! rule of the business requirements lives in constructors and methods that
//! cannot produce an invalid value, so the other layers cannot forget one.

pub mod audit;
pub mod chat;
pub mod client;
pub mod contact;
pub mod error;
pub mod events;
pub mod ids;
pub mod member;
pub mod message;
pub mod permissions;
pub mod retention;
pub mod routing;
pub mod template;
pub mod tenant;
pub mod user;
pub mod webhook;

pub use error::{DomainError, DomainResult};

/// Lower-case hex, as digests are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
