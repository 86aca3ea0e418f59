//! The contract between the Raft storage and the replicated state it drives.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A deterministic state machine replicated through Raft.
///
/// `apply` must depend only on the state, the command and the revision: no clock, no
/// randomness, no I/O (the proposer puts time and random ids into the command). Every node
/// applies the same commands in the same order and reaches the same state.
pub trait Machine: Default + Clone + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// A replicated write.
    type Command: Serialize + DeserializeOwned + Clone + Debug + Send + Sync + 'static;
    /// What applying a command answers to the proposer.
    type Response: Serialize + DeserializeOwned + Clone + Debug + Default + Send + Sync + 'static;

    /// Applies one command at `revision` (the Raft log index of its entry).
    fn apply(&mut self, command: &Self::Command, revision: u64) -> Self::Response;
}

/// Called after each batch of entries is applied, with the state and the revision of the last
/// entry; used to publish the authorization view. Must not block.
pub type AppliedHook<M> = std::sync::Arc<dyn Fn(&M, u64) + Send + Sync>;
