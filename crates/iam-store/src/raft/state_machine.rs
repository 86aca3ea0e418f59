//! [`StateMachineStore`]: a [`Machine`] driven by the Raft log, with persistent snapshots.
//!
//! The machine lives in memory; it is not written on apply. What survives a restart is the
//! current snapshot (in sled, flushed) plus the log and the committed log id kept by the
//! [`LogStore`](super::LogStore): on start the store loads the snapshot, and openraft
//! re-applies the committed entries after it. The committed log id is written without an
//! fsync of its own (it rides on the next append's), so a restart may replay less than was
//! applied before it: whoever serves the state must first catch up with the cluster.

use std::fmt;
use std::io;
use std::sync::Arc;

use futures_util::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};

use super::db::Db;
use super::image;
use super::request::Response;
use super::snapshot_builder::SnapshotBuilder;
use super::snapshot_store::SnapshotStore;
use super::type_config::{
    Entry, LogId, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig,
};
use crate::{AppliedHook, Machine};

/// The Raft state machine of one node: the machine `M`, the last applied log id and
/// membership, and the stored snapshot.
///
/// Implements [`RaftStateMachine`]; hand it to openraft, which owns it from then on (reach it
/// with `Raft::with_state_machine`, or watch it through the [`AppliedHook`]).
pub struct StateMachineStore<M: Machine> {
    /// Shared with snapshot builders, which copy nothing: a write after a builder was taken
    /// clones the machine once (copy on write).
    machine: Arc<M>,
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    snapshots: SnapshotStore,
    hook: Option<AppliedHook<M>>,
}

impl<M: Machine> StateMachineStore<M> {
    /// Builds the store on `db`, starting from the stored snapshot if there is one.
    pub(crate) fn load(db: Db, hook: Option<AppliedHook<M>>) -> io::Result<Self> {
        let mut store = Self {
            machine: Arc::default(),
            last_applied: None,
            last_membership: StoredMembership::default(),
            snapshots: SnapshotStore::new(db),
            hook,
        };
        if let Some(stored) = store.snapshots.load()? {
            let machine = image::decode::<M>(&stored.meta, &stored.data)?;
            store.replace(machine, &stored.meta);
            tracing::info!(
                log_index = ?store.last_applied.map(|id| id.index),
                bytes = stored.data.len(),
                "state machine loaded from the stored snapshot"
            );
        }
        Ok(store)
    }

    /// The current state.
    pub fn machine(&self) -> &M {
        &self.machine
    }

    /// A shared handle on the current state; later writes do not change it.
    pub fn shared_machine(&self) -> Arc<M> {
        Arc::clone(&self.machine)
    }

    /// The id of the last applied entry, or of the loaded snapshot.
    pub fn last_applied(&self) -> Option<LogId> {
        self.last_applied
    }

    /// The last applied membership config.
    pub fn last_membership(&self) -> &StoredMembership {
        &self.last_membership
    }

    /// Replaces the whole state, as of `meta`, and publishes it.
    fn replace(&mut self, machine: M, meta: &SnapshotMeta) {
        self.machine = Arc::new(machine);
        self.last_applied = meta.last_log_id;
        self.last_membership = meta.last_membership.clone();
        self.publish();
    }

    /// Calls the hook with the state and the last applied index.
    fn publish(&self) {
        if let (Some(hook), Some(applied)) = (&self.hook, self.last_applied) {
            hook(&self.machine, applied.index);
        }
    }

    /// Applies one entry and returns the response to its proposer.
    fn apply_entry(&mut self, entry: Entry) -> io::Result<Response> {
        let log_id = entry.log_id;
        let response = match entry.payload {
            EntryPayload::Blank => M::Response::default(),
            EntryPayload::Normal(request) => {
                let command = request.decode::<M>().map_err(|e| {
                    io::Error::new(e.kind(), format!("log entry {}: {e}", log_id.index))
                })?;
                Arc::make_mut(&mut self.machine).apply(&command, log_id.index)
            }
            EntryPayload::Membership(membership) => {
                self.last_membership = StoredMembership::new(Some(log_id), membership);
                M::Response::default()
            }
        };
        self.last_applied = Some(log_id);
        Response::encode::<M>(&response)
    }
}

impl<M: Machine> RaftStateMachine<TypeConfig> for StateMachineStore<M> {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder<M>;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), io::Error> {
        Ok((self.last_applied, self.last_membership.clone()))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> Result<(), io::Error>
    where
        Strm: Stream<Item = Result<EntryResponder<TypeConfig>, io::Error>> + Unpin + OptionalSend,
    {
        let mut answers = Vec::new();
        while let Some((entry, responder)) = entries.try_next().await? {
            let response = self.apply_entry(entry)?;
            answers.push((responder, response));
        }
        if answers.is_empty() {
            return Ok(());
        }
        // No fsync here: every entry applied is committed, so on a quorum's disks. The
        // committed log id is not durable on its own, so a restart may replay less than was
        // applied; the node serves nothing until it has caught up with a read index from
        // the leader (iamd's `Node::catch_up`).
        tracing::trace!(
            entries = answers.len(),
            log_index = ?self.last_applied.map(|id| id.index),
            "applied"
        );
        for (responder, response) in answers {
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        self.publish();
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let meta = SnapshotMeta {
            last_log_id: self.last_applied,
            last_membership: self.last_membership.clone(),
        };
        SnapshotBuilder::new(Arc::clone(&self.machine), meta, self.snapshots.clone())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: SnapshotData,
    ) -> Result<(), io::Error> {
        let data = snapshot.into_inner();
        // Decode first: a snapshot that cannot be read is never stored.
        let machine = image::decode::<M>(meta, &data)?;
        self.snapshots.save(meta, &data).await?;
        tracing::info!(
            log_index = ?meta.last_log_id.map(|id| id.index),
            bytes = data.len(),
            "snapshot installed"
        );
        self.replace(machine, meta);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, io::Error> {
        Ok(self.snapshots.load()?.map(|stored| Snapshot {
            meta: stored.meta,
            snapshot: SnapshotData::new(stored.data),
        }))
    }
}

impl<M: Machine> fmt::Debug for StateMachineStore<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMachineStore")
            .field("last_applied", &self.last_applied)
            .field("last_membership", &self.last_membership)
            .finish_non_exhaustive()
    }
}
