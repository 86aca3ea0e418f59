//! [`SnapshotBuilder`]: encodes a frozen view of the state machine and stores it.

use std::fmt;
use std::io;
use std::sync::Arc;

use openraft::storage::RaftSnapshotBuilder;

use super::image;
use super::snapshot_store::SnapshotStore;
use super::type_config::{Snapshot, SnapshotData, SnapshotMeta, TypeConfig};
use crate::Machine;

/// Builds a snapshot of the state as it was when the builder was taken, while the state
/// machine goes on applying entries.
pub struct SnapshotBuilder<M: Machine> {
    machine: Arc<M>,
    meta: SnapshotMeta,
    snapshots: SnapshotStore,
}

impl<M: Machine> SnapshotBuilder<M> {
    pub(crate) fn new(machine: Arc<M>, meta: SnapshotMeta, snapshots: SnapshotStore) -> Self {
        Self {
            machine,
            meta,
            snapshots,
        }
    }
}

impl<M: Machine> RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder<M> {
    type SnapshotData = SnapshotData;

    /// Encodes the state, stores it as the current snapshot (flushed) unless a newer one is
    /// already stored, and returns it.
    async fn build_snapshot(&mut self) -> Result<Snapshot, io::Error> {
        // Encoding the whole state is CPU work: keep it off the async workers.
        let (machine, meta) = (Arc::clone(&self.machine), self.meta.clone());
        let data = tokio::task::spawn_blocking(move || image::encode(machine.as_ref(), &meta))
            .await
            .map_err(|e| io::Error::other(format!("snapshot encoding stopped: {e}")))??;
        let stored = self.snapshots.save_if_newer(&self.meta, &data).await?;
        tracing::info!(
            log_index = ?self.meta.last_log_id.map(|id| id.index),
            bytes = data.len(),
            stored,
            "snapshot built"
        );
        Ok(Snapshot {
            meta: self.meta.clone(),
            snapshot: SnapshotData::new(data),
        })
    }
}

impl<M: Machine> fmt::Debug for SnapshotBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotBuilder")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}
