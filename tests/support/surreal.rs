//! A real SurrealDB server (`surreal start`), built from the
//! `surrealdb-server` crate by `cargo xtask surreal` (the test command builds
//! it first), for the tests that run several hubs on one database.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "root";
pub const PASSWORD: &str = "root";

pub struct Surreal {
    child: Child,
    /// `ws://127.0.0.1:<port>`, as `database.url` takes it.
    pub url: String,
}

impl Drop for Surreal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HUB_SURREAL_BIN") {
        return p.into();
    }
    // The hub binary is `<target>/release/hub`; the server is built into
    // `<target>/surreal/release/surreal`.
    let hub = PathBuf::from(super::hub_bin());
    let target = hub
        .parent()
        .and_then(|p| p.parent())
        .expect("target directory");
    target.join("surreal/release/surreal")
}

impl Surreal {
    /// Starts a server keeping its data in memory and waits until it answers.
    pub fn start() -> Self {
        let bin = binary();
        assert!(
            bin.is_file(),
            "no SurrealDB server at {}: build it with `cargo xtask surreal` (the test command does), or set HUB_SURREAL_BIN",
            bin.display()
        );
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let child = Command::new(&bin)
            .args(["start", "--no-banner", "--log", "warn", "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--user", USER, "--pass", PASSWORD, "memory"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start surreal");
        let server = Self {
            child,
            url: format!("ws://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "SurrealDB did not start in 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The environment that points a hub at this server.
    pub fn hub_env(&self) -> Vec<(String, String)> {
        [
            ("HUB_DATABASE__URL", self.url.as_str()),
            ("HUB_DATABASE__USERNAME", USER),
            ("HUB_DATABASE__PASSWORD", PASSWORD),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into()
    }
}
