//! Raft storage on sled: the log store and the state machine store openraft drives.
//!
//! # Design
//!
//! - **One concrete [`TypeConfig`]**, not one per machine. Entries carry a [`Request`] (the
//!   proposer's `M::Command` encoded as JSON text) and apply answers a [`Response`] (the
//!   encoded `M::Response`). Only [`StateMachineStore<M>`] and the proposer, who both know
//!   `M`, decode them. The network, the admin API and any tooling can name one
//!   `TypeConfig`, and `declare_raft_types!` works as designed (a generic config would need a
//!   hand-written `RaftTypeConfig` with derives that do not fit a machine type). The price is
//!   one JSON decode per applied command, and a typo-proof pairing left to the caller
//!   (`Request::encode::<M>` / `Response::decode::<M>`). A request that does not decode as
//!   `M::Command` stops the state machine with an error rather than being skipped: skipping
//!   would let nodes of different versions diverge.
//! - **One sled database per node** (see [`open`]) with three trees: `log` (entries keyed by
//!   the big-endian index), `meta` (vote, committed and last purged log ids) and `snapshot`
//!   (the current snapshot). sled types never appear in the public API.
//! - **Durability**: one sync thread per database does every fsync, for everyone waiting at
//!   that moment (group commit; see `db.rs`). [`LogStore`] reports an append flushed only
//!   once an fsync covers it, without making openraft's core wait for it; `save_vote` and a
//!   truncation wait for their flush. `save_committed` only writes: [`StateMachineStore`]
//!   flushes after applying a batch and before it answers the proposers or publishes the
//!   state, so the committed id is durable before anyone sees the state it leads to.
//!   Snapshots are flushed when built or installed. The machine itself is in memory only: on
//!   restart it is rebuilt from the stored snapshot plus the committed entries after it,
//!   which openraft re-applies because `committed` is persisted. Every guarantee here rests
//!   on sled's documented `flush` only.
//! - **The machine** stays behind an `Arc`, owned by the state machine store (openraft hands
//!   it `&mut self`); a snapshot builder shares the `Arc` and the next write copies the
//!   machine once, so building a snapshot never blocks applying.
//!
//! Node ids are `u64`, nodes are [`openraft::BasicNode`] (the Raft address). Use
//! [`raft_config`] for the openraft [`openraft::Config`].

mod codec;
mod config;
mod db;
mod image;
mod log_storage;
mod log_store;
mod request;
mod snapshot_builder;
mod snapshot_store;
mod state_machine;
mod type_config;

use std::io;
use std::path::Path;

pub use config::{
    ELECTION_TIMEOUT_MS, HEARTBEAT_INTERVAL_MS, KEEP_SNAPSHOTTED_ENTRIES, PURGE_BATCH_ENTRIES,
    SNAPSHOT_EVERY_ENTRIES, raft_config,
};
pub use log_store::LogStore;
pub use request::{Request, Response};
pub use snapshot_builder::SnapshotBuilder;
pub use state_machine::StateMachineStore;
pub use type_config::{
    Entry, LogId, NodeId, Raft, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig,
    Vote,
};

use crate::{AppliedHook, Machine};

/// Opens (or creates) the Raft storage of a node in the directory `path` and builds both
/// stores on it; the state machine starts from the stored snapshot, if any.
///
/// `hook` is called after every applied batch, after a snapshot is installed, and here when
/// a stored snapshot is loaded. Opening is blocking I/O; one process can open a directory
/// only once at a time (drop both stores, and every snapshot builder, before reopening).
pub fn open<M: Machine>(
    path: &Path,
    hook: Option<AppliedHook<M>>,
) -> io::Result<(LogStore, StateMachineStore<M>)> {
    let db = db::Db::open(path)?;
    let state_machine = StateMachineStore::load(db.clone(), hook)?;
    Ok((LogStore::new(db)?, state_machine))
}
