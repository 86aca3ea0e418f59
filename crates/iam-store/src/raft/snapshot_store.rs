//! The persisted current snapshot: its metadata and data in the `snapshot` tree.
//!
//! Both are written in one atomic batch and flushed before a save returns, so a restarted
//! node finds the last snapshot it built or installed. Saves of the builder task and the
//! state machine task are serialized by a lock, so an older snapshot never replaces a newer
//! one.

use std::fmt;
use std::io;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::codec::{from_json, to_json};
use super::db::Db;
use super::type_config::SnapshotMeta;

const META_KEY: &str = "meta";
const DATA_KEY: &str = "data";

/// A snapshot as stored: metadata and the encoded state.
#[derive(Debug, Clone)]
pub(crate) struct StoredSnapshot {
    pub(crate) meta: SnapshotMeta,
    pub(crate) data: Vec<u8>,
}

/// Access to the stored current snapshot; cheap to clone.
#[derive(Clone)]
pub(crate) struct SnapshotStore {
    db: Db,
    write_lock: Arc<Mutex<()>>,
}

impl SnapshotStore {
    pub(crate) fn new(db: Db) -> Self {
        Self {
            db,
            write_lock: Arc::new(Mutex::new(())),
        }
    }

    /// The current snapshot, if one was ever built or installed.
    pub(crate) fn load(&self) -> io::Result<Option<StoredSnapshot>> {
        let meta = self.db.snapshot.get(META_KEY)?;
        let data = self.db.snapshot.get(DATA_KEY)?;
        match (meta, data) {
            (Some(meta), Some(data)) => Ok(Some(StoredSnapshot {
                meta: from_json(&meta, "snapshot metadata")?,
                data: data.to_vec(),
            })),
            (None, None) => Ok(None),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stored snapshot has metadata or data but not both",
            )),
        }
    }

    /// Makes `meta` and `data` the current snapshot, durably.
    pub(crate) async fn save(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let _guard = self.write_lock.lock().await;
        self.write(meta, data).await
    }

    /// Like [`Self::save`], unless the current snapshot already covers `meta.last_log_id`;
    /// returns whether it saved.
    pub(crate) async fn save_if_newer(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<bool> {
        let _guard = self.write_lock.lock().await;
        if let Some(current) = self.db.snapshot.get(META_KEY)? {
            let current: SnapshotMeta = from_json(&current, "snapshot metadata")?;
            if current.last_log_id >= meta.last_log_id {
                return Ok(false);
            }
        }
        self.write(meta, data).await?;
        Ok(true)
    }

    async fn write(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let mut batch = sled::Batch::default();
        batch.insert(META_KEY, to_json(meta, "snapshot metadata")?);
        batch.insert(DATA_KEY, data);
        self.db.snapshot.apply_batch(batch)?;
        self.db.flush().await
    }
}

impl fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotStore").finish_non_exhaustive()
    }
}
