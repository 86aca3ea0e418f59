//! [`PeerTransport`]: how a node talks to its peers — the source address of its
//! connections and, when certificates are configured, mutual TLS.
//!
//! With [`PeerTls`], the peer service accepts only clients presenting a certificate signed
//! by the cluster's CA, and a node connects to its peers only over TLS, verifying their
//! certificate against the same CA (and presenting its own). Raft traffic carries the whole
//! state, secrets sealed but everything else in the clear: a cluster spanning hosts should
//! always configure it.

use std::fmt;
use std::net::IpAddr;

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// A node's certificate, its private key, and the CA that signs every peer's certificate,
/// all PEM-encoded.
#[derive(Clone)]
pub struct PeerTls {
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    ca_pem: Vec<u8>,
    server_name: Option<String>,
}

impl PeerTls {
    /// `server_name`, when given, is the name every peer's certificate is checked against
    /// (one name for the whole cluster); otherwise the host of the peer's address is.
    pub fn from_pem(
        cert_pem: Vec<u8>,
        key_pem: Vec<u8>,
        ca_pem: Vec<u8>,
        server_name: Option<String>,
    ) -> Self {
        PeerTls {
            cert_pem,
            key_pem,
            ca_pem,
            server_name,
        }
    }

    /// Parses the certificates and the key once, so that a bad file stops the node at start
    /// rather than at its first peer connection.
    pub fn check(&self) -> Result<(), String> {
        tonic::transport::Server::builder()
            .tls_config(self.server())
            .map_err(|e| format!("peer TLS server: {e}"))?;
        tonic::transport::Endpoint::from_static("https://peer.invalid")
            .tls_config(self.client())
            .map_err(|e| format!("peer TLS client: {e}"))?;
        Ok(())
    }

    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }

    fn ca(&self) -> Certificate {
        Certificate::from_pem(&self.ca_pem)
    }

    /// The server side: present this node's certificate, require a client certificate
    /// signed by the CA.
    pub(crate) fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.identity())
            .client_ca_root(self.ca())
    }

    /// The client side: verify the peer against the CA, present this node's certificate.
    pub(crate) fn client(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new()
            .ca_certificate(self.ca())
            .identity(self.identity());
        match &self.server_name {
            Some(name) => config.domain_name(name.clone()),
            None => config,
        }
    }
}

impl fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the private key.
        f.debug_struct("PeerTls")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// How a node connects to its peers and serves them.
#[derive(Debug, Clone, Default)]
pub struct PeerTransport {
    /// The local address connections to peers leave from: give the IP the peer port
    /// listens on, when it listens on one address, so that firewalls can tell nodes apart
    /// by source IP; `None` lets the OS pick.
    pub source_ip: Option<IpAddr>,
    /// Mutual TLS, when configured.
    pub tls: Option<PeerTls>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_up_front() {
        let tls = PeerTls::from_pem(b"x".to_vec(), b"y".to_vec(), b"z".to_vec(), None);
        assert!(tls.check().is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let tls = PeerTls::from_pem(
            b"CERT".to_vec(),
            b"-----BEGIN PRIVATE KEY-----SECRET".to_vec(),
            b"CA".to_vec(),
            Some("iamd-peer".into()),
        );
        let shown = format!("{tls:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("iamd-peer"));
    }
}
