//! The client side of SMTP submission (RFC 6409): EHLO, STARTTLS (RFC 3207)
//! or implicit TLS (RFC 8314), AUTH PLAIN (RFC 4954), one message. Credentials
//! and mail never cross the network in clear: without TLS the client stops.

use base64::Engine;
use hub_plugin_sdk::net::{self, Connection};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Security {
    StartTls,
    Tls,
}

pub struct Server<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(&'a str, &'a str)>,
    pub helo: &'a str,
}

/// Why a submission failed, in SMTP's terms.
#[derive(Debug)]
pub enum Failure {
    /// 4xx, a dropped connection, a timeout: try again later.
    Transient(String),
    /// 5xx: the server will not take this message.
    Permanent(String),
    /// The server refused our credentials (535) or demands AUTH (530).
    Auth(String),
}

impl From<net::Error> for Failure {
    fn from(e: net::Error) -> Self {
        Failure::Transient(e.to_string())
    }
}

/// The longest reply line RFC 5321 allows, with room to spare.
const MAX_LINE: usize = 4096;

struct Session {
    conn: Option<Connection>,
}

impl Session {
    fn conn(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("an open connection")
    }

    /// Reads one reply (all its lines): its code and its text.
    fn reply(&mut self) -> Result<(u16, String), Failure> {
        let mut text = Vec::new();
        loop {
            let line = self.conn().read_line(MAX_LINE)?;
            let code = line
                .get(..3)
                .and_then(|c| c.parse::<u16>().ok())
                .ok_or_else(|| Failure::Transient(format!("not an SMTP reply: `{line}`")))?;
            text.push(line.get(4..).unwrap_or_default().to_owned());
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok((code, text.join("\n")));
            }
        }
    }

    /// Sends `command` and checks the reply is `expect` (its first digit).
    fn command(&mut self, command: &str, shown: &str, expect: u16) -> Result<String, Failure> {
        self.conn().write_all(format!("{command}\r\n").as_bytes())?;
        self.expect(shown, expect)
    }

    fn expect(&mut self, what: &str, expect: u16) -> Result<String, Failure> {
        let (code, text) = self.reply()?;
        if code / 100 == expect / 100 {
            return Ok(text);
        }
        let said = format!("{what}: the server answered {code} {text}");
        Err(match code {
            530 | 535 | 534 | 538 => Failure::Auth(said),
            400..=499 => Failure::Transient(said),
            _ => Failure::Permanent(said),
        })
    }
}

/// Dot-stuffs `message` (RFC 5321 4.5.2) and ends it with CRLF . CRLF.
fn data_block(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut at_line_start = true;
    for &b in message {
        if at_line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        at_line_start = b == b'\n';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b".\r\n");
    out
}

/// Submits one message; returns the server's answer to DATA (its queue id).
pub fn submit(
    server: &Server<'_>,
    from: &str,
    to: &str,
    message: &[u8],
) -> Result<String, Failure> {
    let mut conn = Connection::connect(server.host, server.port, 20_000)?;
    if server.security == Security::Tls {
        conn = conn
            .start_tls(server.host)
            .map_err(|e| Failure::Transient(e.to_string()))?;
    }
    let mut s = Session { conn: Some(conn) };
    s.expect("greeting", 220)?;
    let mut extensions = s.command(&format!("EHLO {}", server.helo), "EHLO", 250)?;
    if server.security == Security::StartTls {
        let offers = extensions
            .lines()
            .any(|l| l.trim().eq_ignore_ascii_case("STARTTLS"));
        if !offers {
            return Err(Failure::Permanent(format!(
                "{} does not offer STARTTLS: mail and credentials would cross the network in clear",
                server.host
            )));
        }
        s.command("STARTTLS", "STARTTLS", 220)?;
        let plain = s.conn.take().expect("an open connection");
        s.conn = Some(
            plain
                .start_tls(server.host)
                .map_err(|e| Failure::Transient(e.to_string()))?,
        );
        extensions = s.command(&format!("EHLO {}", server.helo), "EHLO", 250)?;
    }
    if let Some((user, password)) = server.credentials {
        let plain = extensions.lines().any(|l| {
            let l = l.to_ascii_uppercase();
            l.starts_with("AUTH") && l.split([' ', '=']).any(|m| m == "PLAIN")
        });
        if !plain {
            return Err(Failure::Auth(format!(
                "{} does not offer AUTH PLAIN",
                server.host
            )));
        }
        let token =
            base64::engine::general_purpose::STANDARD.encode(format!("\0{user}\0{password}"));
        s.command(&format!("AUTH PLAIN {token}"), "AUTH PLAIN", 235)?;
    }
    s.command(&format!("MAIL FROM:<{from}>"), "MAIL FROM", 250)?;
    s.command(&format!("RCPT TO:<{to}>"), "RCPT TO", 250)?;
    s.command("DATA", "DATA", 354)?;
    s.conn().write_all(&data_block(message))?;
    let queued = s.expect("the message", 250)?;
    // The message is accepted; a failed goodbye changes nothing.
    let _ = s.command("QUIT", "QUIT", 221);
    if let Some(c) = s.conn.take() {
        c.close();
    }
    Ok(queued)
}
