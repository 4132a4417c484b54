//! The wasmtime host: one engine, one linker, every plugin call in a fresh,
//! limited instance.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, UpdateDeadline,
};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi_http::WasiHttpCtx;
use wasmtime_wasi_tls::WasiTlsCtxBuilder;

use super::bindings::{Provider, ProviderPre, types};
use super::error::PluginError;
use super::manifest::{Capability, HostPattern, Manifest};
use super::sandbox::{Fault, HostState, HttpHooks, NetPolicy};
use super::tls::HubTls;
use crate::config::{PluginOverrides, PluginsConfig};
use crate::domain::message::Transport;

/// One epoch tick; CPU budgets are counted in ticks.
const TICK: Duration = Duration::from_millis(10);

/// Limits of one plugin's calls.
#[derive(Debug, Clone, Copy)]
pub struct CallLimits {
    pub memory_bytes: usize,
    pub cpu: Duration,
    pub timeout: Duration,
    pub max_instances: u32,
}

/// A loaded plugin: compiled, checked, ready to instantiate.
pub struct Plugin {
    pub manifest: Manifest,
    pub info: types::PluginInfo,
    pub limits: CallLimits,
    pub path: PathBuf,
    policy: Arc<NetPolicy>,
    /// For plugins with the `sockets` capability: the addresses their
    /// allowed hosts resolved to when loaded; TCP goes nowhere else.
    tcp_allowed: Option<Arc<Vec<std::net::SocketAddr>>>,
    tls: HubTls,
    pre: ProviderPre<HostState>,
    engine: Engine,
    slots: Semaphore,
    name: Arc<str>,
}

/// The plugins of this hub process, reloadable while it runs.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    config: PluginsConfig,
    overrides: BTreeMap<String, PluginOverrides>,
    tls: HubTls,
    plugins: RwLock<Arc<BTreeMap<String, Arc<Plugin>>>>,
}

/// The outcome of loading the plugins directory: what loaded, what did not and why.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    pub failed: Vec<(String, String)>,
}

impl PluginHost {
    pub fn new(
        config: PluginsConfig,
        overrides: BTreeMap<String, PluginOverrides>,
    ) -> Result<Arc<Self>, PluginError> {
        let mut pool = PoolingAllocationConfig::default();
        let slots = config.max_instances;
        pool.total_component_instances(slots)
            .total_core_instances(slots * 4)
            .total_memories(slots * 2)
            .total_tables(slots * 4)
            .total_stacks(slots)
            .max_memory_size(config.max_memory_mib as usize * 1024 * 1024);
        let mut wcfg = Config::new();
        wcfg.epoch_interruption(true)
            .wasm_component_model(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&wcfg).map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        let link = |r: wasmtime::Result<()>| r.map_err(|e| PluginError::Engine(format!("{e:#}")));
        link(wasmtime_wasi::p2::add_to_linker_async(&mut linker))?;
        link(wasmtime_wasi_http::p2::add_only_http_to_linker_async(
            &mut linker,
        ))?;
        let mut tls_options = wasmtime_wasi_tls::p2::LinkOptions::default();
        tls_options.tls(true);
        link(wasmtime_wasi_tls::p2::add_to_linker(
            &mut linker,
            &tls_options,
        ))?;
        let tls = HubTls::new(config.tls_ca_file.as_deref())?;
        link(super::bindings::hub::transport::host::add_to_linker::<
            _,
            HasSelf<HostState>,
        >(&mut linker, |s| s))?;
        spawn_ticker(engine.weak());
        Ok(Arc::new(Self {
            engine,
            linker,
            config,
            overrides,
            tls,
            plugins: RwLock::new(Arc::new(BTreeMap::new())),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.config.dir
    }

    /// (Re)loads every plugin of the directory. A plugin that fails to load
    /// is reported and left out; the others replace the previous set at once.
    pub async fn load(self: &Arc<Self>) -> LoadReport {
        let this = self.clone();
        let (loaded, report) = tokio::task::spawn_blocking(move || this.load_dir())
            .await
            .unwrap_or_else(|e| {
                (
                    BTreeMap::new(),
                    LoadReport {
                        loaded: vec![],
                        failed: vec![("*".into(), format!("loader panicked: {e}"))],
                    },
                )
            });
        let mut loaded_ok = loaded;
        // `info` must agree with the manifest; checking it needs an instance.
        let mut report = report;
        let names: Vec<String> = loaded_ok.keys().cloned().collect();
        for name in names {
            let checked = loaded_ok[&name].check_info().await;
            match checked {
                Ok(info) => {
                    if let Some(p) = loaded_ok.get_mut(&name).and_then(Arc::get_mut) {
                        p.info = info;
                    }
                    report.loaded.push(name);
                }
                Err(e) => {
                    loaded_ok.remove(&name);
                    report.failed.push((name, e.to_string()));
                }
            }
        }
        for (name, why) in &report.failed {
            tracing::error!(plugin = %name, "plugin not loaded: {why}");
        }
        for name in &report.loaded {
            tracing::info!(plugin = %name, "plugin loaded");
        }
        *self.plugins.write().expect("plugin table") = Arc::new(loaded_ok);
        report
    }

    fn load_dir(&self) -> (BTreeMap<String, Arc<Plugin>>, LoadReport) {
        let mut out = BTreeMap::new();
        let mut report = LoadReport::default();
        let dir = &self.config.dir;
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                report
                    .failed
                    .push(("*".into(), format!("cannot read {}: {e}", dir.display())));
                return (out, report);
            }
        };
        let mut manifests: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        manifests.sort();
        for path in manifests {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            match self.load_one(&path, &stem) {
                Ok(p) => {
                    out.insert(stem, Arc::new(p));
                }
                Err(e) => report.failed.push((stem, e.to_string())),
            }
        }
        (out, report)
    }

    fn load_one(&self, manifest_path: &Path, stem: &str) -> Result<Plugin, PluginError> {
        let file = manifest_path.display().to_string();
        let text = std::fs::read_to_string(manifest_path)
            .map_err(|e| PluginError::Load(format!("cannot read {file}: {e}")))?;
        let manifest =
            Manifest::parse(&file, &text).map_err(|e| PluginError::Load(e.to_string()))?;
        if manifest.name != stem {
            return Err(PluginError::Load(format!(
                "{file}: name `{}` must match the file name `{stem}`",
                manifest.name
            )));
        }
        let wasm = manifest_path.with_extension("wasm");
        let component = Component::from_file(&self.engine, &wasm)
            .map_err(|e| PluginError::Load(format!("{}: {e:#}", wasm.display())))?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(ProviderPre::new)
            .map_err(|e| {
                PluginError::Load(format!(
                    "{}: does not fit the hub:transport@0.2.0 contract: {e:#}",
                    wasm.display()
                ))
            })?;
        let over = self.overrides.get(stem).cloned().unwrap_or_default();
        let mut allowed = Vec::new();
        for h in manifest.allowed_hosts.iter().chain(&over.allow_hosts) {
            allowed.push(HostPattern::parse(h).map_err(PluginError::Load)?);
        }
        let redirects = over
            .hosts
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let tcp_allowed = if manifest.capabilities.contains(&Capability::Sockets) {
            let mut addrs = Vec::new();
            for p in &allowed {
                let port = p.port.ok_or_else(|| {
                    PluginError::Load(format!(
                        "{file}: `{}` needs a port for the sockets capability",
                        p.host
                    ))
                })?;
                use std::net::ToSocketAddrs;
                match (p.host.as_str(), port).to_socket_addrs() {
                    Ok(found) => addrs.extend(found),
                    Err(e) => {
                        tracing::warn!(plugin = %manifest.name, "cannot resolve {}: {e}", p.host)
                    }
                }
            }
            Some(Arc::new(addrs))
        } else {
            None
        };
        let policy = if manifest.capabilities.contains(&Capability::Http) {
            NetPolicy { allowed, redirects }
        } else {
            NetPolicy::default()
        };
        let pick = |o: Option<u64>, m: Option<u64>, d: u64| o.or(m).unwrap_or(d);
        let memory_mib = over
            .memory_mib
            .or(manifest.limits.memory_mib)
            .unwrap_or(32)
            .min(self.config.max_memory_mib);
        let limits = CallLimits {
            memory_bytes: memory_mib as usize * 1024 * 1024,
            cpu: Duration::from_millis(pick(over.cpu_ms, manifest.limits.cpu_ms, 1_000)),
            timeout: Duration::from_millis(pick(
                over.timeout_ms,
                manifest.limits.timeout_ms,
                30_000,
            )),
            max_instances: over
                .max_instances
                .or(manifest.limits.max_instances)
                .unwrap_or(16)
                .min(self.config.max_instances),
        };
        Ok(Plugin {
            info: types::PluginInfo {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                channels: vec![],
            },
            name: manifest.name.as_str().into(),
            slots: Semaphore::new(limits.max_instances as usize),
            manifest,
            limits,
            path: wasm,
            policy: Arc::new(policy),
            tcp_allowed,
            tls: self.tls.clone(),
            pre,
            engine: self.engine.clone(),
        })
    }

    pub fn get(&self, name: &str) -> Option<Arc<Plugin>> {
        self.plugins
            .read()
            .expect("plugin table")
            .get(name)
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<Plugin>> {
        self.plugins
            .read()
            .expect("plugin table")
            .values()
            .cloned()
            .collect()
    }

    /// Settings from the hub's configuration, the default for every tenant.
    pub fn default_settings(&self, plugin: &str) -> BTreeMap<String, String> {
        self.overrides
            .get(plugin)
            .map(|o| o.settings.clone())
            .unwrap_or_default()
    }
}

/// Advances the engine's epoch until the engine is dropped.
fn spawn_ticker(engine: wasmtime::EngineWeak) {
    std::thread::Builder::new()
        .name("wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = engine.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("spawn the epoch thread");
}

/// One settings list as the plugin receives it.
pub type SettingList = Vec<(String, String)>;

impl Plugin {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn transports(&self) -> Vec<Transport> {
        self.manifest.transports()
    }

    fn new_store(&self, tenant: &str) -> Store<HostState> {
        let stderr = MemoryOutputPipe::new(4096);
        let mut wasi = WasiCtxBuilder::new();
        // No files, no environment, no arguments, no sockets: only what the
        // builder grants explicitly is there.
        wasi.stderr(stderr.clone())
            .allow_udp(false)
            .allow_tcp(false)
            .allow_ip_name_lookup(false);
        if let Some(allowed) = &self.tcp_allowed {
            let allowed = allowed.clone();
            wasi.allow_tcp(true)
                .allow_ip_name_lookup(true)
                .socket_addr_check(move |addr, use_| {
                    use wasmtime_wasi::sockets::SocketAddrUse;
                    let ok = match use_ {
                        SocketAddrUse::TcpConnect => allowed.contains(&addr),
                        // A connect first binds an ephemeral local port (the
                        // unspecified address, port 0); no other bind.
                        SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
                        _ => false,
                    };
                    Box::pin(async move { ok })
                });
        }
        let cpu_budget_ticks = (self.limits.cpu.as_millis() / TICK.as_millis()).max(1) as u64;
        let state = HostState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            tls: WasiTlsCtxBuilder::new()
                .provider(Box::new(self.tls.clone()))
                .build(),
            hooks: HttpHooks {
                policy: self.policy.clone(),
                plugin: self.name.clone(),
                denied: None,
            },
            table: ResourceTable::new(),
            plugin: self.name.clone(),
            tenant: tenant.into(),
            memory_cap: self.limits.memory_bytes,
            cpu_ticks: 0,
            cpu_budget_ticks,
            fault: None,
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| s);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            let s = ctx.data_mut();
            s.cpu_ticks += 1;
            if s.cpu_ticks > s.cpu_budget_ticks {
                let budget_ms = s.cpu_budget_ticks * TICK.as_millis() as u64;
                s.fault = Some(Fault::Cpu { budget_ms });
                return Err(wasmtime::format_err!(
                    "CPU deadline of {budget_ms} ms exceeded"
                ));
            }
            // Let other tasks run between slices of a long computation.
            Ok(UpdateDeadline::Yield(1))
        });
        store
    }

    /// Runs one call under the plugin's instance bound and wall-clock
    /// timeout; a failure is logged with the plugin and tenant.
    async fn guarded<R>(
        &self,
        tenant: &str,
        call: impl Future<Output = Result<R, PluginError>>,
    ) -> Result<R, PluginError> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| PluginError::Unloaded(self.name.to_string()))?;
        let result = match tokio::time::timeout(self.limits.timeout, call).await {
            Ok(r) => r,
            Err(_) => Err(PluginError::Timeout {
                plugin: self.name.to_string(),
                ms: self.limits.timeout.as_millis() as u64,
            }),
        };
        if let Err(e) = &result {
            tracing::warn!(plugin = %self.name, tenant, "plugin call failed: {e}");
        }
        result
    }

    /// A fresh instance, configured with `settings` when given.
    async fn prepare(
        &self,
        tenant: &str,
        settings: Option<&SettingList>,
    ) -> Result<(Store<HostState>, Provider), PluginError> {
        let mut store = self.new_store(tenant);
        let provider = match self.pre.instantiate_async(&mut store).await {
            Ok(p) => p,
            Err(e) => return Err(self.fault(&store, e)),
        };
        if let Some(settings) = settings {
            let list: Vec<types::Setting> = settings
                .iter()
                .map(|(k, v)| types::Setting {
                    key: k.clone(),
                    value: v.clone(),
                })
                .collect();
            let answer = provider
                .hub_transport_transport()
                .call_configure(&mut store, &list)
                .await;
            match answer {
                Ok(Ok(())) => {}
                Ok(Err(message)) => {
                    return Err(PluginError::Settings {
                        plugin: self.name.to_string(),
                        message,
                    });
                }
                Err(e) => return Err(self.fault(&store, e)),
            }
        }
        Ok((store, provider))
    }

    /// The outcome of a guest call, with a trap turned into a [`PluginError`].
    fn finish<R>(
        &self,
        store: &Store<HostState>,
        r: wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        if let Some(why) = &store.data().hooks.denied {
            tracing::warn!(plugin = %self.name, tenant = %store.data().tenant, "the plugin tried a host it may not reach: {why}");
        }
        r.map_err(|e| self.fault(store, e))
    }

    fn fault(&self, store: &Store<HostState>, e: wasmtime::Error) -> PluginError {
        let plugin = self.name.to_string();
        let data = store.data();
        match &data.fault {
            Some(Fault::Cpu { budget_ms }) => PluginError::CpuDeadline {
                plugin,
                ms: *budget_ms,
            },
            Some(Fault::Memory { cap_bytes }) => PluginError::MemoryLimit {
                plugin,
                mib: cap_bytes >> 20,
            },
            None => {
                let stderr = String::from_utf8_lossy(&data.stderr.contents())
                    .trim()
                    .to_owned();
                let detail = if stderr.is_empty() {
                    format!("{e:#}")
                } else {
                    format!("{e:#}; it wrote: {stderr}")
                };
                PluginError::Trap { plugin, detail }
            }
        }
    }

    async fn check_info(&self) -> Result<types::PluginInfo, PluginError> {
        let info = self
            .guarded("-", async {
                let (mut store, p) = self.prepare("-", None).await?;
                let r = p.hub_transport_transport().call_info(&mut store).await;
                self.finish(&store, r)
            })
            .await?;
        let manifest_channels = self.manifest.transports();
        for c in &info.channels {
            let t = super::convert::transport_of(*c);
            if !manifest_channels.contains(&t) {
                return Err(PluginError::Load(format!(
                    "`info` names channel {t}, which the manifest does not list"
                )));
            }
        }
        if info.name != self.manifest.name {
            return Err(PluginError::Load(format!(
                "`info` says the plugin is `{}`, the manifest says `{}`",
                info.name, self.manifest.name
            )));
        }
        Ok(info)
    }

    /// Checks settings by handing them to the plugin's `configure`.
    pub async fn check_settings(
        &self,
        tenant: &str,
        settings: &SettingList,
    ) -> Result<(), PluginError> {
        self.guarded(tenant, async {
            self.prepare(tenant, Some(settings)).await.map(|_| ())
        })
        .await
    }

    pub async fn send(
        &self,
        tenant: &str,
        settings: &SettingList,
        message: &types::OutboundMessage,
    ) -> Result<Result<types::Sent, types::SendError>, PluginError> {
        self.guarded(tenant, async {
            let (mut store, p) = self.prepare(tenant, Some(settings)).await?;
            let r = p
                .hub_transport_transport()
                .call_send(&mut store, message)
                .await;
            self.finish(&store, r)
        })
        .await
    }

    pub async fn handle_webhook(
        &self,
        tenant: &str,
        settings: &SettingList,
        request: &types::HttpRequest,
    ) -> Result<Result<types::WebhookResult, types::WebhookError>, PluginError> {
        self.guarded(tenant, async {
            let (mut store, p) = self.prepare(tenant, Some(settings)).await?;
            let r = p
                .hub_transport_transport()
                .call_handle_webhook(&mut store, request)
                .await;
            self.finish(&store, r)
        })
        .await
    }

    pub async fn poll(
        &self,
        tenant: &str,
        settings: &SettingList,
        cursor: Option<String>,
    ) -> Result<Result<types::PollResult, types::SendError>, PluginError> {
        self.guarded(tenant, async {
            let (mut store, p) = self.prepare(tenant, Some(settings)).await?;
            let r = p
                .hub_transport_transport()
                .call_poll(&mut store, cursor.as_deref())
                .await;
            self.finish(&store, r)
        })
        .await
    }
}
