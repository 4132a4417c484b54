//! TLS for plugins that open their own connections (`wasi:tls`, for the
//! `sockets` capability: SMTP). The hub does the handshake with rustls and
//! checks the server's certificate against the public roots plus the
//! operator's own authorities (`plugins.tls_ca_file`); the plugin only sees
//! the decrypted streams.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use wasmtime_wasi_tls::{Error, TlsProvider, TlsStream, TlsTransport};

use super::PluginError;

#[derive(Clone)]
pub struct HubTls {
    config: Arc<rustls::ClientConfig>,
}

impl HubTls {
    /// The public roots, plus every certificate in `extra_ca` when given.
    pub fn new(extra_ca: Option<&Path>) -> Result<Self, PluginError> {
        // Two rustls back ends are linked in (through other crates), so
        // rustls cannot pick one itself: `wasmtime_wasi_tls`'s default
        // context, built before ours replaces it, needs the process-wide
        // choice. Already chosen is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        if let Some(path) = extra_ca {
            let shown = path.display();
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|i| i.collect::<Result<Vec<_>, _>>())
                .map_err(|e| PluginError::Load(format!("plugins.tls_ca_file {shown}: {e}")))?;
            if certs.is_empty() {
                return Err(PluginError::Load(format!(
                    "plugins.tls_ca_file {shown}: no certificate in it"
                )));
            }
            for c in certs {
                roots
                    .add(c)
                    .map_err(|e| PluginError::Load(format!("plugins.tls_ca_file {shown}: {e}")))?;
            }
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| PluginError::Load(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }
}

type Handshake = Pin<Box<dyn Future<Output = Result<Box<dyn TlsStream>, Error>> + Send>>;

impl TlsProvider for HubTls {
    fn connect(&self, server_name: String, transport: Box<dyn TlsTransport>) -> Handshake {
        let config = self.config.clone();
        Box::pin(async move {
            let name = ServerName::try_from(server_name.clone())
                .map_err(|_| Error::msg(format!("`{server_name}` is not a server name")))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, transport)
                .await
                .map_err(|e| Error::msg(format!("TLS with {server_name}: {e}")))?;
            Ok(Box::new(stream) as Box<dyn TlsStream>)
        })
    }
}
