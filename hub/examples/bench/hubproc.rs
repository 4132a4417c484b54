//! The real `hub` binary on the seeded database, and a client for its
//! GraphQL API over HTTP and WebSocket.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The hub under test; stopped however the run ends.
pub struct HubProcess {
    child: Child,
    pub url: String,
}

impl HubProcess {
    pub fn start(
        bin: &Path,
        db_dir: &Path,
        files_dir: &Path,
        plugins: &Path,
        provider: &super::fake::Provider,
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            bin.exists(),
            "build the hub first: {} is missing",
            bin.display()
        );
        let mut child = Command::new(bin)
            .arg("serve")
            .env("HUB_LISTEN", "127.0.0.1:0")
            .env(
                "HUB_DATABASE__URL",
                format!("surrealkv://{}", db_dir.display()),
            )
            .env("HUB_FILES__DIR", files_dir)
            .env("HUB_LOG", "warn")
            .env("HUB_PLUGINS__DIR", plugins)
            .env("HUB_PLUGIN__WEBHOOK__SETTINGS__URL", provider.url())
            .env("HUB_PLUGIN__WEBHOOK__SETTINGS__SECRET", super::fake::SECRET)
            .env(
                "HUB_PLUGIN__WEBHOOK__ALLOW_HOSTS",
                provider.addr.to_string(),
            )
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("hub listening on ").map(str::to_owned));
        // Keep reading, so the hub never writes into a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let Some(url) = url else {
            let status = child.wait()?;
            anyhow::bail!("the hub stopped before listening ({status})");
        };
        Ok(Self { child, url })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn rss_mib(&self) -> f64 {
        super::rss_kib(self.pid()) as f64 / 1024.0
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A signed-in GraphQL client.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    pub url: String,
    token: String,
}

impl Api {
    pub async fn sign_in(
        url: &str,
        tenant: &str,
        email: &str,
        password: &str,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let mut api = Self {
            http,
            url: url.to_owned(),
            token: String::new(),
        };
        let data = api
            .gql(
                "mutation($t: String!, $e: String!, $p: String!) { signIn(tenant: $t, email: $e, password: $p) { token } }",
                json!({ "t": tenant, "e": email, "p": password }),
            )
            .await?;
        api.token = data["signIn"]["token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no token in {data}"))?
            .to_owned();
        Ok(api)
    }

    /// `data`, or the errors as an error.
    pub async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .header("content-type", "application/json")
            .body(json!({ "query": query, "variables": variables }).to_string());
        if !self.token.is_empty() {
            req = req.bearer_auth(&self.token);
        }
        let bytes = req.send().await?.bytes().await?;
        let mut v: Value = serde_json::from_slice(&bytes)?;
        if let Some(errors) = v.get("errors") {
            anyhow::bail!("GraphQL errors: {errors}");
        }
        Ok(v["data"].take())
    }

    /// Posts a signed inbound webhook for the generic plugin.
    pub async fn inbound(&self, tenant: &str, body: &Value) -> anyhow::Result<()> {
        let body = body.to_string();
        let resp = self
            .http
            .post(format!("{}/webhooks/webhook/{tenant}", self.url))
            .header("content-type", "application/json")
            .header("x-hub-signature", super::fake::sign(body.as_bytes()))
            .body(body)
            .send()
            .await?;
        let status = resp.status();
        anyhow::ensure!(
            status.is_success(),
            "the webhook answered {status}: {}",
            resp.text().await.unwrap_or_default()
        );
        Ok(())
    }

    pub fn ws_url(&self) -> String {
        format!("{}/graphql/ws", self.url.replacen("http://", "ws://", 1))
    }

    pub fn token(&self) -> &str {
        &self.token
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket connection, acknowledged, with one subscription started.
pub async fn subscribe(
    ws_url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> anyhow::Result<Socket> {
    let mut req = ws_url.into_client_request()?;
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse()?);
    // tungstenite zeroes its whole read buffer before each read: keep it small.
    let config = WebSocketConfig::default().read_buffer_size(4 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(req, Some(config), true).await?;
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } });
    ws.send(WsMessage::Text(init.to_string().into())).await?;
    match ws.next().await {
        Some(Ok(WsMessage::Text(t))) if t.contains("connection_ack") => {}
        other => anyhow::bail!("no connection_ack: {other:?}"),
    }
    let sub = json!({ "id": "1", "type": "subscribe", "payload": { "query": query, "variables": variables } });
    ws.send(WsMessage::Text(sub.to_string().into())).await?;
    Ok(ws)
}
