//! One lazily connected gRPC channel per peer, shared by the Raft network and by write
//! forwarding.
//!
//! A channel connects on its first call and reconnects by itself after a peer restarts, so a
//! node can be built before its peers listen. Channels are keyed by node id and replaced
//! when a node's address changes in the membership.
//!
//! Connections leave from the node's source address when it has one (see
//! [`Channels::for_transport`]), so that firewalls can tell nodes apart by source IP.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

use iam_api::internal::raft_service_client::RaftServiceClient;
use iam_store::raft::NodeId;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::addressee::AddressedTo;
use crate::limits::{CONNECT_TIMEOUT, MAX_MESSAGE_BYTES};
use crate::tls::{PeerTls, PeerTransport};

/// The gRPC client of the peer service, over a shared channel; every call names the node
/// it is meant for (see [`crate::addressee`]).
pub(crate) type PeerService = RaftServiceClient<InterceptedService<Channel, AddressedTo>>;

/// The channels of one node to its peers; cheap to clone, clones share the channels.
#[derive(Clone, Default)]
pub(crate) struct Channels {
    by_node: Arc<Mutex<HashMap<NodeId, (String, Channel)>>>,
    /// The local address outbound connections bind, if any.
    source: Option<IpAddr>,
    /// Mutual TLS to every peer, when configured.
    tls: Option<PeerTls>,
}

impl Channels {
    /// Channels for `transport`: connections leave from its source address (or from
    /// whatever address the OS picks when it has none; a source of the other IP family than a
    /// peer's address is not used for that peer), over TLS (`https://` peers) when it has
    /// certificates.
    pub(crate) fn for_transport(transport: &PeerTransport) -> Self {
        Self {
            by_node: Arc::default(),
            source: transport.source_ip,
            tls: transport.tls.clone(),
        }
    }

    /// A client to the node `target` at `addr` (`host:port`, or a URI with its scheme),
    /// reusing its channel while the address stays the same.
    ///
    /// Must be called inside the Tokio runtime: a new channel spawns its connection task.
    pub(crate) fn client(
        &self,
        target: NodeId,
        addr: &str,
    ) -> Result<PeerService, tonic::transport::Error> {
        let channel = self.channel(target, addr)?;
        Ok(
            RaftServiceClient::with_interceptor(channel, AddressedTo(target))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
    }

    fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, tonic::transport::Error> {
        // Nothing here panics while holding the lock, but a poisoned map is still usable.
        let mut by_node = self.by_node.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((known, channel)) = by_node.get(&target)
            && known == addr
        {
            return Ok(channel.clone());
        }
        let channel = endpoint(addr, self.tls.as_ref())?
            .local_address(self.source)
            .connect_lazy();
        by_node.insert(target, (addr.to_owned(), channel.clone()));
        Ok(channel)
    }
}

/// The endpoint of a peer: `http://` (`https://` with TLS) unless the address names its
/// scheme.
fn endpoint(addr: &str, tls: Option<&PeerTls>) -> Result<Endpoint, tonic::transport::Error> {
    let uri = match (addr.contains("://"), tls) {
        (true, _) => addr.to_owned(),
        (false, None) => format!("http://{addr}"),
        (false, Some(_)) => format!("https://{addr}"),
    };
    let endpoint = Endpoint::from_shared(uri)?;
    let endpoint = match tls {
        Some(tls) => endpoint.tls_config(tls.client())?,
        None => endpoint,
    };
    Ok(endpoint.connect_timeout(CONNECT_TIMEOUT).tcp_nodelay(true))
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let by_node = self.by_node.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_map()
            .entries(by_node.iter().map(|(id, (addr, _))| (id, addr)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_channel_is_reused_until_the_address_changes() {
        let channels = Channels::default();
        channels.client(1, "127.0.0.1:1").unwrap();
        channels.client(1, "127.0.0.1:1").unwrap();
        assert_eq!(format!("{channels:?}"), r#"{1: "127.0.0.1:1"}"#);
        channels.client(1, "http://127.0.0.1:2").unwrap();
        assert_eq!(format!("{channels:?}"), r#"{1: "http://127.0.0.1:2"}"#);
    }

    #[tokio::test]
    async fn connections_leave_from_the_source_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let source: IpAddr = "127.0.0.7".parse().unwrap();
        let channels = Channels::for_transport(&PeerTransport {
            source_ip: Some(source),
            tls: None,
        });
        let mut client = channels.client(2, &addr).unwrap();
        // The call fails (nobody speaks gRPC here); only the connection matters.
        let call =
            tokio::spawn(
                async move { client.vote(iam_api::internal::VoteRequest::default()).await },
            );
        let (_socket, from) = listener.accept().await.unwrap();
        assert_eq!(from.ip(), source);
        call.abort();
    }

    #[tokio::test]
    async fn an_address_that_is_no_uri_is_an_error() {
        assert!(Channels::default().client(1, "bad host:1").is_err());
    }
}
