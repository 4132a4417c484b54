//! One WebSocket connection: the handshake, then operations until either
//! side closes.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::{AbortHandle, Abortable, BoxStream, SelectAll};

use super::Live;
use super::operation::{self, Frame};
use super::protocol::{self, ClientMessage, close};
use crate::api::auth::{self, Caller};
use crate::auth::Principal;

/// An operation's frames, tagged with its id, stoppable by the client.
type Running = Abortable<BoxStream<'static, (Arc<str>, Frame)>>;

/// How long a client has to send `connection_init`.
const INIT_WAIT: Duration = Duration::from_secs(10);
/// Operations one connection may run at once.
const MAX_OPERATIONS: usize = 100;

pub async fn serve(mut socket: WebSocket, live: Live) {
    let offered = socket
        .protocol()
        .is_some_and(|p| p.as_bytes() == protocol::SUBPROTOCOL.as_bytes());
    if !offered {
        let why = format!("ask for the {} subprotocol", protocol::SUBPROTOCOL);
        return shut(&mut socket, close::SUBPROTOCOL_NOT_ACCEPTABLE, &why).await;
    }
    // Boxed: its database futures would otherwise stay part of every idle connection.
    let handshake = Box::pin(handshake(&mut socket, &live));
    let principal = match tokio::time::timeout(INIT_WAIT, handshake).await {
        Ok(Ok(p)) => p,
        Ok(Err(Some((code, why)))) => return shut(&mut socket, code, &why).await,
        Ok(Err(None)) => return,
        Err(_) => {
            return shut(
                &mut socket,
                close::INIT_TIMEOUT,
                "Connection initialisation timeout",
            )
            .await;
        }
    };
    if send(&mut socket, protocol::CONNECTION_ACK.to_owned())
        .await
        .is_err()
    {
        return;
    }
    let mut operations: SelectAll<Running> = SelectAll::new();
    // Running operations by id; a finished one is dropped when its last frame goes out.
    let mut running: Vec<(Arc<str>, AbortHandle)> = Vec::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let parsed = match read(incoming) {
                    Read::Message(m) => m,
                    Read::Control => continue,
                    Read::Gone => return,
                };
                let message = match parsed {
                    Ok(m) => m,
                    Err(why) => return shut(&mut socket, close::BAD_REQUEST, &why).await,
                };
                let reply = match message {
                    ClientMessage::Subscribe { id, payload } => {
                        if running.iter().any(|(r, _)| **r == *id) {
                            let why = format!("Subscriber for {id} already exists");
                            return shut(&mut socket, close::SUBSCRIBER_EXISTS, &why).await;
                        }
                        if running.len() >= MAX_OPERATIONS {
                            Some(protocol::error(
                                &protocol::id_json(&id),
                                &format!("a connection runs at most {MAX_OPERATIONS} operations at once; complete one first"),
                            ))
                        } else {
                            let frames = operation::start(&live.feeds, &live.schema, &principal, &id, payload);
                            let id: Arc<str> = id.into();
                            let tagged = id.clone();
                            let frames = frames.map(move |f| (tagged.clone(), f)).boxed();
                            let (frames, handle) = futures_util::stream::abortable(frames);
                            operations.push(frames);
                            running.push((id, handle));
                            None
                        }
                    }
                    ClientMessage::Complete { id } => {
                        if let Some(i) = running.iter().position(|(r, _)| **r == *id) {
                            running.swap_remove(i).1.abort();
                        }
                        None
                    }
                    ClientMessage::Ping { payload } => Some(protocol::pong(payload)),
                    ClientMessage::Pong { .. } => None,
                    ClientMessage::ConnectionInit { .. } => {
                        return shut(&mut socket, close::TOO_MANY_INIT, "Too many initialisation requests").await;
                    }
                };
                if let Some(frame) = reply
                    && send(&mut socket, frame).await.is_err()
                {
                    return;
                }
            }
            Some((id, frame)) = operations.next(), if !operations.is_empty() => {
                if frame.last {
                    running.retain(|(r, _)| *r != id);
                }
                if send(&mut socket, frame.text).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits for `connection_init` and authenticates its token. `Err(None)`:
/// the client went away.
async fn handshake(
    socket: &mut WebSocket,
    live: &Live,
) -> Result<Principal, Option<(u16, String)>> {
    loop {
        let parsed = match read(socket.recv().await) {
            Read::Message(m) => m,
            Read::Control => continue,
            Read::Gone => return Err(None),
        };
        let payload = match parsed.map_err(|why| Some((close::BAD_REQUEST, why)))? {
            ClientMessage::ConnectionInit { payload } => payload.unwrap_or_default(),
            ClientMessage::Ping { payload } => {
                send(socket, protocol::pong(payload))
                    .await
                    .map_err(|()| None)?;
                continue;
            }
            ClientMessage::Pong { .. } => continue,
            ClientMessage::Subscribe { .. } | ClientMessage::Complete { .. } => {
                return Err(Some((
                    close::UNAUTHORIZED,
                    "Unauthorized: send connection_init first".into(),
                )));
            }
        };
        let header = payload
            .get("authorization")
            .or_else(|| payload.get("Authorization"))
            .and_then(|v| v.as_str())
            .unwrap_or("");
        return match auth::caller_from_header(&live.state, header).await {
            Ok(Caller::Authenticated(p)) => Ok(p),
            Ok(Caller::Rejected(why)) => Err(Some((close::FORBIDDEN, why))),
            Ok(Caller::Anonymous) => Err(Some((
                close::FORBIDDEN,
                "send {\"authorization\": \"Bearer <token>\"} in connection_init".into(),
            ))),
            Err(_) => Err(Some((
                close::INTERNAL,
                "cannot check the token now; try again".into(),
            ))),
        };
    }
}

enum Read {
    Message(Result<ClientMessage, String>),
    /// A WebSocket ping or pong, answered by the socket itself.
    Control,
    /// The client closed the socket or it broke.
    Gone,
}

fn read(incoming: Option<Result<Message, axum::Error>>) -> Read {
    match incoming {
        Some(Ok(Message::Text(t))) => Read::Message(ClientMessage::parse(t.as_bytes())),
        Some(Ok(Message::Binary(b))) => Read::Message(ClientMessage::parse(&b)),
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Read::Control,
        Some(Ok(Message::Close(_)) | Err(_)) | None => Read::Gone,
    }
}

async fn send(socket: &mut WebSocket, frame: String) -> Result<(), ()> {
    socket
        .send(Message::Text(frame.into()))
        .await
        .map_err(|_| ())
}

async fn shut(socket: &mut WebSocket, code: u16, why: &str) {
    let frame = CloseFrame {
        code,
        reason: protocol::close_reason(why).into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
