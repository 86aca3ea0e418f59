//! [`RaftLogStorage`] for [`LogStore`]: the writes, and where they become durable.
//!
//! - `append` writes the entries in one sled batch, flushes, and only then reports them
//!   flushed to openraft;
//! - `save_vote` and `save_committed` flush before returning;
//! - `truncate_after` removes the tail in one atomic batch and flushes;
//! - `purge` removes the head and records the purged log id in one transaction, so the log
//!   never has a hole; it does not flush: a purge lost in a crash only leaves entries that
//!   openraft purges again.

use std::io;

use openraft::OptionalSend;
use openraft::storage::{IOFlushed, LogState, RaftLogStorage};
use sled::Transactional;
use sled::transaction::TransactionError;

use super::codec::{index_key, to_json};
use super::db::Db;
use super::log_store::{COMMITTED_KEY, LogStore, PURGED_KEY, VOTE_KEY};
use super::type_config::{Entry, LogId, TypeConfig, Vote};

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
        self.write_meta(COMMITTED_KEY, &committed)?;
        self.db.flush().await
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
        let mut batch = sled::Batch::default();
        let mut last = None;
        for entry in entries {
            batch.insert(
                &index_key(entry.log_id.index),
                to_json(&entry, "log entry")?,
            );
            last = Some(entry.log_id.index);
        }
        self.db.log.apply_batch(batch)?;

        // The callback is openraft's durability promise: only after the flush.
        match self.db.flush().await {
            Ok(()) => {
                tracing::trace!(last_index = ?last, "raft log appended and flushed");
                callback.io_completed(Ok(()));
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot flush the raft log");
                callback.io_completed(Err(io::Error::new(e.kind(), e.to_string())));
                Err(e)
            }
        }
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> Result<(), io::Error> {
        let start = last_log_id.map_or(0, |id| id.index.saturating_add(1));
        let mut batch = sled::Batch::default();
        let mut removed = 0_u64;
        for key in self.db.log.range(index_key(start)..).keys() {
            batch.remove(key?);
            removed += 1;
        }
        // One atomic batch: the tail goes at once, never leaving a hole.
        self.db.log.apply_batch(batch)?;
        tracing::debug!(from_index = start, removed, "raft log truncated");
        self.db.flush().await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), io::Error> {
        if self.last_purged()?.is_some_and(|purged| purged >= log_id) {
            return Ok(());
        }
        // Thousands of keys go at once after a snapshot: off the async workers, so that
        // replication and client calls go on meanwhile (openraft awaits it before the next
        // storage call, so the order of log operations is unchanged).
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || purge_upto(&db, &log_id))
            .await
            .map_err(|e| io::Error::other(format!("raft log purge did not finish: {e}")))?
    }
}

/// Removes the log entries up to `log_id` and records it as purged, in one transaction: a
/// crash keeps both or neither.
fn purge_upto(db: &Db, log_id: &LogId) -> Result<(), io::Error> {
    let mut batch = sled::Batch::default();
    let mut removed = 0_u64;
    for key in db.log.range(..=index_key(log_id.index)).keys() {
        batch.remove(key?);
        removed += 1;
    }
    let purged = to_json(log_id, PURGED_KEY)?;
    (&db.log, &db.meta)
        .transaction(|(log, meta)| {
            log.apply_batch(&batch)?;
            meta.insert(PURGED_KEY, purged.as_slice())?;
            Ok(())
        })
        .map_err(|e: TransactionError<()>| match e {
            TransactionError::Storage(e) => io::Error::from(e),
            TransactionError::Abort(()) => io::Error::other("raft log purge aborted"),
        })?;
    tracing::debug!(upto_index = log_id.index, removed, "raft log purged");
    Ok(())
}
