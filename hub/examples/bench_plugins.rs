//! The plugin host's cost and the outbox's throughput.
//!
//! 1. Host overhead: a `send` to the `hostile` plugin in mode `ok`, which
//!    does no network, timed end to end: a fresh instance from the pool,
//!    `configure`, `send`, teardown.
//! 2. Throughput: messages queued in an embedded database, delivered by the
//!    real outbox worker through the real `webhook` plugin to a local
//!    receiver, until every one is `sent`.
//!
//! `cargo xtask bench plugins [-- --calls 5000 --messages 2000]`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use hub::config::{Config, PluginOverrides};
use hub::domain::client::Client;
use hub::domain::contact::{Contact, ContactKind, ContactValue};
use hub::domain::events::Actor;
use hub::domain::message::{DeliveryStatus, Message, Sender, Transport};
use hub::plugins::PluginHost;
use hub::plugins::types::{Channel, OutboundMessage};
use hub::store::Store;
use hub::store::messages::Outgoing;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn pct(samples: &mut [Duration], q: f64) -> f64 {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e6
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(10 * 1024 * 1024)
        .build()?
        .block_on(bench())
}

async fn bench() -> anyhow::Result<()> {
    let dir = arg("--plugins", "target/plugins-dist");
    let calls: usize = arg("--calls", "5000").parse()?;
    let messages: usize = arg("--messages", "2000").parse()?;

    let receiver = Receiver::start().await;
    let mut config = Config::load(None, Vec::<(String, String)>::new())?;
    config.plugins.dir = dir.clone().into();
    config.plugin.insert(
        "webhook".into(),
        PluginOverrides {
            allow_hosts: vec![receiver.addr.to_string()],
            settings: [
                ("url".to_owned(), format!("http://{}/in", receiver.addr)),
                ("secret".to_owned(), "bench-secret-0123456789".to_owned()),
            ]
            .into_iter()
            .collect(),
            ..Default::default()
        },
    );
    let host = PluginHost::new(config.plugins.clone(), config.plugin.clone())?;
    let report = host.load().await;
    anyhow::ensure!(
        report.failed.is_empty(),
        "plugins failed to load from {dir}: {:?}",
        report.failed
    );

    // 1. Host overhead.
    let hostile = host.get("hostile").expect("the hostile plugin");
    let settings = vec![("mode".to_owned(), "ok".to_owned())];
    let message = OutboundMessage {
        idempotency_key: "bench".into(),
        channel: Channel::Sms,
        recipient: "+14155550100".into(),
        text: "hello".into(),
        attachments: vec![],
        status_callback_url: None,
        last_inbound_ms: None,
        thread: vec![],
    };
    for _ in 0..200 {
        hostile.send("bench", &settings, &message).await?.ok();
    }
    let mut samples = Vec::with_capacity(calls);
    let start = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        let r = hostile.send("bench", &settings, &message).await?;
        samples.push(t.elapsed());
        assert!(r.is_ok());
    }
    let wall = start.elapsed();
    println!(
        "host overhead: send (instantiate + configure + send, no network)  n={calls}  p50={:.1} µs  p99={:.1} µs  max={:.1} µs  {:.0} calls/s on one task",
        pct(&mut samples, 0.50),
        pct(&mut samples, 0.99),
        pct(&mut samples, 1.0),
        calls as f64 / wall.as_secs_f64()
    );

    // 2. Outbox throughput through the webhook plugin.
    let db = tempfile::tempdir()?;
    config.database.url = format!("surrealkv://{}", db.path().join("db").display());
    let store = Store::open(&config.database_settings()).await?;
    let created = hub::bootstrap::create_tenant(
        &store,
        "Bench",
        "bench",
        "admin@bench.test",
        Some("bench password 1"),
    )
    .await?;
    let ts = store.tenant(created.tenant.id);
    let now = Utc::now();
    let client = Client::new(created.tenant.id, "Receiver", now)?;
    let phone = ContactValue::parse(ContactKind::Phone, "+14155550100", None)?;
    ts.create_client(&client, &[Contact::new(phone, None, now)?], &Actor::System)
        .await?;
    let (chat, _) = ts.open_chat(client.id(), None, &Actor::System).await?;
    let chat = chat.chat;
    let user = created.admin.id;
    let started = Instant::now();
    let mut ids = Vec::with_capacity(messages);
    for i in 0..messages {
        let m = Message::new(
            chat.id(),
            &format!("message {i}"),
            Sender::User {
                user_id: user,
                name: "Bench".into(),
            },
            Transport::Sms,
            vec![],
            Utc::now(),
        )?;
        ts.queue_message(
            Outgoing {
                message: &m,
                recipient: "+14155550100",
                idempotency_key: None,
                user,
                lease: None,
            },
            &Actor::System,
        )
        .await?;
        ids.push((m.chat(), m.id()));
    }
    let queued = started.elapsed();
    println!(
        "queued {messages} messages in {:.2} s ({:.0}/s)",
        queued.as_secs_f64(),
        messages as f64 / queued.as_secs_f64()
    );
    let transports = hub::delivery::transports::Transports::new(host.clone(), store.clone());
    let worker = hub::delivery::outbox::OutboxWorker::new(
        store.clone(),
        transports,
        config.delivery.clone(),
        None,
    );
    let signal = worker.signal();
    worker.spawn();
    let start = Instant::now();
    signal.queued();
    while receiver.count() < messages {
        tokio::time::sleep(Duration::from_millis(20)).await;
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(600),
            "only {} of {messages} arrived",
            receiver.count()
        );
    }
    let arrived = start.elapsed();
    // Every message recorded as sent (or counted as not).
    let (mut sent, mut failed);
    loop {
        sent = 0;
        failed = 0;
        for (chat, id) in &ids {
            match ts.message(*chat, *id).await?.status {
                DeliveryStatus::Sent => sent += 1,
                DeliveryStatus::Failed { .. } => failed += 1,
                _ => {}
            }
        }
        if sent + failed == messages || start.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let done = start.elapsed();
    println!(
        "outbox → webhook plugin → local receiver: {messages} messages arrived in {:.2} s ({:.0}/s), all recorded sent in {:.2} s ({:.0}/s); sent={sent} failed={failed}; concurrency {}; RSS {:.0} MiB",
        arrived.as_secs_f64(),
        messages as f64 / arrived.as_secs_f64(),
        done.as_secs_f64(),
        messages as f64 / done.as_secs_f64(),
        config.delivery.concurrency,
        rss_mib()
    );
    Ok(())
}

struct Receiver {
    addr: std::net::SocketAddr,
    count: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start() -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        let app = axum::Router::new().route(
            "/in",
            axum::routing::post(move || {
                let c = c.clone();
                async move {
                    c.fetch_add(1, Ordering::Relaxed);
                    "{}"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { addr, count }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }
}
