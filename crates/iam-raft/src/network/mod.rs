//! openraft's network over gRPC: the client side of `iam.internal.v1.RaftService`.
//!
//! [`Network`] is the factory openraft asks for a [`PeerClient`] per target node; each
//! client talks over the node's shared, lazily connected channel, so the many clients openraft
//! creates (replication, heartbeats, snapshots, elections) share one HTTP/2 connection per
//! peer.
//!
//! Failures map to openraft's errors so that it retries sensibly:
//! - the peer cannot be reached, is shutting down, or its Raft has stopped: `Unreachable`
//!   (openraft backs off before the next attempt);
//! - the RPC did not answer within openraft's `RPCOption` deadline: `Timeout`;
//! - anything else on the way (a broken stream, an undecodable answer): `NetworkError`.

mod errors;
mod peer;
mod snapshot;

use iam_store::raft::{NodeId, TypeConfig};
use openraft::{BasicNode, RaftNetworkFactory};

use crate::channels::Channels;
pub use peer::PeerClient;

/// The factory of [`PeerClient`]s of one node.
#[derive(Debug, Clone)]
pub struct Network {
    id: NodeId,
    channels: Channels,
}

impl Network {
    /// The network of node `id`, over `channels` (shared with write forwarding).
    pub(crate) fn new(id: NodeId, channels: Channels) -> Self {
        Self { id, channels }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        PeerClient::new(self.id, target, &node.addr, &self.channels)
    }
}
