//! The Raft type configuration of iamd and the short names used across the storage code.

use super::request::{Request, Response};

openraft::declare_raft_types!(
    /// The Raft types of iamd: opaque [`Request`]/[`Response`] payloads, `u64` node ids and
    /// [`openraft::BasicNode`] (the node's Raft address) as node information.
    ///
    /// It is concrete, not generic over the [`Machine`](crate::Machine): the machine's commands
    /// and responses travel inside [`Request`] and [`Response`] as encoded bytes, so the network
    /// and admin code can name one `TypeConfig` without knowing the machine.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = openraft::BasicNode,
);

/// A node id in the cluster.
pub type NodeId = u64;

/// The identity of a log entry: leader id and index.
pub type LogId = openraft::alias::LogIdOf<TypeConfig>;

/// A vote, as persisted by the log store.
pub type Vote = openraft::alias::VoteOf<TypeConfig>;

/// A Raft log entry.
pub type Entry = openraft::alias::EntryOf<TypeConfig>;

/// A membership config together with the log id that introduced it.
pub type StoredMembership = openraft::alias::StoredMembershipOf<TypeConfig>;

/// The metadata of a snapshot: last included log id and membership.
pub type SnapshotMeta = openraft::alias::SnapshotMetaOf<TypeConfig>;

/// The data of a snapshot: the encoded state machine, read from memory.
pub type SnapshotData = std::io::Cursor<Vec<u8>>;

/// A snapshot with its metadata, as built, stored and installed by the state machine store.
pub type Snapshot = openraft::alias::SnapshotOf<TypeConfig, SnapshotData>;

/// The Raft handle of a node whose replicated state is the machine `M`.
pub type Raft<M> = openraft::Raft<TypeConfig, super::StateMachineStore<M>>;
