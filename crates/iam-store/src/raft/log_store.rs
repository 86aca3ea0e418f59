//! [`LogStore`]: the Raft log, vote and committed log id of one node, in sled.
//!
//! Entries live in the `log` tree keyed by the big-endian index; the vote, the committed log
//! id and the last purged log id live in the `meta` tree. Every value is JSON. Writes come
//! only through `&mut self` (openraft serializes them); clones handed out as log readers
//! only read, and see every write at once because they share the sled trees.
//!
//! Purged entries leave the tree lazily (see [`LogStore::purge`](super::log_storage)): below
//! `first_kept` the tree may still hold some, which nothing reads.
//!
//! # No sled batches
//!
//! Entries are inserted and removed one at a time, never in a `sled::Batch` or transaction:
//! the first batch in a process switches sled 0.34's process-wide concurrency control into
//! a mode where every operation takes a global read lock and every batch its write lock,
//! for good. Measured in the cluster benchmark, an append on the leader took about 300 µs
//! with batches and 20–40 µs without, and replicated writes at concurrency 64 went from
//! about 5,000/s to 8,300/s.
//!
//! Without batches a crash may leave the log with a hole, if sled recovered a later write
//! and not an earlier one (sled does not document that its recovery keeps their order).
//! Nothing after a hole was ever reported durable: a flush covers every write made before
//! it, so a missing entry means no flush completed after it was written. So on opening,
//! [`LogStore::new`] removes everything after the first hole (newest first) and the log
//! is again a contiguous run of entries after the purged ones.

use std::fmt;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::OptionalSend;
use openraft::storage::RaftLogReader;
use serde::de::DeserializeOwned;

use super::codec::{from_json, index_key, key_index, to_json};
use super::db::Db;
use super::type_config::{Entry, LogId, TypeConfig, Vote};

/// Meta key of the last saved vote.
pub(crate) const VOTE_KEY: &str = "vote";
/// Meta key of the last saved committed log id.
pub(crate) const COMMITTED_KEY: &str = "committed";
/// Meta key of the last purged log id.
pub(crate) const PURGED_KEY: &str = "last_purged";

/// The Raft log storage of one node: log entries, vote and committed log id on sled.
///
/// Implements [`openraft::storage::RaftLogStorage`] and is its own log reader; cloning it is
/// cheap and the clone reads the same log.
#[derive(Clone)]
pub struct LogStore {
    pub(crate) db: Db,
    /// The index of the first entry not purged (0 while nothing was purged), shared by the
    /// clones: entries below it are never read, even while the tree still holds them.
    pub(crate) first_kept: Arc<AtomicU64>,
    /// Whether the tree may still hold purged entries, for the writer to remove.
    pub(crate) leftovers: bool,
}

impl LogStore {
    /// The log store on `db`, knowing what was purged before.
    pub(crate) fn new(db: Db) -> io::Result<Self> {
        let mut store = Self {
            db,
            first_kept: Arc::new(AtomicU64::new(0)),
            leftovers: false,
        };
        if let Some(purged) = store.last_purged()? {
            store.set_purged(&purged);
            store.leftovers = true;
        }
        store.remove_after_hole()?;
        store.forget_committed_past_the_log()?;
        Ok(store)
    }

    /// Removes a stored committed log id that is past the last entry kept (or purged): it
    /// was written without an fsync of its own, after entries a crash lost, and openraft
    /// would fail to replay up to it. Without it, openraft replays up to the snapshot and
    /// learns the commit from the leader; iamd serves nothing until it has caught up.
    fn forget_committed_past_the_log(&self) -> io::Result<()> {
        let Some(committed) = self.read_meta::<Option<LogId>>(COMMITTED_KEY)?.flatten() else {
            return Ok(());
        };
        let last = match self.last_present()? {
            Some(last) => Some(last),
            None => self.last_purged()?,
        };
        if last.is_none_or(|last| last.index < committed.index) {
            self.db.meta.remove(COMMITTED_KEY)?;
            tracing::warn!(
                committed = committed.index,
                last = ?last.map(|l| l.index),
                "stored committed log id is past the log after a crash: forgotten"
            );
        }
        Ok(())
    }

    /// Removes, newest first, every entry after the first hole among the entries kept (see
    /// the module docs); returns how many. Purged entries left in the tree are not looked at.
    pub(crate) fn remove_after_hole(&self) -> io::Result<u64> {
        let first_kept = self.first_kept();
        // With nothing purged, the log may start at any index; after a purge, right after it.
        let mut expected = (first_kept > 0).then_some(first_kept);
        let mut hole_at = None;
        for key in self.db.log.range(index_key(first_kept)..).keys() {
            let index = key_index(&key?)?;
            if expected.is_some_and(|e| e != index) {
                hole_at = expected;
                break;
            }
            expected = Some(index.saturating_add(1));
        }
        let Some(hole) = hole_at else {
            return Ok(0);
        };
        let removed = self.remove_from(hole)?;
        tracing::warn!(
            hole_at = hole,
            removed,
            "raft log had a hole after a crash: removed the entries after it, none of which \
             had been reported durable"
        );
        Ok(removed)
    }

    /// Removes every entry from index `start` on, newest first, so that what is left at any
    /// moment is a contiguous log; returns how many. Does not flush.
    pub(crate) fn remove_from(&self, start: u64) -> io::Result<u64> {
        let mut removed = 0_u64;
        for key in self.db.log.range(index_key(start)..).keys().rev() {
            self.db.log.remove(key?)?;
            removed += 1;
        }
        Ok(removed)
    }

    /// Hides the entries up to `purged` from every reader.
    pub(crate) fn set_purged(&self, purged: &LogId) {
        self.first_kept
            .store(purged.index.saturating_add(1), Ordering::Release);
    }

    /// The index of the first entry not purged.
    pub(crate) fn first_kept(&self) -> u64 {
        self.first_kept.load(Ordering::Acquire)
    }

    /// Reads and decodes the meta value under `key`.
    pub(crate) fn read_meta<T: DeserializeOwned>(&self, key: &str) -> io::Result<Option<T>> {
        match self.db.meta.get(key)? {
            Some(bytes) => from_json(&bytes, key).map(Some),
            None => Ok(None),
        }
    }

    /// Writes the meta value under `key`; durable only after the next flush.
    pub(crate) fn write_meta<T: serde::Serialize>(&self, key: &str, value: &T) -> io::Result<()> {
        self.db.meta.insert(key, to_json(value, key)?)?;
        Ok(())
    }

    /// The id of the last purged entry, if any was purged.
    pub(crate) fn last_purged(&self) -> io::Result<Option<LogId>> {
        self.read_meta(PURGED_KEY)
    }

    /// The id of the last entry present in the log and not purged, if any.
    pub(crate) fn last_present(&self) -> io::Result<Option<LogId>> {
        match self.db.log.last()? {
            Some((key, _)) if key_index(&key)? < self.first_kept() => Ok(None),
            Some((key, value)) => Ok(Some(decode_entry(&key, &value)?.log_id)),
            None => Ok(None),
        }
    }

    /// Reads the present entries with `start <= index < end` (`end` `None`: to the last),
    /// checking that they are consecutive; purged entries are never read.
    pub(crate) fn read_entries(&self, start: u64, end: Option<u64>) -> io::Result<Vec<Entry>> {
        let start = start.max(self.first_kept());
        let iter = match end {
            Some(end) if end <= start => return Ok(Vec::new()),
            Some(end) => self.db.log.range(index_key(start)..index_key(end)),
            None => self.db.log.range(index_key(start)..),
        };
        let mut entries: Vec<Entry> = Vec::new();
        for item in iter {
            let (key, value) = item?;
            let entry = decode_entry(&key, &value)?;
            if let Some(prev) = entries.last()
                && prev.log_id.index.saturating_add(1) != entry.log_id.index
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "hole in the raft log between index {} and {}",
                        prev.log_id.index, entry.log_id.index
                    ),
                ));
            }
            entries.push(entry);
        }
        Ok(entries)
    }
}

/// Decodes a log entry and checks it sits under its own index.
fn decode_entry(key: &[u8], value: &[u8]) -> io::Result<Entry> {
    let index = key_index(key)?;
    let entry: Entry = from_json(value, "log entry")?;
    if entry.log_id.index != index {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "log entry {} stored under index {index}",
                entry.log_id.index
            ),
        ));
    }
    Ok(entry)
}

/// Turns range bounds into `start..end` (`end` exclusive, `None` for unbounded).
fn index_range<RB: RangeBounds<u64>>(range: &RB) -> Option<(u64, Option<u64>)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1),
        Bound::Excluded(&e) => Some(e),
        Bound::Unbounded => None,
    };
    Some((start, end))
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, io::Error> {
        match index_range(&range) {
            Some((start, end)) => self.read_entries(start, end),
            None => Ok(Vec::new()),
        }
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, io::Error> {
        self.read_meta(VOTE_KEY)
    }
}

impl fmt::Debug for LogStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogStore")
            .field("first_kept", &self.first_kept())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_become_half_open_index_ranges() {
        assert_eq!(index_range(&(3..7)), Some((3, Some(7))));
        assert_eq!(index_range(&(3..=7)), Some((3, Some(8))));
        assert_eq!(index_range(&(3..)), Some((3, None)));
        assert_eq!(index_range(&(..)), Some((0, None)));
        assert_eq!(index_range(&(0..=u64::MAX)), Some((0, None)));
        let excluded_max = (Bound::Excluded(u64::MAX), Bound::Unbounded);
        assert_eq!(index_range(&excluded_max), None);
    }
}
