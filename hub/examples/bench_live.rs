//! Benchmark of live updates: N idle WebSocket subscribers on the real `hub`
//! binary, then the time from a `sendMessage` to its arrival at every
//! subscriber. Prints memory per idle subscription and p50/p99 fan-out
//! latency; never fails on a number.
//!
//! Subscribers asking the same thing share one execution. `--private`
//! makes every subscription run on its own (an inline cursor), to show what
//! sharing saves.
//!
//! `cargo xtask bench live [-- --subscribers 1000,10000 --messages 20 --private]`;
//! `--hub <program>` runs that in place of the hub (a profiler wrapping it).
//! `--tcp-floor` measures the same fan-out with no hub at all: a process that
//! writes 100 bytes to each of N plain TCP connections, one task each, the
//! least any server can do per subscriber on this machine.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// A number from `/proc/<pid>/status`, e.g. `VmRSS:` (KiB) or `Threads:`.
fn proc_status(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    proc_status(pid, "VmRSS:")
}

/// User and system CPU seconds a process has used, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: &str) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second on Linux).
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// CPU a server process and this client spend over a stretch of the run,
/// reported per delivered frame to tell the server's share from the client's.
struct CpuMeter {
    server: String,
    start: [(f64, f64); 2],
}

impl CpuMeter {
    fn start(server_pid: u32) -> Self {
        let server = server_pid.to_string();
        let start = [cpu_seconds(&server), cpu_seconds("self")];
        Self { server, start }
    }

    fn per_frame(&self, frames: usize, server_name: &str) -> String {
        let millions = frames as f64 / 1e6;
        let [(su, ss), (cu, cs)] = [cpu_seconds(&self.server), cpu_seconds("self")];
        let [(su0, ss0), (cu0, cs0)] = self.start;
        format!(
            "CPU per frame: {server_name} {:.1} µs user + {:.1} µs system, client {:.1} + {:.1} µs",
            (su - su0) / millions,
            (ss - ss0) / millions,
            (cu - cu0) / millions,
            (cs - cs0) / millions,
        )
    }
}

async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    vars: Value,
) -> Value {
    let mut req = http
        .post(format!("{url}/graphql"))
        .header("content-type", "application/json")
        .body(json!({ "query": query, "variables": vars }).to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let bytes = req.send().await.expect("send").bytes().await.expect("body");
    let v: Value = serde_json::from_slice(&bytes).expect("json");
    assert!(v.get("errors").is_none(), "{v}");
    v["data"].clone()
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One subscriber: connected, acknowledged and subscribed to the chat.
async fn subscribe(url: &str, token: &str, chat: &str, private: bool) -> Result<Socket, String> {
    let mut req = url.into_client_request().map_err(|e| e.to_string())?;
    req.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    // tungstenite zeroes its whole read buffer before each read; at the
    // 128 KiB default that memset was half of this client's CPU.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true)
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(WsMessage::Text(init.to_string().into()))
        .await
        .map_err(|e| format!("cannot send connection_init: {e}"))?;
    match ws.next().await {
        Some(Ok(WsMessage::Text(t))) if t.contains("connection_ack") => {}
        other => return Err(format!("no connection_ack: {other:?}")),
    }
    let query = if private {
        "subscription($c: ID) { messageAdded(chatId: $c, after: \"0\") { message { text } } }"
    } else {
        "subscription($c: ID) { messageAdded(chatId: $c) { message { text } } }"
    };
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": { "c": chat } } });
    ws.send(WsMessage::Text(sub.to_string().into()))
        .await
        .map_err(|e| format!("cannot subscribe: {e}"))?;
    Ok(ws)
}

fn pct(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = arg("--subscribers")
        .unwrap_or_else(|| "1000,10000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let messages: usize = arg("--messages").and_then(|m| m.parse().ok()).unwrap_or(20);
    let private = std::env::args().any(|a| a == "--private");
    let exe = std::env::current_exe()?;
    if std::env::args().any(|a| a == "--tcp-floor-server") {
        return tcp_floor::serve().await;
    }
    if std::env::args().any(|a| a == "--tcp-floor") {
        for n in sizes {
            tcp_floor::run(&exe, n, messages).await?;
        }
        return Ok(());
    }
    // <target>/release/examples/bench_live
    let release = exe
        .parent()
        .and_then(|p| p.parent())
        .expect("release dir")
        .to_owned();
    let target = release.parent().expect("target dir").to_owned();
    // `--hub <program>` runs another program in its place, e.g. a profiler wrapping it.
    let hub_bin = arg("--hub")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| release.join("hub"));
    anyhow::ensure!(
        hub_bin.exists(),
        "build the hub first: {} is missing",
        hub_bin.display()
    );
    for n in sizes {
        run(&hub_bin, &target, n, messages, private).await?;
    }
    Ok(())
}

async fn run(
    hub_bin: &std::path::Path,
    target: &std::path::Path,
    n: usize,
    messages: usize,
    private: bool,
) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut child = Command::new(hub_bin)
        .arg("serve")
        .env("HUB_LISTEN", "127.0.0.1:0")
        .env(
            "HUB_DATABASE__URL",
            format!("surrealkv://{}", dir.path().join("db").display()),
        )
        .env("HUB_BOOTSTRAP__ADMIN_PASSWORD", "bench password 1")
        .env("HUB_LOG", "warn")
        // Messages must have a plugin to be accepted; none is delivered
        // (closed port), which keeps delivery out of the fan-out figures.
        .env("HUB_PLUGINS__DIR", target.join("plugins-dist"))
        .env("HUB_PLUGIN__WEBHOOK__SETTINGS__URL", "http://127.0.0.1:9/")
        .env(
            "HUB_PLUGIN__WEBHOOK__SETTINGS__SECRET",
            "bench-secret-0123456789",
        )
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    let _hub = HubProcess(child);
    let mut lines = BufReader::new(stdout).lines();
    let url = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("hub listening on ").map(str::to_owned))
        .expect("hub started");
    // Keep reading, so the hub never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let http = reqwest::Client::new();
    let token = gql(&http, &url, None, "mutation { signIn(tenant: \"default\", email: \"admin@example.com\", password: \"bench password 1\") { token } }", json!({}))
        .await["signIn"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = gql(&http, &url, Some(&token), "mutation { createClient(input: { firstName: \"Bench\", contacts: [{ kind: EMAIL, value: \"bench@example.com\" }] }) { id } }", json!({})).await;
    let chat = gql(
        &http,
        &url,
        Some(&token),
        "mutation($c: ID!) { openChat(clientId: $c) { id } }",
        json!({ "c": client["createClient"]["id"] }),
    )
    .await["openChat"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = rss_kib(pid);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Instant)>();
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), String>>();
    let ws_url = format!("{}/graphql/ws", url.replacen("http://", "ws://", 1));
    let connect_start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..n {
        let tx = tx.clone();
        let ready_tx = ready_tx.clone();
        let ws_url = ws_url.clone();
        let token = token.clone();
        let chat = chat.clone();
        tasks.push(tokio::spawn(async move {
            let mut ws = match subscribe(&ws_url, &token, &chat, private).await {
                Ok(ws) => {
                    let _ = ready_tx.send(Ok(()));
                    ws
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(format!("subscriber {i}: {e}")));
                    return;
                }
            };
            while let Some(Ok(msg)) = ws.next().await {
                if let WsMessage::Text(t) = msg {
                    let at = Instant::now();
                    if let Some(k) = t
                        .split("bench-")
                        .nth(1)
                        .and_then(|r| r.split('"').next())
                        .and_then(|k| k.parse().ok())
                    {
                        let _ = tx.send((k, at));
                    }
                }
            }
        }));
        if i % 500 == 499 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    drop(tx);
    for _ in 0..n {
        if let Err(e) = ready_rx.recv().await.expect("subscriber tasks alive") {
            anyhow::bail!("{e}");
        }
    }
    let connected = connect_start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(pid);
    let threads = proc_status(pid, "Threads:");

    eprintln!(
        "{n} subscribers ready (hub pid {pid}, bench pid {}); sending {messages} messages",
        std::process::id()
    );
    let cpu = CpuMeter::start(pid);
    let mut sent_at = Vec::with_capacity(messages);
    let mut latencies = Vec::with_capacity(n * messages);
    for k in 0..messages {
        let t0 = Instant::now();
        gql(&http, &url, Some(&token), "mutation($c: ID!, $t: String!) { sendMessage(input: { chatId: $c, text: $t }) { id } }", json!({ "c": chat, "t": format!("bench-{k}") })).await;
        sent_at.push(t0);
        let mut got = 0;
        while got < n {
            let (idx, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                .await?
                .expect("subscribers alive");
            latencies.push(at - sent_at[idx]);
            if idx == k {
                got += 1;
            }
        }
    }
    let cpu = cpu.per_frame(n * messages, "hub");
    latencies.sort();
    let per_sub = (rss_idle.saturating_sub(rss_before)) as f64 / n as f64;
    println!(
        "{n:>6} {} subscribers: connected in {:.1} s; hub RSS {} -> {} MiB, {:.1} KiB per idle subscription, {threads} threads; {} messages: fan-out p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {cpu}",
        if private { "private" } else { "shared" },
        connected.as_secs_f64(),
        rss_before / 1024,
        rss_idle / 1024,
        per_sub,
        messages,
        pct(&latencies, 0.5),
        pct(&latencies, 0.99),
        latencies.last().unwrap().as_secs_f64() * 1e3
    );
    for t in tasks {
        t.abort();
    }
    Ok(())
}

/// The hub under test, stopped however the run ends (a failed subscriber
/// included), so no hub outlives its benchmark.
struct HubProcess(std::process::Child);

impl Drop for HubProcess {
    fn drop(&mut self) {
        // A clean stop first, so a profiler wrapping the hub can write its report.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.0.id().to_string())
            .status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fan-out floor: a server process with one task per connection that
/// writes each message to its socket, and this process reading them, as the
/// live benchmark does but without WebSocket, GraphQL or database.
mod tcp_floor {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    const FRAME: usize = 100;

    /// The server: prints its address, then writes message `k` to every
    /// connection for each line `k` on standard input.
    pub async fn serve() -> anyhow::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        let (tx, _) = tokio::sync::broadcast::channel::<Arc<[u8]>>(16);
        let accepting = tx.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.set_nodelay(true);
                let mut rx = accepting.subscribe();
                tokio::spawn(async move {
                    while let Ok(frame) = rx.recv().await {
                        if socket.write_all(&frame).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = lines.next_line().await? {
            let k: u64 = line.trim().parse()?;
            let mut frame = vec![b'.'; FRAME];
            frame[..8].copy_from_slice(&k.to_le_bytes());
            let _ = tx.send(frame.into());
        }
        Ok(())
    }

    pub async fn run(exe: &std::path::Path, n: usize, messages: usize) -> anyhow::Result<()> {
        let mut server = Command::new(exe)
            .arg("--tcp-floor-server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut out = std::io::BufReader::new(server.stdout.take().expect("stdout"));
        let mut addr = String::new();
        std::io::BufRead::read_line(&mut out, &mut addr)?;
        let addr = addr.trim().to_owned();
        let mut control = server.stdin.take().expect("stdin");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
        for i in 0..n {
            let mut socket = TcpStream::connect(&addr).await?;
            socket.set_nodelay(true)?;
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; FRAME];
                while socket.read_exact(&mut buf).await.is_ok() {
                    let at = Instant::now();
                    let k = u64::from_le_bytes(buf[..8].try_into().expect("8 bytes"));
                    let _ = tx.send((k, at));
                }
            });
            if i % 500 == 499 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        drop(tx);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut latencies = Vec::with_capacity(n * messages);
        let cpu = super::CpuMeter::start(server.id());
        for k in 0..messages as u64 {
            let t0 = Instant::now();
            writeln!(control, "{k}")?;
            control.flush()?;
            let mut got = 0;
            while got < n {
                let (idx, at) = tokio::time::timeout(Duration::from_secs(60), rx.recv())
                    .await?
                    .expect("readers alive");
                if idx == k {
                    latencies.push(at - t0);
                    got += 1;
                }
            }
        }
        let cpu = cpu.per_frame(n * messages, "server");
        latencies.sort();
        println!(
            "{n:>6} plain TCP connections, no hub: {messages} messages of {FRAME} bytes: fan-out p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {cpu}",
            super::pct(&latencies, 0.5),
            super::pct(&latencies, 0.99),
            latencies.last().expect("latencies").as_secs_f64() * 1e3,
        );
        drop(control);
        let _ = server.kill();
        let _ = server.wait();
        Ok(())
    }
}
