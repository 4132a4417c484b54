//! Reading a provider's webhook request and building the answer.

use crate::types::{Header, HttpRequest, HttpResponse};

/// The first header of that name (case-insensitive).
pub fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// The query string's parameters, decoded, in order.
pub fn query(request: &HttpRequest) -> Vec<(String, String)> {
    crate::codec::form_decode(request.query.trim_start_matches('?').as_bytes())
}

/// An answer with a body of `content_type`.
pub fn response(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![Header {
            name: "content-type".into(),
            value: content_type.into(),
        }],
        body: body.into(),
    }
}

/// `200 OK` with no body: what most providers want back.
pub fn ok() -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    }
}
