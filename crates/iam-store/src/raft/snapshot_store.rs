//! The persisted current snapshot: its metadata and data in the `snapshot` tree.
//!
//! Both are written as one value (one sled insert, so atomically: no sled batch, see the
//! [`LogStore`](super::LogStore) docs) and flushed before a save returns, so a restarted
//! node finds the last snapshot it built or installed. The value is the metadata's length
//! (4 bytes, big-endian), the metadata (JSON), then the data. Stores written before this
//! format kept the two under their own keys; they are still read, and removed by the next
//! save. Saves of the builder task and the
//! state machine task are serialized by a lock, so an older snapshot never replaces a newer
//! one.

use std::fmt;
use std::io;
use std::sync::Arc;

use tokio::sync::Mutex;

use super::codec::{from_json, to_json};
use super::db::Db;
use super::type_config::SnapshotMeta;

/// The current snapshot: metadata and data in one value.
const CURRENT_KEY: &str = "current";
/// The metadata, in stores written before [`CURRENT_KEY`].
const LEGACY_META_KEY: &str = "meta";
/// The data, in stores written before [`CURRENT_KEY`].
const LEGACY_DATA_KEY: &str = "data";

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Splits a stored value into its metadata and data.
fn split(value: &[u8]) -> io::Result<(SnapshotMeta, &[u8])> {
    let (len, rest) = value
        .split_first_chunk::<4>()
        .ok_or_else(|| invalid("stored snapshot shorter than its header"))?;
    let len = usize::try_from(u32::from_be_bytes(*len))
        .map_err(|_| invalid("stored snapshot metadata length does not fit"))?;
    let (meta, data) = rest
        .split_at_checked(len)
        .ok_or_else(|| invalid("stored snapshot shorter than its metadata length"))?;
    Ok((from_json(meta, "snapshot metadata")?, data))
}

/// Joins metadata and data into one stored value.
fn join(meta: &SnapshotMeta, data: &[u8]) -> io::Result<Vec<u8>> {
    let meta = to_json(meta, "snapshot metadata")?;
    let len = u32::try_from(meta.len()).map_err(|_| invalid("snapshot metadata over 4 GiB"))?;
    let mut value = Vec::with_capacity(4 + meta.len() + data.len());
    value.extend_from_slice(&len.to_be_bytes());
    value.extend_from_slice(&meta);
    value.extend_from_slice(data);
    Ok(value)
}

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
        Ok(self.read()?.map(|(meta, data)| StoredSnapshot {
            meta,
            data: data.to_vec(),
        }))
    }

    /// The current snapshot's metadata and its data as sled holds it (not copied): the
    /// value under [`CURRENT_KEY`], or the two keys of the old format.
    fn read(&self) -> io::Result<Option<(SnapshotMeta, sled::IVec)>> {
        if let Some(value) = self.db.snapshot.get(CURRENT_KEY)? {
            let (meta, data) = split(&value)?;
            let len = data.len();
            return Ok(Some((meta, value.subslice(value.len() - len, len))));
        }
        let meta = self.db.snapshot.get(LEGACY_META_KEY)?;
        let data = self.db.snapshot.get(LEGACY_DATA_KEY)?;
        match (meta, data) {
            (Some(meta), Some(data)) => Ok(Some((from_json(&meta, "snapshot metadata")?, data))),
            (None, None) => Ok(None),
            _ => Err(invalid("stored snapshot has metadata or data but not both")),
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
        if let Some((current, _)) = self.read()?
            && current.last_log_id >= meta.last_log_id
        {
            return Ok(false);
        }
        self.write(meta, data).await?;
        Ok(true)
    }

    async fn write(&self, meta: &SnapshotMeta, data: &[u8]) -> io::Result<()> {
        let value = join(meta, data)?;
        let len = value.len();
        self.db.snapshot.insert(CURRENT_KEY, value)?;
        self.db.wrote(len);
        self.db.flush().await?;
        // The new value is durable and read first: the old format can go.
        self.db.snapshot.remove(LEGACY_META_KEY)?;
        self.db.snapshot.remove(LEGACY_DATA_KEY)?;
        Ok(())
    }
}

impl fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotStore").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::type_config::{StoredMembership, TypeConfig};

    fn meta(index: u64) -> SnapshotMeta {
        SnapshotMeta {
            last_log_id: Some(openraft::testing::log_id::<TypeConfig>(1, 1, index)),
            last_membership: StoredMembership::default(),
        }
    }

    #[tokio::test]
    async fn a_saved_snapshot_loads_whole_and_an_older_one_does_not_replace_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(Db::open(dir.path()).unwrap());
        assert!(store.load().unwrap().is_none());
        store.save(&meta(10), b"ten").await.unwrap();
        assert!(!store.save_if_newer(&meta(5), b"five").await.unwrap());
        assert!(store.save_if_newer(&meta(20), b"").await.unwrap());
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(loaded.meta.last_log_id.unwrap().index, 20);
        assert!(loaded.data.is_empty());
    }

    #[tokio::test]
    async fn a_snapshot_stored_in_the_old_format_loads_and_the_next_save_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = SnapshotStore::new(Db::open(dir.path()).unwrap());
        let tree = &store.db.snapshot;
        tree.insert(LEGACY_META_KEY, to_json(&meta(7), "meta").unwrap())
            .unwrap();
        tree.insert(LEGACY_DATA_KEY, b"seven".to_vec()).unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(
            (loaded.meta.last_log_id.unwrap().index, loaded.data),
            (7, b"seven".to_vec())
        );

        assert!(!store.save_if_newer(&meta(6), b"six").await.unwrap());
        assert!(store.save_if_newer(&meta(8), b"eight").await.unwrap());
        assert!(tree.get(LEGACY_META_KEY).unwrap().is_none());
        assert!(tree.get(LEGACY_DATA_KEY).unwrap().is_none());
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(
            (loaded.meta.last_log_id.unwrap().index, loaded.data),
            (8, b"eight".to_vec())
        );
    }

    #[test]
    fn a_truncated_value_is_an_error_not_a_panic() {
        let value = join(&meta(3), b"data").unwrap();
        for cut in [0, 3, 10] {
            assert_eq!(
                split(&value[..cut]).unwrap_err().kind(),
                io::ErrorKind::InvalidData
            );
        }
        assert_eq!(split(&value).unwrap().1, b"data");
    }
}
