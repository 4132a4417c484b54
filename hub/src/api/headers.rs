//! Headers every response carries unless its handler set its own: nothing
//! the hub serves may be sniffed into another type, framed by another site,
//! leak its address in a `Referer`, or be kept by a shared cache (answers
//! hold customers' personal data).

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

const DEFAULTS: [(HeaderName, &str); 5] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

pub async fn security(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in DEFAULTS {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    }
    response
}
