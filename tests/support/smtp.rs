//! A real SMTP server on loopback (aiosmtpd, from `smtp_server.py`) for the
//! e-mail plugin: STARTTLS and implicit-TLS ports, AUTH, and every message
//! it accepts kept for the test to read. Its Python environment is made
//! once per target directory.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const USER: &str = "support@shop.example";
pub const PASSWORD: &str = "smtp password 42";

/// A Python with aiosmtpd and trustme, in a virtual environment beside the build.
fn python() -> &'static Path {
    static PY: OnceLock<PathBuf> = OnceLock::new();
    PY.get_or_init(|| {
        let target = Path::new(super::hub_bin())
            .parent()
            .and_then(Path::parent)
            .expect("target directory")
            .to_owned();
        let venv = target.join("py-smtp");
        let python = venv.join("bin/python");
        let ready = venv.join("ready-aiosmtpd-1.4.6-trustme-1.2.1");
        if !ready.exists() {
            let made = Command::new("python3")
                .args(["-m", "venv"])
                .arg(&venv)
                .status()
                .expect("python3 is needed for the SMTP server in the e-mail tests");
            assert!(made.success(), "python3 -m venv failed");
            let installed = Command::new(&python)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "aiosmtpd==1.4.6",
                    "trustme==1.2.1",
                ])
                .status()
                .expect("run pip");
            assert!(installed.success(), "pip install aiosmtpd trustme failed");
            std::fs::write(&ready, "").expect("mark the environment ready");
        }
        python
    })
}

pub struct SmtpServer {
    child: Child,
    _stdin: ChildStdin,
    dir: tempfile::TempDir,
    pub starttls_port: u16,
    pub tls_port: u16,
}

/// One message the server accepted: its envelope and its bytes.
pub struct Received {
    pub envelope: serde_json::Value,
    pub raw: Vec<u8>,
}

impl SmtpServer {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(python())
            .arg(super::workspace_file("tests/support/smtp_server.py"))
            .arg(dir.path())
            .args([USER, PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP server");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("the SMTP server's ready line");
        let ports: Vec<u16> = line
            .strip_prefix("ready ")
            .unwrap_or_else(|| panic!("the SMTP server did not start: `{line}`"))
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        Self {
            child,
            _stdin: stdin,
            dir,
            starttls_port: ports[0],
            tls_port: ports[1],
        }
    }

    /// The CA that signed the server's certificate, for `plugins.tls_ca_file`.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Waits until `n` messages arrived (or time runs out) and returns them in order.
    pub fn wait_for(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let mut found: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect();
            if found.len() >= n || Instant::now() > deadline {
                found.sort();
                return found
                    .into_iter()
                    .map(|p| Received {
                        raw: std::fs::read(&p).unwrap(),
                        envelope: serde_json::from_slice(
                            &std::fs::read(p.with_extension("json")).unwrap(),
                        )
                        .unwrap(),
                    })
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self._stdin.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
