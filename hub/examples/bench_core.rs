//! Benchmark of the core reads: client lookup by phone and the first page
//! of the chat list, with N clients (default 100,000) in one tenant, on the
//! embedded database. Prints p50/p99 and throughput; never fails on a number.
//!
//! `cargo xtask bench [-- --clients N --samples S]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hub::config::Config;
use hub::domain::client::Client;
use hub::domain::contact::{Contact, ContactKind, ContactValue};
use hub::domain::events::Actor;
use hub::domain::message::{Message, Sender, Transport};
use hub::store::{DatabaseSettings, Store};
use serde_json::json;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn phone(i: usize) -> String {
    // +1 415 2xx xxxx: valid US numbers, one per client.
    format!("+1415{:07}", 2_000_000 + i)
}

struct Stats {
    name: &'static str,
    samples: Vec<Duration>,
    wall: Duration,
}

impl Stats {
    fn print(&mut self) {
        self.samples.sort();
        let p = |q: f64| self.samples[((self.samples.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{:<44} n={:<6} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms  {:>8.0} ops/s",
            self.name,
            self.samples.len(),
            p(0.50).as_secs_f64() * 1e3,
            p(0.99).as_secs_f64() * 1e3,
            self.samples.last().unwrap().as_secs_f64() * 1e3,
            self.samples.len() as f64 / self.wall.as_secs_f64()
        );
    }
}

async fn measure<F, Fut>(name: &'static str, n: usize, mut f: F) -> Stats
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let start = Instant::now();
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await;
        samples.push(t.elapsed());
    }
    Stats {
        name,
        samples,
        wall: start.elapsed(),
    }
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).map(|l| {
                l.split_whitespace()
                    .nth(1)
                    .unwrap_or("0")
                    .parse::<f64>()
                    .unwrap_or(0.0)
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
    let clients = arg("--clients", 100_000);
    let samples = arg("--samples", 2_000);
    let dir = tempfile::tempdir()?;
    let mut config = Config::load(None, Vec::<(String, String)>::new())?;
    config.database.url = format!("surrealkv://{}", dir.path().join("db").display());
    let settings: DatabaseSettings = config.database_settings();
    let store = Store::open(&settings).await?;
    let created = hub::bootstrap::create_tenant(
        &store,
        "Bench",
        "bench",
        "admin@bench.test",
        Some("bench password 1"),
    )
    .await?;
    let tenant = created.tenant.id;
    let ts = store.tenant(tenant);

    println!(
        "seeding {clients} clients, each with a phone contact, a chat and one inbound message …"
    );
    let seed_start = Instant::now();
    let workers = 8;
    let mut handles = Vec::new();
    for w in 0..workers {
        let ts = ts.clone();
        handles.push(tokio::spawn(async move {
            for i in (w..clients).step_by(workers) {
                let now = Utc::now();
                let c = Client::new(tenant, &format!("Client{i}"), now).expect("client");
                let contact = Contact::new(
                    ContactValue::parse(ContactKind::Phone, &phone(i), None).expect("phone"),
                    None,
                    now,
                )
                .expect("contact");
                ts.create_client(&c, &[contact], &Actor::System)
                    .await
                    .expect("create client");
                let id = c.id();
                ts.receive_message(
                    id,
                    |chat| {
                        Ok(Message::new(
                            chat,
                            "hello, is anyone there?",
                            Sender::Sms { phone: phone(i) },
                            Transport::Sms,
                            vec![],
                            Utc::now(),
                        )?)
                    },
                    &Actor::System,
                )
                .await
                .expect("receive");
            }
        }));
    }
    for h in handles {
        h.await?;
    }
    let seed = seed_start.elapsed();
    println!(
        "seeded in {:.1} s ({:.0} clients+chats+messages/s), RSS {:.0} MiB",
        seed.as_secs_f64(),
        clients as f64 / seed.as_secs_f64(),
        rss_mib()
    );

    // The hub's HTTP API, in process, on a loopback port.
    let bus = Arc::new(hub::events::EventBus::new(
        1024,
        store.last_event_seq().await?,
    ));
    hub::events::spawn_tailer(store.clone(), bus.clone(), Duration::from_millis(200));
    // No plugins: these reads never send.
    let plugins = hub::plugins::PluginHost::new(config.plugins.clone(), config.plugin.clone())?;
    let transports = hub::delivery::transports::Transports::new(plugins, store.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let public_url = format!("http://{}", listener.local_addr()?);
    let url = format!("{public_url}/graphql");
    let app = hub::api::router(hub::api::AppState {
        store: store.clone(),
        sign_in: Arc::new(hub::auth::SignInThrottle::from_config(
            &config.auth,
            store.clone(),
        )),
        config: Arc::new(config),
        bus,
        transports,
        outbox: hub::delivery::outbox::OutboxSignal::default(),
        public_url,
        intake: Arc::new(hub::delivery::inbound::Intake {
            files: hub::files::FileStore::new(
                std::env::temp_dir().join("hub-bench-files"),
                1 << 20,
            ),
            default_region: None,
        }),
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::new();
    let token: String = {
        let body = json!({ "query": "mutation { signIn(tenant: \"bench\", email: \"admin@bench.test\", password: \"bench password 1\") { token } }" });
        let bytes = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await?
            .bytes()
            .await?;
        let r: serde_json::Value = serde_json::from_slice(&bytes)?;
        r["data"]["signIn"]["token"]
            .as_str()
            .expect("token")
            .to_owned()
    };
    let gql = |query: String| {
        let http = http.clone();
        let url = url.clone();
        let token = token.clone();
        async move {
            let body = json!({ "query": query }).to_string();
            let resp = http
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("send");
            let r: serde_json::Value =
                serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json");
            assert!(r.get("errors").is_none(), "{r}");
            r
        }
    };
    // Warm up.
    for i in 0..50 {
        gql(format!(
            "{{ clientByContact(kind: PHONE, value: \"{}\") {{ id }} }}",
            phone(i * 7 % clients)
        ))
        .await;
    }
    let mut rng_state = 0x2545F4914F6CDD1Du64;
    let mut next = move || {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state as usize
    };
    let picks: Vec<usize> = (0..samples).map(|_| next() % clients).collect();

    println!();
    println!(
        "{} clients in the tenant; {samples} samples each; RSS {:.0} MiB",
        clients,
        rss_mib()
    );
    let mut results = Vec::new();
    results.push(
        measure("store: client by phone", samples, |i| {
            let ts = ts.clone();
            let v = ContactValue::parse(ContactKind::Phone, &phone(picks[i]), None).expect("phone");
            async move {
                ts.client_by_contact(&v)
                    .await
                    .expect("lookup")
                    .expect("found");
            }
        })
        .await,
    );
    results.push(
        measure("api:   clientByContact(PHONE) over HTTP", samples, |i| {
            let q = gql(format!("{{ clientByContact(kind: PHONE, value: \"{}\") {{ id displayName contacts {{ value }} }} }}", phone(picks[i])));
            async move {
                q.await;
            }
        })
        .await,
    );
    results.push(
        measure("store: chat list first page (20)", samples, |_| {
            let ts = ts.clone();
            async move {
                let page = ts
                    .chats_page(&Default::default(), None, 20)
                    .await
                    .expect("page");
                assert_eq!(page.len(), 20);
            }
        })
        .await,
    );
    results.push(
        measure("api:   chats(first: 20) with client names", samples, |_| {
            let q = gql("{ chats(first: 20) { edges { cursor node { id unreadCount lastMessagePreview client { displayName } } } } }".into());
            async move {
                q.await;
            }
        })
        .await,
    );
    println!();
    for r in &mut results {
        r.print();
    }
    Ok(())
}
