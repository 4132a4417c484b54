//! The hub's benchmark: a tenant at production size (1,000,000 clients,
//! 100,000 chats, 10,000,000 messages; `--quick` is a fiftieth of that),
//! the real `hub` binary on it, and for each measure the hub's p50/p99 and
//! throughput beside the same reads and writes made directly on SurrealDB
//! through its SDK. Prints a table and writes it as JSON; never fails on a
//! number.
//!
//! `cargo xtask bench [--quick] [--clients N --chats N --messages N]
//! [--samples N] [--subscribers N] [--inbound-secs N] [--data DIR]
//! [--out FILE]`. `--data DIR` keeps the seeded database there and reuses it
//! on the next run with the same sizes (seeding the full size takes a while).
//! An interrupted seed continues on the next run; `--as-loaded` measures it
//! as far as it got instead (the table says how far).

mod fake;
mod hubproc;
mod measure;
mod raw;
mod report;
mod seed;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use hubproc::{Api, HubProcess};
use measure::{Picks, measure, sustained, throughput};
use report::{Figures, Row, Target};
use seed::{ADMIN, PASSWORD, Sizes, TENANT};

struct Options {
    sizes: Sizes,
    samples: usize,
    concurrency: usize,
    subscribers: usize,
    inbound: Duration,
    data: Option<PathBuf>,
    as_loaded: bool,
    out: Option<PathBuf>,
    hub: PathBuf,
    plugins: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let number = |name: &str, default: usize| -> anyhow::Result<usize> {
        value(name).map_or(Ok(default), |v| {
            v.replace('_', "")
                .parse()
                .map_err(|_| anyhow::anyhow!("{name} takes a whole number, got `{v}`"))
        })
    };
    let quick = args.iter().any(|a| a == "--quick");
    let base = if quick { Sizes::QUICK } else { Sizes::FULL };
    let sizes = Sizes {
        clients: number("--clients", base.clients)?,
        chats: number("--chats", base.chats)?,
        messages: number("--messages", base.messages)?,
    };
    anyhow::ensure!(
        sizes.chats >= 1 && sizes.chats <= sizes.clients && sizes.messages >= sizes.chats,
        "need 1 ≤ chats ≤ clients and at least one message per chat, got {sizes:?}"
    );
    // <target>/release/examples/bench
    let exe = std::env::current_exe()?;
    let release = exe
        .parent()
        .and_then(|p| p.parent())
        .ok_or_else(|| anyhow::anyhow!("cannot tell the build directory from {}", exe.display()))?
        .to_owned();
    let target = release.parent().expect("a target directory").to_owned();
    Ok(Options {
        sizes,
        samples: number("--samples", if quick { 300 } else { 1000 })?,
        concurrency: number("--concurrency", 8)?,
        subscribers: number("--subscribers", if quick { 2000 } else { 10_000 })?,
        inbound: Duration::from_secs(number("--inbound-secs", if quick { 5 } else { 15 })? as u64),
        data: value("--data").map(PathBuf::from),
        as_loaded: args.iter().any(|a| a == "--as-loaded"),
        out: value("--out").map(PathBuf::from),
        hub: value("--hub").map_or_else(|| release.join("hub"), PathBuf::from),
        plugins: value("--plugins").map_or_else(|| target.join("plugins-dist"), PathBuf::from),
    })
}

/// Resident memory of a process, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn dir_size_mib(path: &std::path::Path) -> f64 {
    fn walk(p: &std::path::Path) -> u64 {
        std::fs::read_dir(p)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(path) as f64 / (1024.0 * 1024.0)
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    // The floor and the seed open the store as a default hub does.
    // SAFETY: no other thread runs yet; the runtime is built below.
    unsafe { hub::config::Config::default().export_embedded_engine_env() };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // The embedded database's query planner recurses deeply.
        .thread_stack_size(10 * 1024 * 1024)
        .build()?;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--seed-into") {
        let dir = args
            .get(i + 1)
            .ok_or_else(|| anyhow::anyhow!("--seed-into needs a directory"))?;
        let settings = hub::store::DatabaseSettings {
            url: format!("surrealkv://{dir}"),
            namespace: "hub".into(),
            database: "hub".into(),
            username: None,
            password: None,
        };
        runtime.block_on(seed::seed(&settings, o.sizes))?;
        return Ok(());
    }
    runtime.block_on(run(o))
}

const LOOKUP: &str = "query($k: ContactKind!, $v: String!) { clientByContact(kind: $k, value: $v) { id displayName contacts { kind value } } }";
const SEARCH_CLIENTS: &str = "query($q: String!) { clients(search: $q, first: 20) { nodes { id displayName contacts { kind value } } } }";
/// The inbox's own first page (web-client/src/lib/queries.ts).
const CHAT_LIST: &str = "query { chats(first: 50) { liveCursor pageInfo { hasNextPage endCursor } nodes { id clientId client { id displayName } lastMessageAt lastMessagePreview lastTransport unreadCount } } }";
/// An open chat's page of history, as the inbox asks for it.
const HISTORY: &str = "query($id: ID!) { chat(id: $id) { messages(first: 40) { liveCursor pageInfo { hasNextPage endCursor } nodes { id chatId text direction transport createdAt readAt status sender { kind displayName } } } } }";
const SEARCH_MESSAGES: &str =
    "query($q: String!) { searchMessages(query: $q, first: 20) { id chatId text createdAt } }";
const SEND: &str =
    "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id status } }";

async fn run(o: Options) -> anyhow::Result<()> {
    let scratch = tempfile::tempdir()?;
    let data = o.data.clone().unwrap_or_else(|| scratch.path().to_owned());
    std::fs::create_dir_all(&data)?;
    let db_dir = data.join("db");
    let marker = data.join("seeded.json");
    let sizes = o.sizes;
    let seeded: Option<Sizes> = std::fs::read(&marker)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    // A seed that was interrupted continues: it takes over an hour at the
    // full size.
    let seeding = data.join("seeding.json");
    let interrupted: Option<Sizes> = std::fs::read(&seeding)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let seed_secs = if seeded == Some(sizes) && db_dir.exists() {
        eprintln!("reusing the database seeded in {}", data.display());
        None
    } else if o.as_loaded && interrupted == Some(sizes) && db_dir.exists() {
        eprintln!(
            "measuring the interrupted seed in {} as loaded",
            data.display()
        );
        None
    } else {
        if db_dir.exists() && interrupted != Some(sizes) {
            std::fs::remove_dir_all(&db_dir)?;
        }
        let _ = std::fs::remove_file(&marker);
        std::fs::write(&seeding, serde_json::to_vec(&sizes)?)?;
        eprintln!(
            "seeding {} clients, {} chats, {} messages …",
            sizes.clients, sizes.chats, sizes.messages
        );
        // In a process of its own: the embedded database is only let go of
        // (its lock file released) when the process that opened it ends.
        let started = Instant::now();
        let status = std::process::Command::new(std::env::current_exe()?)
            .arg("--seed-into")
            .arg(&db_dir)
            .args(["--clients", &sizes.clients.to_string()])
            .args(["--chats", &sizes.chats.to_string()])
            .args(["--messages", &sizes.messages.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "seeding failed ({status})");
        let secs = started.elapsed().as_secs_f64();
        std::fs::write(&marker, serde_json::to_vec(&sizes)?)?;
        let _ = std::fs::remove_file(&seeding);
        eprintln!(
            "seeded in {secs:.0} s: {:.0} messages/s, database {:.0} MiB",
            sizes.messages as f64 / secs,
            dir_size_mib(&db_dir)
        );
        Some(secs)
    };

    let provider = fake::Provider::start().await?;
    let started = Instant::now();
    let hub = HubProcess::start(&o.hub, &db_dir, &data.join("files"), &o.plugins, &provider)?;
    let startup = started.elapsed();
    let api = Api::sign_in(&hub.url, TENANT, ADMIN, PASSWORD).await?;
    let rss_start = hub.rss_mib();
    eprintln!(
        "hub up in {:.1} s, RSS {rss_start:.0} MiB; measuring through its API …",
        startup.as_secs_f64()
    );

    // What the database holds: all of `sizes`, or the prefix an interrupted
    // seed reached. Picks come from it; the texts' formulas keep `sizes`.
    let loaded = if seeded == Some(sizes) || seed_secs.is_some() {
        sizes
    } else {
        loaded_prefix(&api, sizes).await?
    };
    let mut picks = Picks::new(0x2545_F491_4F6C_DD1D);
    let n = o.samples;
    let c = o.concurrency;
    let clients = picks.many(3 * n + 100, loaded.clients);
    let chat_ks = picks.many(loaded.chats.min(400), loaded.chats);
    let mut chats = Vec::with_capacity(chat_ks.len());
    for &k in chat_ks.iter() {
        let d = api
            .gql(
                "query($v: String!) { clientByContact(kind: PHONE, value: $v) { chat { id } } }",
                json!({ "v": seed::phone(sizes.chat_client(k)) }),
            )
            .await?;
        let id = d["clientByContact"]["chat"]["id"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("chat {k} is missing: {d}"))?;
        chats.push((k, id.to_owned()));
    }
    let chats = Arc::new(chats);
    let orders: Arc<Vec<usize>> = Arc::new(
        (0..3 * n + 100)
            .map(|_| {
                let k = picks.below(loaded.chats);
                let m = 2 * picks.below(sizes.per_chat().div_ceil(2));
                seed::order_number(k, m, &sizes)
            })
            .collect(),
    );

    let mut rows = Vec::new();

    // Reads.
    for (name, kind) in [
        ("client lookup by phone", "PHONE"),
        ("client lookup by email", "EMAIL"),
    ] {
        let mut row = Row::new(name, Some(Target::P99AtMostMs(5.0)));
        let (api, clients) = (api.clone(), clients.clone());
        row.hub = Some(
            measure(n, c, move |i| {
                let api = api.clone();
                let who = clients[i % clients.len()];
                let value = if kind == "PHONE" {
                    seed::phone(who)
                } else {
                    seed::email(who)
                };
                async move {
                    let d = api.gql(LOOKUP, json!({ "k": kind, "v": value })).await?;
                    anyhow::ensure!(!d["clientByContact"].is_null(), "{value} not found");
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new("client search by name", Some(Target::P99AtMostMs(5.0)));
        let (api, clients) = (api.clone(), clients.clone());
        row.hub = Some(
            measure(n, c, move |i| {
                let api = api.clone();
                let (first, last) = seed::name(clients[i % clients.len()]);
                let q = format!("{first} {last}");
                async move {
                    let d = api.gql(SEARCH_CLIENTS, json!({ "q": q })).await?;
                    anyhow::ensure!(
                        d["clients"]["nodes"]
                            .as_array()
                            .is_some_and(|a| !a.is_empty()),
                        "nobody called {q}"
                    );
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new(
            "chat list, first page (50)",
            Some(Target::P99AtMostMs(20.0)),
        );
        let api2 = api.clone();
        row.hub = Some(
            measure(n, c, move |_| {
                let api = api2.clone();
                async move {
                    let d = api.gql(CHAT_LIST, json!({})).await?;
                    anyhow::ensure!(
                        d["chats"]["nodes"]
                            .as_array()
                            .is_some_and(|a| a.len() == 50.min(loaded.chats)),
                        "short page"
                    );
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new("chat history page (40)", Some(Target::P99AtMostMs(20.0)));
        let (api2, chats2) = (api.clone(), chats.clone());
        row.hub = Some(
            measure(n, c, move |i| {
                let api = api2.clone();
                let id = chats2[i % chats2.len()].1.clone();
                async move {
                    let d = api.gql(HISTORY, json!({ "id": id })).await?;
                    anyhow::ensure!(
                        d["chat"]["messages"]["nodes"]
                            .as_array()
                            .is_some_and(|a| !a.is_empty()),
                        "empty history"
                    );
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new("message search (an order number)", None);
        let (api2, orders2) = (api.clone(), orders.clone());
        row.hub = Some(
            measure(n, c, move |i| {
                let api = api2.clone();
                let q = orders2[i % orders2.len()].to_string();
                async move {
                    let d = api.gql(SEARCH_MESSAGES, json!({ "q": q })).await?;
                    anyhow::ensure!(
                        d["searchMessages"]
                            .as_array()
                            .is_some_and(|a| !a.is_empty()),
                        "order {q} not found"
                    );
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    let rss_reads = hub.rss_mib();

    // Writes.
    {
        let mut row = Row::new("sendMessage accepted", Some(Target::P99AtMostMs(15.0)));
        let (api2, chats2) = (api.clone(), chats.clone());
        row.hub = Some(
            measure(n, c, move |i| {
                let api = api2.clone();
                let id = chats2[i % chats2.len()].1.clone();
                async move {
                    let d = api
                        .gql(SEND, json!({ "c": id, "t": format!("bench accepted {i}") }))
                        .await?;
                    anyhow::ensure!(d["sendMessage"]["status"] == "QUEUED", "not queued: {d}");
                    anyhow::Ok(())
                }
            })
            .await?,
        );
        keep(&mut rows, row);
    }
    // Let the delivery of those drain before timing deliveries one by one.
    wait_until(Duration::from_secs(120), || {
        provider.arrived() >= 2 * n + n.min(20)
    })
    .await;
    {
        let mut row = Row::new("send → delivered at the provider fake", None);
        let samples = n.min(300);
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples {
            let text = format!("bench delivered {i}");
            let chat = &chats[i % chats.len()].1;
            let t = Instant::now();
            api.gql(SEND, json!({ "c": chat, "t": text })).await?;
            let at = wait_for(Duration::from_secs(30), || provider.arrival(&text)).await?;
            latencies.push(at.saturating_duration_since(t));
        }
        // Throughput: a burst sent with several in flight, until the last arrives.
        let burst = samples;
        let (api2, chats2) = (api.clone(), chats.clone());
        let t = Instant::now();
        throughput(burst, c, move |i| {
            let api = api2.clone();
            let chat = chats2[i % chats2.len()].1.clone();
            async move {
                api.gql(SEND, json!({ "c": chat, "t": format!("bench burst {i}") }))
                    .await?;
                anyhow::Ok(())
            }
        })
        .await?;
        wait_for(Duration::from_secs(120), || {
            (0..burst)
                .all(|i| provider.arrival(&format!("bench burst {i}")).is_some())
                .then_some(())
        })
        .await?;
        row.hub = Some(Figures::new(
            latencies,
            burst as f64 / t.elapsed().as_secs_f64(),
        ));
        row.note = format!("{} refused signatures at the fake", provider.rejected());
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new(
            "inbound webhook → subscriber",
            Some(Target::P99AtMostMs(50.0)),
        );
        let mut ws = open_inbox(&api).await?;
        let samples = n.min(500);
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples {
            let who = sizes.chat_client(chats[i % chats.len()].0);
            let text = format!("bench inbound {i}");
            let t = Instant::now();
            api.inbound(
                TENANT,
                &json!({ "type": "message", "id": format!("bench-in-{}-{i}", run_tag()), "channel": "sms", "from": { "address": seed::phone(who) }, "text": text }),
            )
            .await?;
            loop {
                let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
                    .await
                    .map_err(|_| anyhow::anyhow!("message {i} never reached the subscriber"))?;
                match msg {
                    Some(Ok(WsMessage::Text(frame))) if frame.contains(&format!("\"{text}\"")) => {
                        break;
                    }
                    Some(Ok(_)) => {}
                    other => anyhow::bail!("the subscription ended: {other:?}"),
                }
            }
            latencies.push(t.elapsed());
        }
        row.hub = Some(Figures::new(latencies, f64::NAN));
        row.note = "one at a time; the rate is the next line's".into();
        keep(&mut rows, row);
    }
    {
        let mut row = Row::new(
            "sustained inbound messages",
            Some(Target::AtLeastPerSec(2000.0)),
        );
        // An inbox is open meanwhile, as in any working hour: every message
        // is loaded for it and sent to it.
        let mut ws = open_inbox(&api).await?;
        let frames = Arc::new(AtomicUsize::new(0));
        let inbox = tokio::spawn({
            let frames = frames.clone();
            async move {
                while let Some(Ok(m)) = ws.next().await {
                    if matches!(&m, WsMessage::Text(t) if t.contains("bench flow")) {
                        frames.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
        let (api2, chats2) = (api.clone(), chats.clone());
        let figures = sustained(o.inbound, 4 * c, move |i| {
            let api = api2.clone();
            let who = sizes.chat_client(chats2[i % chats2.len()].0);
            async move {
                api.inbound(
                    TENANT,
                    &json!({ "type": "message", "id": format!("bench-flow-{}-{i}", run_tag()), "channel": "sms", "from": { "address": seed::phone(who) }, "text": format!("bench flow {i}") }),
                )
                .await
            }
        })
        .await?;
        // What was stored reaches the open inbox (or the count says not).
        let stored = figures.n;
        wait_until(Duration::from_secs(30), || {
            inbox.is_finished() || frames.load(Ordering::Relaxed) >= stored
        })
        .await;
        inbox.abort();
        row.hub = Some(figures);
        row.note = format!(
            "{} webhooks in flight; an inbox open got {} of {stored}; latency of each webhook",
            4 * c,
            frames.load(Ordering::Relaxed)
        );
        keep(&mut rows, row);
    }
    {
        // Search is written behind the message: how long until a message
        // just sent is found. One word of letters only, unique to this run
        // and message (the analyzer splits letters from digits).
        let mut row = Row::new("sent → found by message search", None);
        let samples = n.min(100);
        let mut latencies = Vec::with_capacity(samples);
        for i in 0..samples {
            let word: String = format!("findme{}{i:04}", run_tag())
                .chars()
                .map(|c| match c.to_digit(16) {
                    Some(d) if c.is_ascii_digit() => char::from(b'q' + d as u8),
                    _ => c,
                })
                .collect();
            let chat = &chats[i % chats.len()].1;
            let t = Instant::now();
            api.gql(
                SEND,
                json!({ "c": chat, "t": format!("bench search {word}") }),
            )
            .await?;
            loop {
                let d = api.gql(SEARCH_MESSAGES, json!({ "q": word })).await?;
                if d["searchMessages"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
                {
                    break;
                }
                anyhow::ensure!(
                    t.elapsed() < Duration::from_secs(30),
                    "`{word}` not found in 30 s"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            latencies.push(t.elapsed());
        }
        row.hub = Some(Figures::new(latencies, f64::NAN));
        row.note = "one at a time, searched every 5 ms".into();
        keep(&mut rows, row);
    }
    let rss_writes = hub.rss_mib();

    // Subscribers.
    let (sub_row, per_connection_kib) =
        subscribers(&api, &hub, o.subscribers, &chats, sizes).await?;
    keep(&mut rows, sub_row);
    let rss_subscribed = hub.rss_mib();
    drop(hub);

    // The floor.
    eprintln!("measuring the same on SurrealDB alone …");
    let db = raw::open(&db_dir).await?;
    let t = raw::tenant(&db, ADMIN).await?;
    let log_tenant = uuid::Uuid::now_v7();
    let chat_uuids: Arc<Vec<(usize, uuid::Uuid)>> = Arc::new(
        chats
            .iter()
            .map(|(k, id)| -> anyhow::Result<(usize, uuid::Uuid)> { Ok((*k, id.parse()?)) })
            .collect::<anyhow::Result<_>>()?,
    );
    for (row, kind) in rows.iter_mut().take(2).zip(["phone", "email"]) {
        let (db, clients) = (db.clone(), clients.clone());
        row.raw = Some(
            measure(n, c, move |i| {
                let db = db.clone();
                let who = clients[i % clients.len()];
                let value = if kind == "phone" {
                    seed::phone(who)
                } else {
                    seed::email(who)
                };
                async move { raw::client_by_contact(&db, t, kind, value).await }
            })
            .await?,
        );
    }
    {
        let (db, clients) = (db.clone(), clients.clone());
        rows[2].raw = Some(
            measure(n, c, move |i| {
                let db = db.clone();
                let (first, last) = seed::name(clients[i % clients.len()]);
                let q = format!("{first} {last}");
                async move { raw::search_clients(&db, t, q).await.map(drop) }
            })
            .await?,
        );
    }
    {
        let db2 = db.clone();
        rows[3].raw = Some(
            measure(n, c, move |_| {
                let db = db2.clone();
                async move { raw::chat_list(&db, t, 50).await.map(drop) }
            })
            .await?,
        );
    }
    {
        let (db2, chats2) = (db.clone(), chat_uuids.clone());
        rows[4].raw = Some(
            measure(n, c, move |i| {
                let db = db2.clone();
                let chat = chats2[i % chats2.len()].1;
                async move { raw::history(&db, t, chat, 40).await.map(drop) }
            })
            .await?,
        );
    }
    {
        let (db2, orders2) = (db.clone(), orders.clone());
        rows[5].raw = Some(
            measure(n, c, move |i| {
                let db = db2.clone();
                let q = orders2[i % orders2.len()].to_string();
                async move { raw::search_messages(&db, t, q).await.map(drop) }
            })
            .await?,
        );
    }
    {
        let (db2, chats2) = (db.clone(), chat_uuids.clone());
        rows[6].raw = Some(
            measure(n, c, move |i| {
                let db = db2.clone();
                let chat = chats2[i % chats2.len()].1;
                async move {
                    raw::store_message(&db, t, log_tenant, chat, true, format!("raw accepted {i}"))
                        .await
                }
            })
            .await?,
        );
    }
    {
        let (db2, chats2) = (db.clone(), chat_uuids.clone());
        rows[9].raw = Some(
            sustained(o.inbound, 4 * c, move |i| {
                let db = db2.clone();
                let who = sizes.chat_client(chats2[i % chats2.len()].0);
                async move {
                    raw::receive(
                        &db,
                        t,
                        log_tenant,
                        seed::phone(who),
                        format!("raw flow {i}"),
                    )
                    .await
                }
            })
            .await?,
        );
    }
    {
        // The same writes with the hub's group commit, 32 messages per
        // transaction: what SurrealDB itself allows once writes are grouped.
        let mut row = Row::new("  SurrealDB alone, 32 per transaction", None);
        let started = Instant::now();
        let (mut latencies, mut done) = (Vec::new(), 0);
        while started.elapsed() < o.inbound {
            let group: Vec<(uuid::Uuid, String)> = (0..32)
                .map(|k| {
                    let chat = chat_uuids[(done + k) % chat_uuids.len()].1;
                    (chat, format!("raw grouped {}", done + k))
                })
                .collect();
            let t0 = Instant::now();
            raw::store_messages(&db, t, log_tenant, &group, false).await?;
            latencies.push(t0.elapsed());
            done += group.len();
        }
        row.raw = Some(Figures::new(
            latencies,
            done as f64 / started.elapsed().as_secs_f64(),
        ));
        row.note = "latency of one transaction of 32".into();
        keep(&mut rows, row);
    }
    drop(db);

    let table = report::table(&rows);
    println!();
    let of = if loaded == sizes {
        String::new()
    } else {
        format!(
            " (of {} clients, {} chats, {} messages: the seed is not finished)",
            sizes.clients, sizes.chats, sizes.messages
        )
    };
    println!(
        "{} clients, {} chats, {} messages{of}{}; {n} samples per measure, {c} in flight for throughput",
        loaded.clients,
        loaded.chats,
        loaded.messages,
        seed_secs.map_or_else(String::new, |s| format!("; seeded in {s:.0} s"))
    );
    println!(
        "hub: started in {:.1} s; RSS {rss_start:.0} MiB at start, {rss_reads:.0} after the reads, {rss_writes:.0} after the writes, {rss_subscribed:.0} with {} subscribers ({per_connection_kib:.1} KiB each)",
        startup.as_secs_f64(),
        o.subscribers
    );
    print!("{table}");
    let report = json!({
        "sizes": sizes,
        "loaded": loaded,
        "seed_seconds": seed_secs,
        "database_mib": dir_size_mib(&db_dir).round(),
        "samples": n,
        "concurrency": c,
        "hub": {
            "startup_seconds": startup.as_secs_f64(),
            "rss_mib": { "start": rss_start, "after_reads": rss_reads, "after_writes": rss_writes, "with_subscribers": rss_subscribed },
            "subscribers": o.subscribers,
            "kib_per_subscriber": per_connection_kib,
        },
        "rows": rows.iter().map(Row::json).collect::<Vec<Value>>(),
    });
    if let Some(out) = &o.out {
        std::fs::write(out, serde_json::to_string_pretty(&report)?)?;
        eprintln!("wrote {}", out.display());
    }
    anyhow::Ok(())
}

/// How much of `sizes` an interrupted seed imported, asked of the hub
/// (see `seed::prefix_len`).
async fn loaded_prefix(api: &Api, sizes: Sizes) -> anyhow::Result<Sizes> {
    let clients = seed::prefix_len(sizes.clients, |i| async move {
        let d = api
            .gql(LOOKUP, json!({ "k": "PHONE", "v": seed::phone(i) }))
            .await?;
        anyhow::Ok(!d["clientByContact"].is_null())
    })
    .await?;
    anyhow::ensure!(clients > 0, "the interrupted seed holds no client yet");
    let chats = clients.div_ceil(sizes.stride()).min(sizes.chats);
    Ok(Sizes {
        clients,
        chats,
        messages: chats * sizes.per_chat(),
    })
}

/// Prints a measure's line as soon as it is done, so that a run cut short
/// still tells, and keeps it for the table.
fn keep(rows: &mut Vec<Row>, row: Row) {
    eprintln!("  {row}");
    rows.push(row);
}

/// Tells this run's inbound messages from an earlier run's on a kept
/// database: the hub drops a provider id it has seen as a retry.
fn run_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("{ms:x}")
    })
}

/// A `messageAdded` subscription, as an open inbox has, once it is live.
async fn open_inbox(api: &Api) -> anyhow::Result<hubproc::Socket> {
    let ws = hubproc::subscribe(
        &api.ws_url(),
        api.token(),
        "subscription { messageAdded { message { text } } }",
        json!({}),
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(ws)
}

/// Polls `check` until it holds or `within` passes.
async fn wait_until(within: Duration, check: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !check() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Polls `get` until it answers, or fails after `within`.
async fn wait_for<T>(within: Duration, get: impl Fn() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = get() {
            return Ok(v);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "gave up waiting after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// `count` inboxes open at once, each following the chat list live: the
/// hub's memory per connection, and how long one inbound message takes to
/// reach them all.
async fn subscribers(
    api: &Api,
    hub: &HubProcess,
    count: usize,
    chats: &[(usize, String)],
    sizes: Sizes,
) -> anyhow::Result<(Row, f64)> {
    let mut row = Row::new(format!("{count} subscribers: inbound → all"), None);
    let before = rss_kib(hub.pid());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<anyhow::Result<()>>();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..count {
        let (tx, ready_tx) = (tx.clone(), ready_tx.clone());
        let (url, token) = (api.ws_url(), api.token().to_owned());
        tasks.spawn(async move {
            let mut ws = match hubproc::subscribe(
                &url,
                &token,
                "subscription { chatUpdated { chat { lastMessagePreview } } }",
                json!({}),
            )
            .await
            {
                Ok(ws) => {
                    let _ = ready_tx.send(Ok(()));
                    ws
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            while let Some(Ok(msg)) = ws.next().await {
                if let WsMessage::Text(t) = msg {
                    let at = Instant::now();
                    if let Some(k) = t
                        .split("bench fan-out ")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .and_then(|k| k.parse().ok())
                    {
                        let _ = tx.send((k, at));
                    }
                }
            }
        });
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(tx);
    for _ in 0..count {
        ready_rx.recv().await.expect("subscriber tasks alive")?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let per_connection = rss_kib(hub.pid()).saturating_sub(before) as f64 / count.max(1) as f64;
    let messages = 10;
    let mut latencies = Vec::with_capacity(count * messages);
    let started = Instant::now();
    for k in 0..messages {
        let who = sizes.chat_client(chats[k % chats.len()].0);
        let t = Instant::now();
        api.inbound(
            TENANT,
            &json!({ "type": "message", "id": format!("bench-fan-{}-{k}", run_tag()), "channel": "sms", "from": { "address": seed::phone(who) }, "text": format!("bench fan-out {k}") }),
        )
        .await?;
        let mut got = 0;
        while got < count {
            let (idx, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("fan-out {k}: {got} of {count} subscribers had it after 60 s")
                })?
                .expect("subscribers alive");
            if idx == k {
                latencies.push(at - t);
                got += 1;
            }
        }
    }
    let frames = (count * messages) as f64 / started.elapsed().as_secs_f64();
    tasks.abort_all();
    row.hub = Some(Figures::new(latencies, frames));
    row.note = format!("{per_connection:.1} KiB per connection; /s = frames delivered");
    Ok((row, per_connection))
}
