//! The web inbox's static files, served at `/`.
//!
//! The app routes by the URL's fragment (`/#/chat/…`), so the server needs no
//! fallback to `index.html`: a path that is not a file is a 404. Vite names
//! the files under `assets/` by their content, so those are cached for good;
//! everything else is revalidated on each load so a new build shows at once.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeader;

/// The app loads its scripts, styles and data from the hub alone. Inline
/// style attributes are allowed (components set positions and sizes); inline
/// scripts are not.
const APP_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
form-action 'none'; object-src 'none'";

pub fn routes(dir: &Path) -> Router {
    if !dir.join("index.html").is_file() {
        tracing::warn!(
            "no web inbox at {}: `/` explains how to build it (web.dir)",
            dir.display()
        );
        let hint = format!(
            "<!doctype html><title>Hub</title><h1>The web inbox is not built</h1>\
             <p>Run <code>cargo xtask run</code>, or <code>npm ci &amp;&amp; npm run build</code> \
             in <code>web-client/</code>, then reload. The hub looks for it in <code>{}</code> \
             (setting <code>web.dir</code>). The API is at <a href=\"/graphql\">/graphql</a>.</p>",
            html_escape(&dir.display().to_string())
        );
        return Router::new().route(
            "/",
            axum::routing::get(move || async move {
                (StatusCode::SERVICE_UNAVAILABLE, Html(hint)).into_response()
            }),
        );
    }
    // The build writes a `.gz` beside each text file (web-client/gzip.ts).
    let assets = SetResponseHeader::overriding(
        ServeDir::new(dir.join("assets")).precompressed_gzip(),
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    let pages = SetResponseHeader::overriding(
        ServeDir::new(dir).precompressed_gzip(),
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache"),
    );
    Router::new()
        .nest_service("/assets", assets)
        .fallback_service(pages)
        .layer(axum::middleware::map_response(app_policy))
}

async fn app_policy(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(APP_POLICY),
    );
    response
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
