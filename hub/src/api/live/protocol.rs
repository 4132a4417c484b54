//! The `graphql-transport-ws` wire format: what a client may send, the
//! frames the hub sends back, and the close codes the protocol defines.

use serde::Deserialize;
use serde_json::Value;

pub const SUBPROTOCOL: &str = "graphql-transport-ws";

/// Close codes of the protocol.
pub mod close {
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INIT: u16 = 4429;
    pub const INTERNAL: u16 = 4500;
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    ConnectionInit {
        #[serde(default)]
        payload: Option<Value>,
    },
    Ping {
        #[serde(default)]
        payload: Option<Value>,
    },
    Pong {
        #[serde(default)]
        #[allow(dead_code)]
        payload: Option<Value>,
    },
    Subscribe {
        id: String,
        payload: SubscribePayload,
    },
    Complete {
        id: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribePayload {
    pub query: String,
    #[serde(default)]
    pub operation_name: Option<String>,
    #[serde(default)]
    pub variables: Option<Value>,
}

impl ClientMessage {
    /// Parses a frame; the error says what was wrong with it.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("invalid message: {e}"))
    }
}

pub const CONNECTION_ACK: &str = r#"{"type":"connection_ack"}"#;

/// An operation id as a JSON string, made once per operation and spliced
/// into each of its frames.
pub fn id_json(id: &str) -> String {
    Value::String(id.to_owned()).to_string()
}

/// `payload` is a serialised GraphQL response (`{"data":…,"errors":…}`).
pub fn next(id_json: &str, payload: &str) -> String {
    let mut frame = String::with_capacity(id_json.len() + payload.len() + 32);
    frame.push_str(r#"{"id":"#);
    frame.push_str(id_json);
    frame.push_str(r#","type":"next","payload":"#);
    frame.push_str(payload);
    frame.push('}');
    frame
}

pub fn complete(id_json: &str) -> String {
    format!(r#"{{"id":{id_json},"type":"complete"}}"#)
}

/// An operation refused before it ran; no `complete` follows.
pub fn error(id_json: &str, message: &str) -> String {
    let errors = serde_json::json!([{ "message": message }]);
    format!(r#"{{"id":{id_json},"type":"error","payload":{errors}}}"#)
}

pub fn pong(payload: Option<Value>) -> String {
    match payload {
        Some(p) => serde_json::json!({ "type": "pong", "payload": p }).to_string(),
        None => r#"{"type":"pong"}"#.to_owned(),
    }
}

/// Close reasons are limited to 123 bytes by RFC 6455.
pub fn close_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_valid_json_with_the_id_escaped() {
        let id = id_json("a\"b");
        let v: Value = serde_json::from_str(&next(&id, r#"{"data":{"x":1}}"#)).unwrap();
        assert_eq!(v["id"], "a\"b");
        assert_eq!(v["type"], "next");
        assert_eq!(v["payload"]["data"]["x"], 1);
        let v: Value = serde_json::from_str(&complete(&id)).unwrap();
        assert_eq!(v["type"], "complete");
        let v: Value = serde_json::from_str(&error(&id, "no")).unwrap();
        assert_eq!(v["payload"][0]["message"], "no");
    }

    #[test]
    fn client_messages_parse_and_bad_ones_say_why() {
        let m = ClientMessage::parse(
            br#"{"type":"subscribe","id":"1","payload":{"query":"subscription { x }","operationName":"X"}}"#,
        )
        .unwrap();
        match m {
            ClientMessage::Subscribe { id, payload } => {
                assert_eq!(id, "1");
                assert_eq!(payload.operation_name.as_deref(), Some("X"));
            }
            other => panic!("{other:?}"),
        }
        let err = ClientMessage::parse(br#"{"type":"start","id":"1"}"#).unwrap_err();
        assert!(err.contains("start"), "{err}");
        assert!(ClientMessage::parse(br#"{"type":"subscribe","id":"1"}"#).is_err());
    }

    #[test]
    fn close_reasons_are_cut_on_a_character_boundary() {
        let long = "é".repeat(100);
        let r = close_reason(&long);
        assert!(r.len() <= 123 && long.starts_with(&r));
    }
}
