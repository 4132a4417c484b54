//! What one plugin call runs inside: its store state, the network policy for
//! `wasi:http`, and the limits that turn a runaway call into a clean error.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};
use wasmtime_wasi_tls::{WasiTlsCtx, WasiTlsCtxView, WasiTlsView};

use super::bindings::hub::transport::host::{Host, Level};
use super::manifest::HostPattern;

/// Where a plugin may send HTTP requests.
#[derive(Debug, Clone, Default)]
pub struct NetPolicy {
    pub allowed: Vec<HostPattern>,
    /// Host name → `scheme://authority` it is re-pointed to (a local fake, a proxy).
    pub redirects: BTreeMap<String, String>,
}

pub enum Route {
    Allowed(http::Uri),
    Denied(String),
}

impl NetPolicy {
    /// Decides a request's fate and, for a re-pointed host, its new URI.
    pub fn route(&self, uri: &http::Uri) -> Route {
        let Some(host) = uri.host() else {
            return Route::Denied("the request has no host".into());
        };
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let default_port = if https { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        if let Some(base) = self.redirects.get(&host.to_ascii_lowercase()) {
            let pq = uri.path_and_query().map_or("/", |p| p.as_str());
            return match format!("{}{pq}", base.trim_end_matches('/')).parse() {
                Ok(u) => Route::Allowed(u),
                Err(e) => Route::Denied(format!("redirect of {host} to {base} is invalid: {e}")),
            };
        }
        if self
            .allowed
            .iter()
            .any(|p| p.allows(host, port, default_port))
        {
            Route::Allowed(uri.clone())
        } else {
            Route::Denied(format!(
                "{host}:{port} is not in the plugin's allowed hosts"
            ))
        }
    }
}

/// `wasi:http` hooks: every outbound request passes the plugin's policy.
pub struct HttpHooks {
    pub policy: Arc<NetPolicy>,
    pub plugin: Arc<str>,
    /// The first refusal of the call, for the host's log and error.
    pub denied: Option<String>,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        _ = fut;
        match self.policy.route(request.uri()) {
            Route::Denied(why) => {
                tracing::warn!(plugin = %self.plugin, "outbound request refused: {why}");
                self.denied.get_or_insert(why);
                Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
            }
            Route::Allowed(uri) => {
                if let Some(authority) = uri.authority()
                    && let Ok(value) = http::HeaderValue::from_str(authority.as_str())
                {
                    request.headers_mut().insert(http::header::HOST, value);
                }
                *request.uri_mut() = uri;
                Box::new(async move {
                    use http_body_util::BodyExt;
                    let (res, io) =
                        wasmtime_wasi_http::default_send_request(request, options).await?;
                    Ok((
                        res.map(BodyExt::boxed_unsync),
                        Box::new(io) as Box<dyn Future<Output = _> + Send>,
                    ))
                })
            }
        }
    }
}

/// Why the host stopped a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    Cpu { budget_ms: u64 },
    Memory { cap_bytes: usize },
}

pub struct HostState {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub hooks: HttpHooks,
    /// `wasi:tls`: usable only over the TCP a `sockets` plugin may open.
    pub tls: WasiTlsCtx,
    pub table: ResourceTable,
    pub plugin: Arc<str>,
    pub tenant: Arc<str>,
    pub memory_cap: usize,
    pub cpu_ticks: u64,
    pub cpu_budget_ticks: u64,
    pub fault: Option<Fault>,
    /// What the plugin wrote to stderr (a panic message, say), for error reports.
    pub stderr: MemoryOutputPipe,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiTlsView for HostState {
    fn tls(&mut self) -> WasiTlsCtxView<'_> {
        WasiTlsCtxView {
            ctx: &mut self.tls,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

/// Longest log line a plugin may write; the rest is cut.
const MAX_LOG_CHARS: usize = 2000;

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        let message: String = message.chars().take(MAX_LOG_CHARS).collect();
        let (plugin, tenant) = (&*self.plugin, &*self.tenant);
        match level {
            Level::Debug => tracing::debug!(target: "plugin", plugin, tenant, "{message}"),
            Level::Info => tracing::info!(target: "plugin", plugin, tenant, "{message}"),
            Level::Warn => tracing::warn!(target: "plugin", plugin, tenant, "{message}"),
            Level::Error => tracing::error!(target: "plugin", plugin, tenant, "{message}"),
        }
    }
}

impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_cap {
            self.fault = Some(Fault::Memory {
                cap_bytes: self.memory_cap,
            });
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB exceeded",
                self.memory_cap >> 20
            ));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> NetPolicy {
        NetPolicy {
            allowed: vec![HostPattern::parse("api.example.com").unwrap()],
            redirects: [(
                "api.provider.com".to_owned(),
                "http://127.0.0.1:9999".to_owned(),
            )]
            .into_iter()
            .collect(),
        }
    }

    #[test]
    fn only_allowed_hosts_pass() {
        let p = policy();
        assert!(matches!(
            p.route(&"https://api.example.com/v1/send".parse().unwrap()),
            Route::Allowed(_)
        ));
        for denied in [
            "https://evil.example.com/",
            "https://api.example.com:8443/",
            "http://127.0.0.1:1/",
        ] {
            match p.route(&denied.parse().unwrap()) {
                Route::Denied(why) => assert!(why.contains("not in the plugin's allowed hosts")),
                Route::Allowed(u) => panic!("{denied} was allowed as {u}"),
            }
        }
    }

    #[test]
    fn redirected_hosts_keep_path_and_query() {
        match policy().route(
            &"https://api.provider.com/2010/Messages.json?x=1"
                .parse()
                .unwrap(),
        ) {
            Route::Allowed(u) => {
                assert_eq!(
                    u.to_string(),
                    "http://127.0.0.1:9999/2010/Messages.json?x=1"
                )
            }
            Route::Denied(why) => panic!("{why}"),
        }
    }
}
