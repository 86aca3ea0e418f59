//! [`RaftLogStorage`] for [`LogStore`]: the writes, and where they become durable.
//!
//! - `append` inserts the entries one by one, in order, and returns; the sync thread reports them
//!   flushed to openraft once an fsync covers them (see [`Db`]), so the core never waits on
//!   the disk for the log;
//! - `save_vote` flushes before returning; `save_committed` only writes, and becomes
//!   durable with the next fsync: a restart may replay less than was applied, so a node
//!   serves nothing after a start until it has caught up with a read index from the leader
//!   (iamd's `Node::catch_up`);
//! - `truncate_after` removes the tail newest first and flushes;
//! - `purge` records the purged log id, flushes the record, and hides the entries up to it at
//!   once; the entries themselves leave the tree a few at a time with later appends,
//!   oldest first, so that removing thousands after a snapshot never stalls the core. A
//!   node that takes no appends keeps them, hidden, until it does.
//!
//! No write uses a sled batch (see the [`LogStore`] docs for why, and for how the log stays
//! without holes across a crash).
//!
//! [`Db`]: super::db::Db

use std::io;

use super::codec::{index_key, to_json};
use super::log_store::{COMMITTED_KEY, LogStore, PURGED_KEY, VOTE_KEY};
use super::type_config::{Entry, LogId, TypeConfig, Vote};
use openraft::OptionalSend;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, io::Error> {
        let last_purged_log_id = self.last_purged()?;
        let last_log_id = match self.last_present()? {
            Some(last) => Some(last),
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), io::Error> {
        self.write_meta(VOTE_KEY, vote)?;
        self.db.flush().await
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), io::Error> {
        // No fsync here, on openraft's core, nor before applying: the value is an
        // optimization of the replay at a restart, and a node catches up with the cluster
        // before it serves (see the module docs).
        self.write_meta(COMMITTED_KEY, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, io::Error> {
        Ok(self.read_meta::<Option<LogId>>(COMMITTED_KEY)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: IOFlushed<TypeConfig>,
    ) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut appended = 0_usize;
        for entry in entries {
            let value = to_json(&entry, "log entry")?;
            let len = value.len();
            self.db.log.insert(index_key(entry.log_id.index), value)?;
            self.db.wrote(len);
            appended += 1;
        }
        if self.leftovers {
            self.leftovers = self.remove_purged(appended)?;
        }
        // The callback is openraft's durability promise: the sync thread calls it after the
        // fsync.
        self.db.flush_then(callback);
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let start = last_log_id.map_or(0, |id| id.index.saturating_add(1));
        let removed = self.remove_from(start)?;
        tracing::debug!(from_index = start, removed, "raft log truncated");
        self.db.flush().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        if self.last_purged()?.is_some_and(|purged| purged >= log_id) {
            return Ok(());
        }
        self.write_meta(PURGED_KEY, &log_id)?;
        // The record is durable before any entry it covers leaves the tree, so a crash
        // never leaves the log with a gap at its head (one fsync per snapshot, not per write).
        self.db.flush().await?;
        self.set_purged(&log_id);
        self.leftovers = true;
        tracing::debug!(upto_index = log_id.index, "raft log purged");
        Ok(())
    }
}

/// Purged entries removed per append: at least this many, and more under load.
///
/// Each removal is a sled operation of its own (no batches), so this stays small: a lone
/// write removing 64 entries took about 0.7 ms more in the scale benchmark. Removing twice
/// the appended entries still outpaces any write load, so a purge's leftovers are gone
/// long before the next snapshot.
const REMOVED_PER_APPEND: usize = 4;

impl LogStore {
    /// Removes the oldest purged entries still in the tree: at least [`REMOVED_PER_APPEND`],
    /// and twice the `appended` entries, so removal outpaces any write load. Answers whether
    /// purged entries may remain.
    fn remove_purged(&self, appended: usize) -> io::Result<bool> {
        let limit = REMOVED_PER_APPEND.max(appended.saturating_mul(2));
        let mut removed = 0_usize;
        for key in self
            .db
            .log
            .range(..index_key(self.first_kept()))
            .keys()
            .take(limit)
        {
            self.db.log.remove(key?)?;
            removed += 1;
        }
        Ok(removed == limit)
    }
}

#[cfg(test)]
mod tests {
    use openraft::EntryPayload;
    use openraft::storage::{RaftLogReader, RaftLogStorageExt};
    use openraft::type_config::TypeConfigExt;

    use super::*;
    use crate::raft::codec::key_index;
    use crate::raft::db::Db;

    fn log_id(index: u64) -> LogId {
        openraft::testing::log_id::<TypeConfig>(1, 1, index)
    }

    fn blanks(indexes: std::ops::Range<u64>) -> Vec<Entry> {
        indexes
            .map(|i| Entry {
                log_id: log_id(i),
                payload: EntryPayload::Blank,
            })
            .collect()
    }

    fn tree_indexes(store: &LogStore) -> Vec<u64> {
        store
            .db
            .log
            .iter()
            .keys()
            .map(|k| key_index(&k.unwrap()).unwrap())
            .collect()
    }

    /// Opens the log store in `dir`. A database just closed by this process stays locked
    /// until sled's own threads let go of it, so a held lock is retried for a while.
    fn open(dir: &std::path::Path) -> LogStore {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Db::open(dir) {
                Err(e)
                    if e.to_string().contains("could not acquire lock")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => return LogStore::new(other.unwrap()).unwrap(),
            }
        }
    }

    async fn read_all(store: &mut LogStore) -> Vec<u64> {
        let entries = store.try_get_log_entries(..).await.unwrap();
        entries.iter().map(|e| e.log_id.index).collect()
    }

    #[tokio::test]
    async fn purge_hides_at_once_and_later_appends_remove_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.blocking_append(blanks(0..300)).await.unwrap();

        store.purge(log_id(199)).await.unwrap();
        assert_eq!(read_all(&mut store).await, (200..300).collect::<Vec<_>>());
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(199)));
        assert_eq!(state.last_log_id, Some(log_id(299)));
        assert_eq!(tree_indexes(&store).len(), 300, "removal waits for appends");

        // One entry per append: each removes REMOVED_PER_APPEND purged entries, oldest first.
        store.blocking_append(blanks(300..301)).await.unwrap();
        let left = tree_indexes(&store);
        assert_eq!(left.first(), Some(&(REMOVED_PER_APPEND as u64)));
        assert_eq!(left.last(), Some(&300));
        // Then 1 entry per append takes REMOVED_PER_APPEND, 100 entries per append 200.
        store.blocking_append(blanks(301..302)).await.unwrap();
        let left = tree_indexes(&store);
        assert_eq!(left.first(), Some(&(2 * REMOVED_PER_APPEND as u64)));
        store.blocking_append(blanks(302..402)).await.unwrap();
        assert_eq!(tree_indexes(&store), (200..402).collect::<Vec<_>>());
        assert!(!store.leftovers, "every purged entry is gone");
    }

    #[tokio::test]
    async fn purged_entries_left_at_a_restart_stay_hidden_then_go() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store.blocking_append(blanks(0..100)).await.unwrap();
            store.purge(log_id(49)).await.unwrap();
            store.db.flush().await.unwrap();
        }
        let mut store = open(dir.path());
        assert_eq!(read_all(&mut store).await, (50..100).collect::<Vec<_>>());
        assert_eq!(store.try_get_log_entries(10..60).await.unwrap().len(), 10);
        // 30 entries remove up to 60 leftovers: all 50.
        store.blocking_append(blanks(100..130)).await.unwrap();
        assert_eq!(tree_indexes(&store), (50..130).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_hole_left_by_a_crash_is_cut_at_the_next_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store.blocking_append(blanks(1..10)).await.unwrap();
            store.save_committed(Some(log_id(8))).await.unwrap();
            // As if sled had recovered later writes but not entry 5.
            store.db.log.remove(index_key(5)).unwrap();
            store.db.flush().await.unwrap();
        }
        let mut store = open(dir.path());
        assert_eq!(tree_indexes(&store), (1..5).collect::<Vec<_>>());
        assert_eq!(
            store.read_committed().await.unwrap(),
            None,
            "a committed id past the repaired log is forgotten"
        );
        assert_eq!(read_all(&mut store).await, (1..5).collect::<Vec<_>>());
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_log_id, Some(log_id(4)));
        // The log goes on from the hole.
        store.blocking_append(blanks(5..7)).await.unwrap();
        assert_eq!(read_all(&mut store).await, (1..7).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_hole_right_after_the_purged_entries_leaves_only_the_purged_id() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store.blocking_append(blanks(0..20)).await.unwrap();
            store.purge(log_id(9)).await.unwrap();
            // The first entry kept is lost, later ones and purged leftovers survive.
            store.db.log.remove(index_key(10)).unwrap();
            store.db.flush().await.unwrap();
        }
        let mut store = open(dir.path());
        assert!(read_all(&mut store).await.is_empty());
        assert_eq!(tree_indexes(&store), (0..10).collect::<Vec<_>>());
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(9)));
        assert_eq!(state.last_log_id, Some(log_id(9)));
    }

    #[tokio::test]
    async fn a_contiguous_log_is_left_as_it_is_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut store = open(dir.path());
            store.blocking_append(blanks(3..40)).await.unwrap();
            store.purge(log_id(9)).await.unwrap();
            store.truncate_after(Some(log_id(29))).await.unwrap();
            store.save_committed(Some(log_id(25))).await.unwrap();
            store.db.flush().await.unwrap();
        }
        let mut store = open(dir.path());
        assert_eq!(read_all(&mut store).await, (10..30).collect::<Vec<_>>());
        assert_eq!(store.remove_after_hole().unwrap(), 0);
        assert_eq!(store.read_committed().await.unwrap(), Some(log_id(25)));
    }

    #[tokio::test]
    async fn a_log_purged_whole_reports_the_purged_id_as_last() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        store.blocking_append(blanks(0..10)).await.unwrap();
        store.purge(log_id(9)).await.unwrap();
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id, Some(log_id(9)));
        assert_eq!(state.last_log_id, Some(log_id(9)));
        assert!(read_all(&mut store).await.is_empty());
    }

    #[tokio::test]
    async fn every_append_is_reported_flushed_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(dir.path());
        let mut receivers = Vec::new();
        for i in 0..20 {
            let (tx, rx) = TypeConfig::oneshot();
            store
                .append(blanks(i..i + 1), IOFlushed::signal(tx))
                .await
                .unwrap();
            receivers.push(rx);
        }
        for rx in receivers {
            rx.await.unwrap().unwrap();
        }
        drop(store);
        // Every append was reported; the log reopens with all of them.
        let reopened = open(dir.path());
        assert_eq!(tree_indexes(&reopened), (0..20).collect::<Vec<_>>());
    }
}
