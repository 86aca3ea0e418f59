//! The one sled database behind a node's Raft storage, and its trees.
//!
//! sled stays private to this crate: nothing public names a sled type, so the storage engine
//! can be replaced without touching the Raft code.

use std::fmt;
use std::io;
use std::path::Path;

/// The sled trees of one node, shared by the log store and the state machine store.
///
/// Cloning is cheap: sled handles are reference counted.
#[derive(Clone)]
pub(crate) struct Db {
    db: sled::Db,
    /// Log entries, keyed by the big-endian log index.
    pub(crate) log: sled::Tree,
    /// Vote, committed log id and last purged log id.
    pub(crate) meta: sled::Tree,
    /// The current snapshot: its metadata and its data.
    pub(crate) snapshot: sled::Tree,
}

impl Db {
    /// Opens (or creates) the database in the directory `path`.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let db = sled::Config::new().path(path).open()?;
        let log = db.open_tree("log")?;
        let meta = db.open_tree("meta")?;
        let snapshot = db.open_tree("snapshot")?;
        Ok(Self {
            db,
            log,
            meta,
            snapshot,
        })
    }

    /// Makes every write so far durable: returns once sled has written and synced them.
    ///
    /// sled writes in order and flushes the whole database, so this also covers the writes
    /// of the other store sharing it.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        self.db.flush_async().await?;
        Ok(())
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}
