//! The `hub` command.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hub::config::Config;
use hub::store::Store;

#[derive(Parser)]
#[command(name = "hub", version, about = "The CRM's messaging hub")]
struct Cli {
    /// Configuration file (TOML). Every key can also be set as HUB_<SECTION>__<KEY>.
    #[arg(long, short, global = true, env = "HUB_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub: migrate, then serve the API.
    Serve {
        /// Fill the first tenant with a sample workspace and simulated
        /// customers who answer (through the `webhook` plugin): try the
        /// product without any provider account.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Provider plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// A client's data under GDPR: export everything held, or erase it.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
}

#[derive(Subcommand)]
enum ClientCommand {
    /// Print everything held about a client as one JSON archive.
    Export {
        #[arg(long)]
        tenant: String,
        /// The client's id.
        #[arg(long)]
        id: String,
    },
    /// Remove a client and all their data for good (not undone by restore).
    Erase {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        id: String,
        /// Confirms that the erasure cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every tenant's log (or one) against its hash chain: an edited,
    /// removed or reordered entry is reported and the command fails.
    Verify {
        /// A tenant's slug; all tenants when left out.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load every plugin of the plugins directory and show what each is,
    /// may do and is limited to, or why it does not load.
    List,
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant with an admin user; prints the admin's password when generated.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        admin_email: String,
        /// Taken from HUB_ADMIN_PASSWORD when set; generated otherwise.
        #[arg(long, env = "HUB_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: Option<String>,
    },
    /// List tenants.
    List,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Command::Schema = cli.command {
        print!("{}", hub::api::graphql::sdl());
        return Ok(());
    }
    let env = std::env::vars().filter(|(k, _)| k != "HUB_CONFIG" && k != "HUB_ADMIN_PASSWORD");
    let config = Config::load(cli.config.as_deref(), env)?;
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&config.log))
        .with_writer(std::io::stderr)
        .init();
    // SAFETY: no other thread runs yet; the runtime is built below.
    unsafe { config.export_embedded_engine_env() };
    // The embedded database recurses deeply on complex queries.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(10 * 1024 * 1024)
        .build()?;
    runtime.block_on(run(cli.command, config))
}

async fn open_store(config: &Config) -> Result<Store> {
    if let Some(dir) = config.database.url.strip_prefix("surrealkv://") {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the data directory {dir}"))?;
    }
    Store::open(&config.database_settings())
        .await
        .with_context(|| format!("cannot open the database at {}", config.database.url))
}

async fn run(command: Command, config: Config) -> Result<()> {
    match command {
        Command::Schema => unreachable!("handled before configuration is read"),
        Command::Migrate => {
            let store = open_store(&config).await?;
            println!(
                "database at schema version {}",
                store.schema_version().await?
            );
        }
        Command::Tenant {
            command: TenantCommand::List,
        } => {
            let store = open_store(&config).await?;
            for t in store.tenants().await? {
                println!("{}\t{}\t{}", t.slug, t.name, t.id);
            }
        }
        Command::Tenant {
            command:
                TenantCommand::Create {
                    name,
                    slug,
                    admin_email,
                    admin_password,
                },
        } => {
            let store = open_store(&config).await?;
            let created = hub::bootstrap::create_tenant(
                &store,
                &name,
                &slug,
                &admin_email,
                admin_password.as_deref(),
            )
            .await?;
            println!(
                "created tenant `{}` with admin {}",
                created.tenant.slug, created.admin.email
            );
            if let Some(p) = created.generated_password {
                println!("admin password (shown once): {p}");
            }
        }
        Command::Plugin {
            command: PluginCommand::List,
        } => plugin_list(&config).await?,
        Command::Serve { demo } => serve(config, demo).await?,
        Command::Client { command } => client_data(&config, command).await?,
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => audit_verify(&config, tenant.as_deref()).await?,
    }
    Ok(())
}

async fn serve(mut config: Config, demo: bool) -> Result<()> {
    let store = open_store(&config).await?;
    if !store.has_tenants().await? {
        let b = &config.bootstrap;
        let created = hub::bootstrap::create_tenant(
            &store,
            &b.tenant_name,
            &b.tenant_slug,
            &b.admin_email,
            b.admin_password.as_deref(),
        )
        .await;
        match created {
            Ok(created) => {
                println!(
                    "First start: created tenant `{}` and its admin.",
                    created.tenant.slug
                );
                println!("  tenant:   {}", created.tenant.slug);
                println!("  e-mail:   {}", created.admin.email);
                match &created.generated_password {
                    Some(p) => {
                        println!("  password: {p}   (shown once; change it after signing in)")
                    }
                    None => println!("  password: the one set in bootstrap.admin_password"),
                }
            }
            // Another hub process starting on the same empty database made it first.
            Err(_) if store.has_tenants().await? => {
                tracing::info!("the first tenant was created by another hub process");
            }
            Err(e) => return Err(e).context("cannot create the first tenant"),
        }
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let demo = demo.then(|| hub::demo::Demo::enable(&mut config, addr));
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let bus = Arc::new(hub::events::EventBus::new(
        config.events.subscriber_buffer,
        store.last_event_seq().await?,
    ));
    hub::events::spawn_tailer(
        store.clone(),
        bus.clone(),
        std::time::Duration::from_millis(config.events.poll_ms),
    );
    hub::delivery::webhooks::spawn_worker(store.clone(), std::time::Duration::from_millis(500));
    hub::search::spawn(
        store.clone(),
        std::time::Duration::from_millis(config.search.pace_ms),
    );
    let plugins = load_plugins(&config).await?;
    let transports = hub::delivery::transports::Transports::new(plugins, store.clone());
    bus.observe({
        use hub::domain::events::EventKind;
        let (transports, store) = (transports.clone(), store.clone());
        move |event| {
            let kind = event.kind.as_str();
            if kind == EventKind::PluginConfigured.as_str() {
                transports.forget(event.tenant);
            }
            // Written through another hub: this one forgets what it kept.
            if kind == EventKind::TokenRevoked.as_str() || kind == EventKind::UserUpdated.as_str() {
                store.forget_tokens(event.tenant);
            }
        }
    });
    let worker = hub::delivery::outbox::OutboxWorker::new(
        store.clone(),
        transports.clone(),
        config.delivery.clone(),
        Some(public.clone()),
    );
    let outbox = worker.signal();
    worker.spawn();
    let intake = Arc::new(hub::delivery::inbound::Intake {
        files: hub::files::FileStore::from_config(&config.files),
        default_region: config.contacts.default_region.clone(),
        tenants: Default::default(),
    });
    hub::retention::spawn(
        store.clone(),
        intake.files.clone(),
        std::time::Duration::from_secs(config.retention.interval_secs),
    );
    hub::delivery::poller::spawn(
        store.clone(),
        transports.clone(),
        std::time::Duration::from_millis(config.plugins.poll_ms),
        std::time::Duration::from_secs(config.plugins.poll_lease_secs),
        intake.clone(),
    );
    let seed_store = store.clone();
    let tenant_slug = config.bootstrap.tenant_slug.clone();
    let sign_in = Arc::new(hub::auth::SignInThrottle::from_config(
        &config.auth,
        store.clone(),
    ));
    let mut app = hub::api::router(hub::api::AppState {
        store,
        sign_in,
        config: Arc::new(config),
        bus,
        transports,
        outbox,
        public_url: public.clone(),
        intake,
    });
    // Tests and scripts read this line to learn the port. A reader that has
    // gone away (a closed pipe) must not stop the server.
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "hub listening on http://{addr}");
    let _ = writeln!(
        out,
        "Open {public}/graphql to explore the API; sign in with mutation signIn(tenant, email, password)."
    );
    if demo.is_some() {
        let _ = writeln!(
            out,
            "Demo mode: tenant `{tenant_slug}` gets sample clients, chats and templates, and its customers answer.\n  \
             Team members lead@example.com, agent@example.com, sales@example.com sign in with \"{}\".",
            hub::demo::TEAM_PASSWORD
        );
    }
    let _ = out.flush();
    drop(out);
    if let Some(demo) = demo {
        app = app.merge(demo.router());
        tokio::spawn(async move {
            if let Err(e) = demo.seed(&seed_store, &tenant_slug).await {
                tracing::error!(error = %e, "demo: the sample workspace could not be written");
            }
        });
    }
    tracing::info!(%addr, "listening");
    // Without TCP_NODELAY a small frame written while the previous one is
    // unacknowledged waits for the peer's delayed ACK: 40 ms on Linux, the
    // whole budget of a live update.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

async fn client_data(config: &Config, command: ClientCommand) -> Result<()> {
    let (ClientCommand::Export { tenant, id } | ClientCommand::Erase { tenant, id, .. }) = &command;
    let store = open_store(config).await?;
    let t = store
        .tenant_by_slug(tenant)
        .await?
        .with_context(|| format!("no tenant `{tenant}`"))?;
    let client: hub::domain::ids::ClientId = id
        .parse()
        .map_err(|e: hub::domain::DomainError| anyhow::anyhow!("--id: {}", e.message))?;
    let files = hub::files::FileStore::from_config(&config.files);
    let store = store.tenant(t.id);
    let operator = hub::domain::events::Actor::System;
    match command {
        ClientCommand::Export { .. } => {
            let archive = hub::privacy::export(&store, &files, client, &operator).await?;
            println!("{}", serde_json::to_string_pretty(&archive)?);
        }
        ClientCommand::Erase { yes, .. } => {
            if !yes {
                anyhow::bail!("erasing cannot be undone: add --yes to go ahead");
            }
            let e = hub::privacy::erase(&store, &files, client, &operator).await?;
            println!(
                "erased client {id}: {} contacts, {} messages, {} files; {} audit entries keep only their place in the chain",
                e.contacts,
                e.messages,
                e.orphaned_files.len(),
                e.audit_entries
            );
        }
    }
    Ok(())
}

async fn audit_verify(config: &Config, only: Option<&str>) -> Result<()> {
    let store = open_store(config).await?;
    let tenants: Vec<_> = store
        .tenants()
        .await?
        .into_iter()
        .filter(|t| only.is_none_or(|slug| t.slug == slug))
        .collect();
    if let Some(slug) = only
        && tenants.is_empty()
    {
        anyhow::bail!("no tenant `{slug}`");
    }
    let mut broken = 0;
    for t in &tenants {
        match store.tenant(t.id).verify_audit_chain().await? {
            Ok(v) => {
                print!("{}: ok, {} entries, head {}", t.slug, v.entries, v.head);
                if v.unchained > 0 {
                    print!(
                        " ({} older entries from before the chain, not covered)",
                        v.unchained
                    );
                }
                if v.erased > 0 {
                    print!(" ({} erased, covered by their digests)", v.erased);
                }
                println!();
            }
            Err(b) => {
                broken += 1;
                println!("{}: TAMPERED: {b}", t.slug);
            }
        }
    }
    if broken > 0 {
        anyhow::bail!("the audit log of {broken} tenant(s) failed verification");
    }
    Ok(())
}

async fn load_plugins(config: &Config) -> Result<Arc<hub::plugins::PluginHost>> {
    let host = hub::plugins::PluginHost::new(config.plugins.clone(), config.plugin.clone())?;
    if !config.plugins.dir.is_dir() {
        tracing::warn!(
            "no plugins directory at {}: no message can be sent until plugins are installed there (plugins.dir)",
            config.plugins.dir.display()
        );
        return Ok(host);
    }
    let report = host.load().await;
    for name in config.plugin.keys() {
        if host.get(name).is_none() {
            tracing::warn!(plugin = %name, "configured under [plugin.{name}] but not loaded");
        }
    }
    tracing::info!(loaded = report.loaded.len(), failed = report.failed.len(), dir = %config.plugins.dir.display(), "plugins loaded");
    Ok(host)
}

async fn plugin_list(config: &Config) -> Result<()> {
    let host = hub::plugins::PluginHost::new(config.plugins.clone(), config.plugin.clone())?;
    let report = host.load().await;
    println!("plugins in {}", config.plugins.dir.display());
    for p in host.all() {
        let m = &p.manifest;
        println!("{} {}  {}", m.name, m.version, m.description);
        println!("  channels:      {}", m.channels.join(", "));
        println!(
            "  allowed hosts: {}",
            if m.allowed_hosts.is_empty() {
                "(none)".to_owned()
            } else {
                m.allowed_hosts.join(", ")
            }
        );
        println!("  polled:        {}", m.poll);
        println!(
            "  limits:        {} MiB, {} ms CPU, {} ms per call, {} instances",
            p.limits.memory_bytes >> 20,
            p.limits.cpu.as_millis(),
            p.limits.timeout.as_millis(),
            p.limits.max_instances
        );
        let keys: Vec<String> = m
            .settings
            .iter()
            .map(|s| format!("{}{}", s.key, if s.required { "*" } else { "" }))
            .collect();
        println!("  settings:      {}", keys.join(", "));
    }
    for (name, why) in &report.failed {
        println!("{name}: NOT LOADED: {why}");
    }
    if !report.failed.is_empty() {
        anyhow::bail!("{} plugin(s) failed to load", report.failed.len());
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests under way.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down");
}
