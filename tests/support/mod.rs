//! Starts the real `hub` binary on an ephemeral port with a temporary data
//! directory, and speaks GraphQL to it over HTTP.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub mod fakes;
pub mod receiver;
pub mod smtp;
pub mod surreal;

pub const ADMIN_PASSWORD: &str = "admin password 123";

pub fn hub_bin() -> &'static str {
    env!("CARGO_BIN_EXE_hub")
}

/// Runs SurrealQL on a stopped hub's embedded database through the `surql`
/// example (a process of its own: the database stays locked until the
/// process that opened it ends) and returns each statement's result.
pub fn surql(data: &DataDir, sql: &str) -> Vec<Value> {
    let exe = Path::new(hub_bin())
        .parent()
        .expect("target directory")
        .join("examples/surql");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo xtask test` builds it",
        exe.display()
    );
    let mut child = Command::new(&exe)
        .arg(data.db_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run surql");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), sql.as_bytes())
        .expect("write SurrealQL");
    let out = child.wait_with_output().expect("surql output");
    assert!(
        out.status.success(),
        "surql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The secret of the `webhook` plugin in tests.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789";

/// The plugins compiled from `plugins/` (the test-only ones included),
/// staged once per test process the way the hub loads them.
pub fn plugins_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = workspace_file("");
        // .../<target>/release/hub
        let target = Path::new(hub_bin())
            .parent()
            .and_then(Path::parent)
            .expect("target directory")
            .to_owned();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--workspace",
                "--target",
                "wasm32-wasip2",
            ])
            .arg("--manifest-path")
            .arg(root.join("plugins/Cargo.toml"))
            .env("CARGO_TARGET_DIR", target.join("wasm"))
            .status()
            .expect("run cargo to build the plugins");
        assert!(status.success(), "building the plugins failed");
        let built = target.join("wasm/wasm32-wasip2/release");
        let out = std::env::temp_dir().join(format!("hub-test-plugins-{}", std::process::id()));
        std::fs::create_dir_all(&out).expect("plugins dir");
        // Every plugin crate, the test-only ones included, as `cargo xtask` stages them.
        for group in ["plugins", "plugins/testing"] {
            for entry in std::fs::read_dir(root.join(group)).expect("plugins folder") {
                let dir = entry.expect("plugins folder entry").path();
                if !dir.join("plugin.toml").is_file() {
                    continue;
                }
                let name = dir.file_name().unwrap().to_string_lossy().replace('-', "_");
                std::fs::copy(
                    built.join(format!("{name}.wasm")),
                    out.join(format!("{name}.wasm")),
                )
                .expect("copy plugin");
                std::fs::copy(dir.join("plugin.toml"), out.join(format!("{name}.toml")))
                    .expect("copy manifest");
            }
        }
        out
    })
}

/// A data directory that outlives hub processes, so a restart can be tested.
pub struct DataDir {
    dir: tempfile::TempDir,
}

impl DataDir {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn db_url(&self) -> String {
        format!("surrealkv://{}", self.dir.path().join("db").display())
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(hub_bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HUB_DATABASE__URL", self.db_url())
            .env("HUB_LISTEN", "127.0.0.1:0")
            .env("HUB_LOG", "warn")
            .env("HUB_PLUGINS__DIR", plugins_dir())
            .env("HUB_FILES__DIR", self.dir.path().join("files"))
            // Every tenant can send through the generic webhook plugin; by
            // default to a closed port, so messages stay queued and retried.
            .env(
                "HUB_PLUGIN__WEBHOOK__SETTINGS__URL",
                "http://127.0.0.1:9/discard",
            )
            .env("HUB_PLUGIN__WEBHOOK__SETTINGS__SECRET", WEBHOOK_SECRET)
            .env("HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS", "127.0.0.1:9");
        cmd
    }

    /// Runs `hub tenant create` (the hub must not be running on this directory).
    pub fn create_tenant(&self, slug: &str, admin_email: &str) {
        let out = self
            .command(&[
                "tenant",
                "create",
                "--name",
                &format!("{slug} Inc"),
                "--slug",
                slug,
                "--admin-email",
                admin_email,
            ])
            .env("HUB_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .output()
            .expect("run hub tenant create");
        assert!(
            out.status.success(),
            "hub tenant create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs a `hub` command to completion, returning (success, stdout, stderr).
    pub fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut cmd = self.command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run hub");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn start(&self) -> Hub {
        self.start_with(&[])
    }

    pub fn start_with(&self, env: &[(&str, &str)]) -> Hub {
        let mut cmd = self.command(&["serve"]);
        cmd.env("HUB_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn hub");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                sink.lock().unwrap().push(line);
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.push(line.clone());
                if let Some(url) = line.strip_prefix("hub listening on ") {
                    let _ = tx.send(Ok((url.to_owned(), lines.clone())));
                }
            }
            let _ = tx.send(Err(lines));
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(Ok((url, stdout))) => Hub {
                child,
                url,
                stdout,
                log,
                http: reqwest::Client::new(),
            },
            other => {
                let _ = child.kill();
                panic!("hub did not start: {other:?}");
            }
        }
    }
}

pub struct Hub {
    child: Child,
    pub url: String,
    /// What the hub printed up to the "listening" line.
    pub stdout: Vec<String>,
    /// What the hub has logged so far (stderr).
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GraphQL response: `data` and `errors` as sent.
#[derive(Debug)]
pub struct Gql {
    pub body: Value,
}

impl Gql {
    /// `data`, asserting there were no errors.
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "unexpected errors: {:#}",
            self.body
        );
        &self.body["data"]
    }

    /// The first error's `code` extension, asserting there was one.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {:#}", self.body))
    }

    pub fn field(&self) -> Option<&str> {
        self.body["errors"][0]["extensions"]["field"].as_str()
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or("")
    }
}

impl Hub {
    /// Everything the hub logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Kills the process outright (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the hub with SIGTERM and waits for it, as an operator would.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hub did not stop within 20 s of SIGTERM");
    }

    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Gql {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("POST /graphql");
        let bytes = resp.bytes().await.expect("response body");
        let body: Value = serde_json::from_slice(&bytes).expect("JSON body");
        Gql { body }
    }

    pub async fn sign_in(&self, tenant: &str, email: &str, password: &str) -> String {
        let r = self
            .gql(
                None,
                "mutation($t: String!, $e: String!, $p: String!) { signIn(tenant: $t, email: $e, password: $p) { token } }",
                json!({ "t": tenant, "e": email, "p": password }),
            )
            .await;
        r.ok()["signIn"]["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Creates a user with `role` and returns a signed-in token for them.
    pub async fn user_with_role(
        &self,
        admin: &str,
        tenant: &str,
        email: &str,
        role: &str,
    ) -> String {
        self.gql(
            Some(admin),
            "mutation($i: CreateUserInput!) { createUser(input: $i) { id } }",
            json!({ "i": { "email": email, "name": email, "role": role, "password": "user password 1" } }),
        )
        .await
        .ok();
        self.sign_in(tenant, email, "user password 1").await
    }

    pub async fn create_client(&self, token: &str, input: Value) -> Value {
        self.gql(
            Some(token),
            "mutation($i: CreateClientInput!) { createClient(input: $i) { id firstName displayName contacts { id kind value } } }",
            json!({ "i": input }),
        )
        .await
        .ok()["createClient"]
            .clone()
    }

    pub async fn open_chat(&self, token: &str, client_id: &str) -> String {
        self.gql(
            Some(token),
            "mutation($c: ID!) { openChat(clientId: $c) { id } }",
            json!({ "c": client_id }),
        )
        .await
        .ok()["openChat"]["id"]
            .as_str()
            .expect("chat id")
            .to_owned()
    }
}

impl Hub {
    /// Sets a tenant's own settings and channels for `plugin` (an admin's token).
    pub async fn configure_plugin(
        &self,
        admin: &str,
        plugin: &str,
        settings: &[(&str, &str)],
        channels: &[&str],
    ) {
        let settings: Vec<Value> = settings
            .iter()
            .map(|(k, v)| json!({ "key": k, "value": v }))
            .collect();
        self.gql(
            Some(admin),
            "mutation($p: String!, $s: [PluginSettingInput!]!, $c: [Transport!]) { configurePlugin(plugin: $p, settings: $s, channels: $c) { name } }",
            json!({ "p": plugin, "s": settings, "c": channels }),
        )
        .await
        .ok();
    }
}

impl Hub {
    /// A chat's messages, newest first, with their delivery state.
    pub async fn history(&self, token: &str, chat: &str) -> Vec<Value> {
        let r = self
            .gql(
                Some(token),
                "query($c: ID!) { chat(id: $c) { messages(first: 50) { edges { node { id text status failureReason providerMessageId direction transport sender { kind } } } } } }",
                json!({ "c": chat }),
            )
            .await;
        r.ok()["chat"]["messages"]["edges"]
            .as_array()
            .expect("a page of messages")
            .iter()
            .map(|e| e["node"].clone())
            .collect()
    }

    /// Polls message `id` until `done` holds (or 20 s pass) and returns it.
    pub async fn wait_message(
        &self,
        token: &str,
        chat: &str,
        id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let m = self
                .history(token, chat)
                .await
                .into_iter()
                .find(|m| m["id"] == id)
                .expect("the message is in the history");
            if done(&m) || tokio::time::Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Hub {
    /// `searchMessages(query)`, asked until it finds at least `n` messages
    /// (search is written behind the message, a moment after it) or 10 s
    /// pass; returns the messages' texts and chats.
    pub async fn search_messages(&self, token: &str, query: &str, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = self
                .gql(
                    Some(token),
                    "query($q: String!) { searchMessages(query: $q) { id text chatId } }",
                    json!({ "q": query }),
                )
                .await;
            let hits = r.ok()["searchMessages"]
                .as_array()
                .expect("a list of messages")
                .clone();
            if hits.len() >= n || tokio::time::Instant::now() > deadline {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The path of a file in the workspace.
pub fn workspace_file(rel: &str) -> PathBuf {
    // `cargo test` names the package folder when the test runs; the path
    // compiled in may be another checkout's that shares the target directory.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("..")
        .join(rel)
}

/// A `graphql-transport-ws` client, as the web inbox and integrations use.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Hub {
    /// Opens a WebSocket to `/graphql/ws` asking for `subprotocol`, and
    /// nothing more.
    pub async fn ws_open(&self, subprotocol: Option<&str>) -> Ws {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let url = format!("{}/graphql/ws", self.url.replacen("http://", "ws://", 1));
        let mut req = url.into_client_request().expect("ws request");
        if let Some(p) = subprotocol {
            req.headers_mut()
                .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        Ws { stream }
    }

    /// Connects to `/graphql/ws` and authenticates with `token`.
    pub async fn ws(&self, token: &str) -> Ws {
        let mut ws = self.ws_open(Some("graphql-transport-ws")).await;
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        let ack = ws
            .recv(Duration::from_secs(10))
            .await
            .expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        ws
    }
}

impl Ws {
    pub async fn send(&mut self, msg: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(
                msg.to_string().into(),
            ))
            .await
            .expect("ws send");
    }

    /// The next protocol message (pings answered), or `None` on timeout or close.
    pub async fn recv(&mut self, within: Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            let text = match msg {
                tokio_tungstenite::tungstenite::Message::Text(t) => t.to_string(),
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            };
            let v: Value = serde_json::from_str(&text).expect("ws JSON");
            if v["type"] == "ping" {
                self.send(json!({ "type": "pong" })).await;
                continue;
            }
            return Some(v);
        }
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
            .await
            .expect("ws send");
    }

    /// Reads until the server closes; its close code and reason.
    pub async fn closed(&mut self, within: Duration) -> Option<(u16, String)> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                    return frame.map(|f| (u16::from(f.code), f.reason.to_string()));
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) | Err(_) => return None,
            }
        }
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "id": id, "type": "subscribe", "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next `next` payload's `data`, or panics naming what came instead.
    pub async fn next_data(&mut self, within: Duration) -> Option<Value> {
        let msg = self.recv(within).await?;
        assert_eq!(msg["type"], "next", "expected data, got {msg}");
        Some(msg["payload"].clone())
    }
}
