//! The one sled database behind a node's Raft storage, its trees, and the thread that makes
//! writes durable.
//!
//! sled stays private to this crate: nothing public names a sled type, so the storage engine
//! can be replaced without touching the Raft code.
//!
//! # Durability
//!
//! sled's own `flush` is not enough: on Linux it writes its buffers and waits with
//! `sync_file_range`, which neither flushes the device's write cache nor commits the file's
//! metadata, and sled only fsyncs its file every 500 ms from a background thread. So after
//! each sled flush the sync thread calls `fdatasync` on sled's data file itself (through a
//! handle of its own), and only then reports the writes durable. sled keeps a value over
//! about 128 KiB (a stored snapshot, say) in a file of its own under `blobs/`, which it
//! never fsyncs: writers of large values say so ([`Db::wrote`]), and the next round also
//! fsyncs every blob file and the `blobs/` directory.
//!
//! One thread per database (`raft-sync`) does every fsync. Whoever needs writes durable
//! queues a waiter; the thread takes every waiter queued, flushes sled once for all of them
//! (group commit) and answers them in the order they came. So an append, a vote and an
//! applied batch waiting at the same moment share one fsync, no async task ever blocks on
//! the disk, and openraft's core never waits for the log's fsync (see
//! [`Db::flush_then`]). The thread holds the database only while it flushes, and ends once
//! every handle is dropped. If it was flushing at that moment, it closes the database
//! itself, and sled's own threads may hold the directory's lock a moment longer, so a
//! reopen in the same process retries while the lock is held.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Weak};

use openraft::storage::IOFlushed;

use super::type_config::TypeConfig;

/// The sled trees of one node, shared by the log store and the state machine store.
///
/// Cloning is cheap: sled handles are reference counted.
#[derive(Clone)]
pub(crate) struct Db {
    /// Keeps the database open: the sync thread holds only a weak reference.
    _db: Arc<sled::Db>,
    /// Log entries, keyed by the big-endian log index.
    pub(crate) log: sled::Tree,
    /// Vote, committed log id and last purged log id.
    pub(crate) meta: sled::Tree,
    /// The current snapshot: its metadata and its data.
    pub(crate) snapshot: sled::Tree,
    /// Waiters for the `raft-sync` thread.
    sync: mpsc::Sender<Waiter>,
    /// Shared with the `raft-sync` thread.
    progress: Arc<SyncProgress>,
}

/// What writers tell the `raft-sync` thread and what it counts, shared by both.
#[derive(Default)]
struct SyncProgress {
    /// Completed sync rounds: a sled flush followed by an `fdatasync` of its data file.
    rounds: AtomicU64,
    /// Whether a value large enough for a sled blob file was written since the last round
    /// began.
    large: AtomicBool,
    /// Completed rounds that also synced the blob files.
    blob_rounds: AtomicU64,
}

/// The file sled 0.34 keeps its log and pages in, inside the database directory.
const SLED_DATA_FILE: &str = "db";
/// The directory sled 0.34 keeps large values in, one file each.
const SLED_BLOBS_DIR: &str = "blobs";
/// Values from this size on may be blobs: sled's threshold is a quarter of its 512 KiB
/// segments, less headers; half of that leaves a margin.
const LARGE_VALUE_BYTES: usize = 64 * 1024;

/// Someone waiting for the writes made before it queued to be durable.
enum Waiter {
    /// An append: openraft's callback.
    Append(IOFlushed<TypeConfig>),
    /// An async caller of [`Db::flush`].
    Task(tokio::sync::oneshot::Sender<io::Result<()>>),
}

impl Waiter {
    fn answer(self, result: &io::Result<()>) {
        let result = match result {
            Ok(()) => Ok(()),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        match self {
            Waiter::Append(callback) => callback.io_completed(result),
            // A caller that went away no longer waits.
            Waiter::Task(tx) => drop(tx.send(result)),
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the raft storage is closed")
}

impl Db {
    /// Opens (or creates) the database in the directory `path` and starts its sync thread.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let db = Arc::new(sled::Config::new().path(path).open()?);
        let log = db.open_tree("log")?;
        let meta = db.open_tree("meta")?;
        let snapshot = db.open_tree("snapshot")?;
        // fdatasync works on any descriptor of the file; a read-only one cannot write it.
        let data_path = path.join(SLED_DATA_FILE);
        let data = File::open(&data_path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot open sled's data file {}: {e}", data_path.display()),
            )
        })?;
        let (sync, waiters) = mpsc::channel();
        let weak = Arc::downgrade(&db);
        let progress = Arc::new(SyncProgress::default());
        let sync_state = SyncState {
            dir: path.to_owned(),
            data,
            progress: Arc::clone(&progress),
        };
        std::thread::Builder::new()
            .name("raft-sync".into())
            .spawn(move || sync_loop(&weak, &sync_state, &waiters))?;
        Ok(Self {
            _db: db,
            log,
            meta,
            snapshot,
            sync,
            progress,
        })
    }

    /// Notes that a value of `len` bytes was written, after writing it and before waiting
    /// for it to be durable: a large one makes the next sync round fsync sled's blob files.
    pub(crate) fn wrote(&self, len: usize) {
        if len >= LARGE_VALUE_BYTES {
            self.progress.large.store(true, Ordering::Release);
        }
    }

    /// How many sync rounds also synced sled's blob files.
    #[cfg(test)]
    pub(crate) fn blob_rounds(&self) -> u64 {
        self.progress.blob_rounds.load(Ordering::Acquire)
    }

    /// How many sync rounds (sled flush, then `fdatasync`) have completed.
    pub(crate) fn sync_rounds(&self) -> u64 {
        self.progress.rounds.load(Ordering::Acquire)
    }

    /// Makes every write so far durable: returns once sled has written and synced them.
    ///
    /// sled writes in order and flushes the whole database, so this also covers the writes
    /// of the other store sharing it.
    pub(crate) async fn flush(&self) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.sync.send(Waiter::Task(tx)).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    /// Calls `callback` once every write so far is durable, without waiting for it.
    pub(crate) fn flush_then(&self, callback: IOFlushed<TypeConfig>) {
        if let Err(mpsc::SendError(waiter)) = self.sync.send(Waiter::Append(callback)) {
            waiter.answer(&Err(closed()));
        }
    }
}

/// What the sync thread works with.
struct SyncState {
    /// The database directory.
    dir: PathBuf,
    /// sled's data file, for `fdatasync`.
    data: File,
    progress: Arc<SyncProgress>,
}

/// fsyncs every blob file sled has and the directories naming them. A blob sled removes
/// meanwhile (replaced by a newer value) is skipped.
fn sync_blobs(dir: &Path) -> io::Result<()> {
    let blobs = dir.join(SLED_BLOBS_DIR);
    let entries = match std::fs::read_dir(&blobs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        match File::open(entry?.path()).and_then(|f| f.sync_all()) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    File::open(&blobs)?.sync_all()?;
    File::open(dir)?.sync_all()
}

/// The `raft-sync` thread: one flush per round for every waiter queued before it began.
fn sync_loop(db: &Weak<sled::Db>, state: &SyncState, waiters: &mpsc::Receiver<Waiter>) {
    let progress = &state.progress;
    while let Ok(first) = waiters.recv() {
        let mut round = vec![first];
        round.extend(waiters.try_iter());
        // Taken before the flush: a writer notes a large value after writing it, so a round
        // that takes the note flushes that value.
        let large = progress.large.swap(false, Ordering::AcqRel);
        // Hold the database only for the flush, so that the last report comes after the
        // thread let go of it.
        let result = match db.upgrade() {
            Some(db) => db
                .flush()
                .map_err(io::Error::from)
                .and_then(|_| state.data.sync_data())
                .and_then(|()| {
                    if large {
                        sync_blobs(&state.dir)
                    } else {
                        Ok(())
                    }
                }),
            None => Err(closed()),
        };
        if result.is_ok() {
            progress.rounds.fetch_add(1, Ordering::AcqRel);
            if large {
                progress.blob_rounds.fetch_add(1, Ordering::AcqRel);
            }
        } else if large {
            // Not synced: the next round tries again.
            progress.large.store(true, Ordering::Release);
        }
        if let Err(e) = &result {
            tracing::error!(error = %e, waiters = round.len(), "cannot flush the raft storage");
        }
        for waiter in round {
            waiter.answer(&result);
        }
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Db")
            .field("sync_rounds", &self.sync_rounds())
            .field(
                "blob_rounds",
                &self.progress.blob_rounds.load(Ordering::Acquire),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flush_ends_with_an_fdatasync_of_the_file_sled_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let data = dir.path().join(SLED_DATA_FILE);
        let before = std::fs::metadata(&data).unwrap().len();
        let rounds = db.sync_rounds();

        for i in 0_u32..256 {
            db.log.insert(i.to_be_bytes(), vec![7_u8; 4096]).unwrap();
        }
        db.flush().await.unwrap();

        // The flush took a round of the sync thread, which fdatasyncs after sled's flush...
        assert!(db.sync_rounds() > rounds);
        // ...of the file sled wrote the values to: if sled kept them elsewhere, the sync
        // would cover nothing.
        let after = std::fs::metadata(&data).unwrap().len();
        assert!(
            after >= before + 256 * 4096,
            "sled's data file grew from {before} to {after} bytes only"
        );
    }

    #[tokio::test]
    async fn a_value_large_enough_for_a_blob_file_is_synced_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path()).unwrap();
        let value = vec![9_u8; 1 << 20];
        db.snapshot.insert("big", value.clone()).unwrap();
        db.wrote(value.len());
        db.flush().await.unwrap();
        // sled put the value in a file of its own, which its flush does not sync...
        let blobs = std::fs::read_dir(dir.path().join(SLED_BLOBS_DIR))
            .unwrap()
            .count();
        assert!(blobs >= 1, "sled kept the 1 MiB value in its log file");
        // ...so the round synced the blob files too; a small value does not ask for it.
        assert_eq!(db.blob_rounds(), 1);
        db.log.insert("small", vec![1_u8; 100]).unwrap();
        db.wrote(100);
        db.flush().await.unwrap();
        assert_eq!(db.blob_rounds(), 1);
    }
}
