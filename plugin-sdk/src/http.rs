//! Outbound HTTP through the host's `wasi:http`.
//!
//! The host lets a request through only when its host is in the plugin's
//! manifest (or was re-pointed there by the hub's configuration); anything
//! else comes back as [`Error::Refused`]. Calls block the plugin's instance,
//! which is what a plugin wants: one call handles one message.

use std::io::Read;

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};

/// The largest response body read; a provider's answer is far smaller.
const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The URL cannot be sent (not http/https, no host).
    InvalidUrl(String),
    /// The hub refused the destination: it is not in the plugin's manifest.
    Refused(String),
    /// Connection, TLS or protocol failure, or a timeout: usually worth a retry.
    Transport(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::InvalidUrl(m) => write!(f, "invalid URL: {m}"),
            Error::Refused(m) => write!(f, "refused by the hub: {m}"),
            Error::Transport(m) => write!(f, "HTTP transport error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// What a failed request means for a message: a refused destination is a
/// configuration fault, a malformed URL never works, anything else is
/// worth a retry. Lets a plugin's `send` write `request.send()?`.
impl From<Error> for crate::types::SendError {
    fn from(e: Error) -> Self {
        use crate::types::{RetryHint, SendError};
        match e {
            Error::Refused(m) => SendError::Unauthorized(m),
            Error::InvalidUrl(m) => SendError::Permanent(m),
            e @ Error::Transport(_) => SendError::Retryable(RetryHint {
                reason: e.to_string(),
                after_ms: None,
            }),
        }
    }
}

/// An HTTP request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout_ms: u64,
}

/// A provider's answer, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Self {
        Self {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: 20_000,
        }
    }

    pub fn get(url: &str) -> Self {
        Self::new("GET", url)
    }

    pub fn post(url: &str) -> Self {
        Self::new("POST", url)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// A JSON body with its content type.
    pub fn json<T: serde::Serialize>(self, value: &T) -> Self {
        let body = serde_json::to_vec(value).expect("a serialisable value");
        self.header("content-type", "application/json").body(body)
    }

    /// A form body (`application/x-www-form-urlencoded`), fields in the order given.
    pub fn form(self, fields: &[(&str, &str)]) -> Self {
        let body = crate::codec::form_encode(fields);
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }

    /// HTTP Basic authentication.
    pub fn basic_auth(self, user: &str, password: &str) -> Self {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.header("authorization", &format!("Basic {token}"))
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Time allowed to connect and for the first byte of the answer.
    pub fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout_ms = ms;
        self
    }

    pub fn send(self) -> Result<Response, Error> {
        let (scheme, authority, path) = split_url(&self.url)?;
        let header_list: Vec<(String, Vec<u8>)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
            .collect();
        let fields = Fields::from_list(&header_list)
            .map_err(|e| Error::InvalidUrl(format!("bad header: {e:?}")))?;
        let request = OutgoingRequest::new(fields);
        let method = match self.method.as_str() {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "PATCH" => Method::Patch,
            "HEAD" => Method::Head,
            other => Method::Other(other.to_owned()),
        };
        let bad = |what: &str| Error::InvalidUrl(format!("{what} rejected in {}", self.url));
        request.set_method(&method).map_err(|()| bad("method"))?;
        request
            .set_scheme(Some(&scheme))
            .map_err(|()| bad("scheme"))?;
        request
            .set_authority(Some(authority))
            .map_err(|()| bad("host"))?;
        request
            .set_path_with_query(Some(path))
            .map_err(|()| bad("path"))?;
        let body = request.body().map_err(|()| bad("body"))?;

        let options = RequestOptions::new();
        let ns = self.timeout_ms.saturating_mul(1_000_000);
        // A host may not support a timeout; the hub's own limits still apply.
        let _ = options.set_connect_timeout(Some(ns));
        let _ = options.set_first_byte_timeout(Some(ns));
        let future = outgoing_handler::handle(request, Some(options)).map_err(http_error)?;

        {
            let stream = body
                .write()
                .map_err(|()| Error::Transport("request body unavailable".into()))?;
            for chunk in self.body.chunks(4096) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| Error::Transport(format!("writing the request body: {e:?}")))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(http_error)?;

        let response = loop {
            match future.get() {
                Some(result) => break result,
                None => future.subscribe().block(),
            }
        };
        let response = response
            .map_err(|()| Error::Transport("response taken twice".into()))?
            .map_err(http_error)?;
        let status = response.status();
        let headers = response
            .headers()
            .entries()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8_lossy(&v).into_owned()))
            .collect();
        let incoming = response
            .consume()
            .map_err(|()| Error::Transport("response body unavailable".into()))?;
        let mut body = Vec::new();
        {
            let mut stream = incoming
                .stream()
                .map_err(|()| Error::Transport("response body unavailable".into()))?;
            let mut limited = (&mut stream).take(MAX_RESPONSE_BYTES as u64 + 1);
            limited
                .read_to_end(&mut body)
                .map_err(|e| Error::Transport(format!("reading the response: {e}")))?;
        }
        if body.len() > MAX_RESPONSE_BYTES {
            return Err(Error::Transport(format!(
                "response body over {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        let _ = IncomingBody::finish(incoming);
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, String> {
        serde_json::from_slice(&self.body).map_err(|e| {
            format!(
                "response (HTTP {}) is not the JSON expected: {e}",
                self.status
            )
        })
    }

    /// `Retry-After` in milliseconds, when given in seconds.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.header("retry-after")?
            .trim()
            .parse::<u64>()
            .ok()
            .map(|s| s.saturating_mul(1000))
    }
}

fn http_error(e: ErrorCode) -> Error {
    match e {
        ErrorCode::HttpRequestDenied => {
            Error::Refused("the destination is not in the plugin's allowed hosts".into())
        }
        other => Error::Transport(format!("{other:?}")),
    }
}

fn split_url(url: &str) -> Result<(Scheme, &str, &str), Error> {
    let (scheme, rest) = if let Some(r) = url.strip_prefix("https://") {
        (Scheme::Https, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (Scheme::Http, r)
    } else {
        return Err(Error::InvalidUrl(format!(
            "`{url}` must start with http:// or https://"
        )));
    };
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(cut);
    if authority.is_empty() || authority.contains('@') {
        return Err(Error::InvalidUrl(format!("`{url}` has no usable host")));
    }
    let path = if path.is_empty() { "/" } else { path };
    Ok((scheme, authority, path))
}
