//! iamd's openraft wiring: how the nodes of a cluster talk to each other and how a write
//! reaches the leader.
//!
//! - [`RaftNode`]: one node's handle. [`RaftNode::start`] opens the sled storage of
//!   `iam-store`, builds the Raft and initializes a new cluster exactly once;
//!   [`RaftNode::write`] proposes a command (or forwards it once to the leader);
//!   [`RaftNode::wait_applied`] and [`RaftNode::linearizable_barrier`] give reads their
//!   freshness, [`RaftNode::wait_for_recovery`] gates readiness after a restart; membership
//!   changes, leader transfer, [`NodeMetrics`] and shutdown.
//! - [`Network`]: openraft's network over gRPC (`iam.internal.v1.RaftService`), one lazily
//!   connected channel per peer.
//! - [`RaftGrpc`]: the server side of that service, mounted on the peer listener with
//!   [`RaftNode::service`] or served by [`RaftNode::serve`].
//!
//! # Wire format
//!
//! The proto's `bytes` fields hold JSON (`serde_json`) of openraft's own messages, and of
//! `Result<_, RaftError>` in answers: a Raft-level refusal (higher vote, log conflict) travels
//! inside the payload, a gRPC error status means the transport or the payload failed. The
//! `Vote` RPC carries a small envelope that tells a vote, a pre-vote and a
//! leadership transfer apart, since the proto has no `TransferLeader` RPC of its own.
//!
//! # Errors
//!
//! One enum per layer: openraft's `RPCError`/`StreamingError` in the network (transport
//! failures become `Unreachable`, so openraft backs off), [`ServiceError`] in the service,
//! and [`StartError`], [`WriteError`], [`ReadError`], [`AdminError`] on the node. All but
//! `StartError` map to a `tonic::Status` in one exhaustive `match`; leader hints travel in
//! the `x-iam-leader` metadata ([`LEADER_METADATA`]), never in the message.
//!
//! openraft types stay behind this crate and `iam-store`: the node's API speaks in node ids,
//! addresses, log indexes and the machine's own commands and responses.

mod addressee;
mod channels;
mod contact;
mod limits;
mod network;
mod node;
mod propose;
mod service;
mod tls;
mod wire;

pub use addressee::{AddressedTo, OnlyFor, TO_NODE_METADATA};
pub use limits::{
    CLUSTER_NAME, COMMIT_TIMEOUT, CONNECT_TIMEOUT, FORWARD_TIMEOUT, LEADER_METADATA,
    MAX_MESSAGE_BYTES, SNAPSHOT_CHUNK_BYTES,
};
pub use network::{Network, PeerClient};
pub use node::{AdminError, NodeMetrics, RaftNode, ReadError, Role, StartError, WriteError};
pub use service::{RaftGrpc, ServiceError};
pub use tls::{PeerTls, PeerTransport};
pub use wire::CodecError;
