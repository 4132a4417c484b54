//! Local stand-ins for the providers' APIs. Each speaks its provider's wire
//! format as the public API reference documents it: the same paths, auth,
//! encodings, answers and error bodies. A fake records every request, and a
//! test can queue the answers to give before the normal one (a 429, a 5xx, a
//! refusal), so the plugins meet the failures the real services produce.

pub mod instagram;
pub mod telegram;
pub mod twilio;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// One request a fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The form fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_bytes(&self.body).expect("a form body")
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    pub fn form_values(&self, key: &str) -> Vec<String> {
        self.form()
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect()
    }
}

/// An answer queued by a test.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Canned {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    pub fn into_response(self) -> Response {
        let mut r = (
            StatusCode::from_u16(self.status).expect("a status code"),
            self.body,
        )
            .into_response();
        for (k, v) in self.headers {
            r.headers_mut()
                .insert(k, HeaderValue::from_str(&v).expect("a header value"));
        }
        r
    }
}

/// What every fake shares: the requests it saw and the answers queued.
#[derive(Default)]
pub struct Log {
    requests: Mutex<Vec<Recorded>>,
    canned: Mutex<VecDeque<Canned>>,
}

impl Log {
    pub fn record(
        &self,
        method: Method,
        uri: &axum::http::Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Recorded {
        let r = Recorded {
            at: Instant::now(),
            method,
            path: uri.path().to_owned(),
            query: uri.query().unwrap_or_default().to_owned(),
            headers,
            body,
        };
        self.requests.lock().unwrap().push(r.clone());
        r
    }

    /// The next queued answer, if a test queued one.
    pub fn next_canned(&self) -> Option<Canned> {
        self.canned.lock().unwrap().pop_front()
    }

    pub fn queue(&self, answer: Canned) {
        self.canned.lock().unwrap().push_back(answer);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until `n` requests whose path ends with `suffix` arrived.
    pub async fn wait_for(&self, suffix: &str, n: usize, within: Duration) -> Vec<Recorded> {
        let deadline = Instant::now() + within;
        loop {
            let got: Vec<Recorded> = self
                .requests()
                .into_iter()
                .filter(|r| r.path.ends_with(suffix))
                .collect();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Serves `app` on an ephemeral loopback port; returns `http://127.0.0.1:<port>`.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a fake");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}
