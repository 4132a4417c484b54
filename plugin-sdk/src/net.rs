//! TCP and TLS for plugins with the `sockets` capability, for protocols
//! that are not HTTP (SMTP submission). The hub lets a connection through
//! only to the addresses of the plugin's allowed hosts, and does the TLS
//! handshake itself (`wasi:tls`), checking the server's certificate; the
//! plugin reads and writes plain bytes either way.

use wasip2::clocks::monotonic_clock;
use wasip2::io::poll;
use wasip2::io::streams::{InputStream, OutputStream, StreamError};
use wasip2::sockets::instance_network::instance_network;
use wasip2::sockets::ip_name_lookup::resolve_addresses;
use wasip2::sockets::network::{
    ErrorCode, IpAddress, IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, Ipv6SocketAddress,
};
use wasip2::sockets::tcp::TcpSocket;
use wasip2::sockets::tcp_create_socket::create_tcp_socket;

use crate::tls_bindings::wasi::tls::types::{ClientConnection, ClientHandshake};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The name did not resolve, or the hub refused the address.
    Connect(String),
    /// The certificate or the handshake failed.
    Tls(String),
    /// Reading or writing failed, or the peer closed the connection.
    Io(String),
    Timeout(&'static str),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Connect(m) => write!(f, "cannot connect: {m}"),
            Error::Tls(m) => write!(f, "TLS failed: {m}"),
            Error::Io(m) => write!(f, "connection failed: {m}"),
            Error::Timeout(what) => write!(f, "timed out {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// One connection, plain or TLS. Fields drop in order: the streams before
/// the TLS connection, and both before the socket they came from.
pub struct Connection {
    input: InputStream,
    output: OutputStream,
    tls: Option<ClientConnection>,
    socket: TcpSocket,
    buffer: Vec<u8>,
    timeout_ns: u64,
}

/// Waits for `pollable` at most `timeout_ns`; false on timeout.
fn wait(pollable: &poll::Pollable, timeout_ns: u64) -> bool {
    let timer = monotonic_clock::subscribe_duration(timeout_ns);
    let ready = poll::poll(&[pollable, &timer]);
    ready.contains(&0)
}

fn socket_address(ip: IpAddress, port: u16) -> (IpAddressFamily, IpSocketAddress) {
    match ip {
        IpAddress::Ipv4(address) => (
            IpAddressFamily::Ipv4,
            IpSocketAddress::Ipv4(Ipv4SocketAddress { port, address }),
        ),
        IpAddress::Ipv6(address) => (
            IpAddressFamily::Ipv6,
            IpSocketAddress::Ipv6(Ipv6SocketAddress {
                port,
                flow_info: 0,
                address,
                scope_id: 0,
            }),
        ),
    }
}

fn resolve(host: &str, timeout_ns: u64) -> Result<Vec<IpAddress>, Error> {
    let network = instance_network();
    let stream = resolve_addresses(&network, host)
        .map_err(|e| Error::Connect(format!("cannot resolve {host}: {e:?}")))?;
    let mut found = Vec::new();
    loop {
        match stream.resolve_next_address() {
            Ok(Some(ip)) => found.push(ip),
            Ok(None) => return Ok(found),
            Err(ErrorCode::WouldBlock) => {
                if !wait(&stream.subscribe(), timeout_ns) {
                    return Err(Error::Timeout("resolving the host"));
                }
            }
            Err(e) => return Err(Error::Connect(format!("cannot resolve {host}: {e:?}"))),
        }
    }
}

impl Connection {
    /// Connects to `host:port`, trying each address the name resolves to.
    pub fn connect(host: &str, port: u16, timeout_ms: u64) -> Result<Self, Error> {
        let timeout_ns = timeout_ms.saturating_mul(1_000_000);
        let network = instance_network();
        let mut last = Error::Connect(format!("{host} has no address"));
        for ip in resolve(host, timeout_ns)? {
            let (family, address) = socket_address(ip, port);
            let socket = create_tcp_socket(family)
                .map_err(|e| Error::Connect(format!("no socket: {e:?}")))?;
            if let Err(e) = socket.start_connect(&network, address) {
                last = Error::Connect(format!("{host}:{port}: {e:?}"));
                continue;
            }
            let streams = loop {
                match socket.finish_connect() {
                    Err(ErrorCode::WouldBlock) => {
                        if !wait(&socket.subscribe(), timeout_ns) {
                            break Err(Error::Timeout("connecting"));
                        }
                    }
                    other => {
                        break other.map_err(|e| Error::Connect(format!("{host}:{port}: {e:?}")));
                    }
                }
            };
            match streams {
                Ok((input, output)) => {
                    return Ok(Self {
                        input,
                        output,
                        tls: None,
                        socket,
                        buffer: Vec::new(),
                        timeout_ns,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Runs the TLS handshake over this connection, checking the server's
    /// certificate for `server_name` (STARTTLS, or implicit TLS at once).
    pub fn start_tls(self, server_name: &str) -> Result<Self, Error> {
        let Self {
            input,
            output,
            tls,
            socket,
            timeout_ns,
            buffer,
        } = self;
        if tls.is_some() {
            return Err(Error::Tls("the connection is already encrypted".into()));
        }
        if !buffer.is_empty() {
            return Err(Error::Tls(
                "the server sent data before the handshake".into(),
            ));
        }
        let handshake = ClientHandshake::new(server_name, input, output);
        let future = ClientHandshake::finish(handshake);
        let result = loop {
            match future.get() {
                Some(r) => break r,
                None => {
                    if !wait(&future.subscribe(), timeout_ns) {
                        return Err(Error::Timeout("in the TLS handshake"));
                    }
                }
            }
        };
        let (connection, input, output) = result
            .map_err(|()| Error::Tls("the handshake result was taken twice".into()))?
            .map_err(|e| Error::Tls(e.to_debug_string()))?;
        drop(future);
        Ok(Self {
            input,
            output,
            tls: Some(connection),
            socket,
            buffer: Vec::new(),
            timeout_ns,
        })
    }

    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for chunk in bytes.chunks(4096) {
            self.output
                .blocking_write_and_flush(chunk)
                .map_err(|e| Error::Io(stream_error(e)))?;
        }
        Ok(())
    }

    /// One line without its CRLF, at most `max` bytes long.
    pub fn read_line(&mut self, max: usize) -> Result<String, Error> {
        loop {
            if let Some(end) = self.buffer.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let text = String::from_utf8_lossy(&line);
                return Ok(text.trim_end_matches(['\r', '\n']).to_owned());
            }
            if self.buffer.len() > max {
                return Err(Error::Io(format!("a line longer than {max} bytes")));
            }
            if !wait(&self.input.subscribe(), self.timeout_ns) {
                return Err(Error::Timeout("waiting for the server"));
            }
            match self.input.read(4096) {
                Ok(bytes) => self.buffer.extend_from_slice(&bytes),
                Err(e) => return Err(Error::Io(stream_error(e))),
            }
        }
    }

    /// Closes the sending side (and TLS with a close-notify).
    pub fn close(self) {
        if let Some(tls) = &self.tls {
            tls.close_output();
        }
        let _ = self
            .socket
            .shutdown(wasip2::sockets::tcp::ShutdownType::Both);
    }
}

fn stream_error(e: StreamError) -> String {
    match e {
        StreamError::Closed => "the server closed the connection".into(),
        StreamError::LastOperationFailed(e) => e.to_debug_string(),
    }
}
