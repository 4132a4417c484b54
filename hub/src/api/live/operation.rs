//! One operation of a connection, as the frames it sends to its client.

use std::sync::Arc;
use std::task::Poll;

use async_graphql::{Request, Response, Variables};
use futures_util::stream::{self, BoxStream};
use futures_util::{StreamExt, future};
use tokio::sync::broadcast;

use super::plan::{Plan, plan};
use super::protocol::{self, SubscribePayload};
use super::shared::{SharedFeeds, SharedFrame};
use crate::api::auth::Caller;
use crate::api::error::ApiError;
use crate::api::graphql::{FeedProbe, HubSchema};
use crate::auth::Principal;

/// Ready-to-send frames; the last one is `complete` unless the client
/// stopped the operation first.
pub type Frames = BoxStream<'static, Frame>;

pub struct Frame {
    pub text: String,
    /// The operation is over after this frame.
    pub last: bool,
}

fn more(text: String) -> Frame {
    Frame { text, last: false }
}

fn last(text: String) -> Frame {
    Frame { text, last: true }
}

pub fn start(
    feeds: &Arc<SharedFeeds>,
    schema: &HubSchema,
    principal: &Principal,
    id: &str,
    payload: SubscribePayload,
) -> Frames {
    let id: Arc<str> = protocol::id_json(id).into();
    match plan(&payload, principal.tenant(), principal.user.role) {
        Plan::Once => {
            let schema = schema.clone();
            let request = request(&payload, principal);
            with_complete(
                id,
                stream::once(async move { schema.execute(request).await }).boxed(),
            )
        }
        Plan::Private => with_complete(id, schema.execute_stream(request(&payload, principal))),
        Plan::Shared {
            key,
            variables,
            after,
        } => {
            // Join first: the shared feed then holds every event the catch-up may not see.
            let shared = feeds.join(key, principal, variables);
            let catch_up = after.map(|after| {
                let probe = Arc::new(FeedProbe::new(None));
                let results =
                    schema.execute_stream(request(&payload, principal).data(probe.clone()));
                CatchUp {
                    results,
                    probe,
                    after: after.trim().parse().unwrap_or(0),
                }
            });
            member(Member {
                id,
                shared,
                last: feeds.bus().position(),
                catch_up,
                ending: false,
            })
        }
    }
}

fn request(payload: &SubscribePayload, principal: &Principal) -> Request {
    let mut request = Request::new(payload.query.clone())
        .variables(Variables::from_json(
            payload.variables.clone().unwrap_or_default(),
        ))
        .data(Caller::Authenticated(principal.clone()));
    if let Some(name) = &payload.operation_name {
        request = request.operation_name(name.clone());
    }
    request
}

/// A response as a frame's payload; never fails the connection.
pub(super) fn payload_json(response: &Response) -> String {
    serde_json::to_string(response).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot serialise a GraphQL response");
        r#"{"data":null,"errors":[{"message":"internal error; the hub's log has the details","extensions":{"code":"INTERNAL"}}]}"#.to_owned()
    })
}

fn with_complete(id: Arc<str>, results: BoxStream<'static, Response>) -> Frames {
    let done = id.clone();
    results
        .map(move |r| more(protocol::next(&id, &payload_json(&r))))
        .chain(stream::once(future::ready(last(protocol::complete(&done)))))
        .boxed()
}

/// A subscriber with a cursor replays what it missed on its own execution,
/// then moves onto the shared feed.
struct CatchUp {
    results: BoxStream<'static, Response>,
    probe: Arc<FeedProbe>,
    after: i64,
}

struct Member {
    id: Arc<str>,
    shared: broadcast::Receiver<Arc<SharedFrame>>,
    /// The last event this subscriber has had (or did not need).
    last: i64,
    catch_up: Option<CatchUp>,
    ending: bool,
}

fn member(m: Member) -> Frames {
    stream::unfold(Some(m), |state| async move {
        let mut m = state?;
        loop {
            if m.ending {
                return Some((last(protocol::complete(&m.id)), None));
            }
            if let Some(c) = &mut m.catch_up {
                let step = future::poll_fn(|cx| match c.results.poll_next_unpin(cx) {
                    Poll::Ready(r) => Poll::Ready(Some(r)),
                    // Waiting for live events with nothing in hand: caught up.
                    Poll::Pending if c.probe.is_live() => Poll::Ready(None),
                    Poll::Pending => Poll::Pending,
                })
                .await;
                match step {
                    Some(Some(r)) => {
                        return Some((more(protocol::next(&m.id, &payload_json(&r))), Some(m)));
                    }
                    Some(None) => return Some((last(protocol::complete(&m.id)), None)),
                    None => {
                        // Everything up to `last` was seen by the catch-up; the
                        // shared feed has every later event.
                        m.last = c.probe.last().unwrap_or(c.after);
                        m.catch_up = None;
                        continue;
                    }
                }
            }
            match m.shared.recv().await {
                Ok(frame) => {
                    if let Some(seq) = frame.seq {
                        if seq <= m.last {
                            continue;
                        }
                        m.last = seq;
                    }
                    return Some((more(protocol::next(&m.id, &frame.payload)), Some(m)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    m.ending = true;
                    let frame = more(protocol::next(&m.id, &resync(m.last)));
                    return Some((frame, Some(m)));
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Some((last(protocol::complete(&m.id)), None));
                }
            }
        }
    })
    .boxed()
}

/// Tells a subscriber that fell behind where to resume from.
fn resync(after: i64) -> String {
    let err: async_graphql::Error = ApiError::Resync { after }.into();
    payload_json(&Response::from_errors(vec![
        err.into_server_error(async_graphql::Pos::default()),
    ]))
}
