//! One lazily connected gRPC channel per peer, shared by the Raft network and by write
//! forwarding.
//!
//! A channel connects on its first call and reconnects by itself after a peer restarts, so a
//! node can be built before its peers listen. Channels are keyed by node id and replaced
//! when a node's address changes in the membership.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use iam_api::internal::raft_service_client::RaftServiceClient;
use iam_store::raft::NodeId;
use tonic::transport::{Channel, Endpoint};

use crate::limits::{CONNECT_TIMEOUT, MAX_MESSAGE_BYTES};

/// The gRPC client of the peer service, over a shared channel.
pub(crate) type PeerService = RaftServiceClient<Channel>;

/// The channels of one node to its peers; cheap to clone, clones share the channels.
#[derive(Clone, Default)]
pub(crate) struct Channels {
    by_node: Arc<Mutex<HashMap<NodeId, (String, Channel)>>>,
}

impl Channels {
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
        Ok(RaftServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES))
    }

    fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, tonic::transport::Error> {
        // Nothing here panics while holding the lock, but a poisoned map is still usable.
        let mut by_node = self.by_node.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((known, channel)) = by_node.get(&target)
            && known == addr
        {
            return Ok(channel.clone());
        }
        let channel = endpoint(addr)?.connect_lazy();
        by_node.insert(target, (addr.to_owned(), channel.clone()));
        Ok(channel)
    }
}

/// The endpoint of a peer: `http://` unless the address names its scheme.
fn endpoint(addr: &str) -> Result<Endpoint, tonic::transport::Error> {
    let uri = if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    };
    Ok(Endpoint::from_shared(uri)?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true))
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
    async fn an_address_that_is_no_uri_is_an_error() {
        assert!(Channels::default().client(1, "bad host:1").is_err());
    }
}
