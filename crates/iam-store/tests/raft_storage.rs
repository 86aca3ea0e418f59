//! The sled Raft storage: openraft's storage suite, restarts, snapshot transfer and a real
//! single-node Raft, all driving a small key-value [`Machine`].
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use iam_store::raft::{self, Entry, LogId, LogStore, Request, StateMachineStore, TypeConfig, Vote};
use iam_store::{AppliedHook, Machine};
use openraft::error::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::storage::{
    RaftLogReader, RaftLogStorage, RaftLogStorageExt, RaftSnapshotBuilder, RaftStateMachine,
};
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::{BasicNode, EntryPayload, StorageError, StorageHelper};
use serde::{Deserialize, Serialize};
use tempfile::TempDir;

// --- the machine under the storage -------------------------------------------------------

/// A string map; `revision` is the log index of the last command applied.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct Kv {
    map: BTreeMap<String, String>,
    revision: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum KvCommand {
    Set { key: String, value: String },
    Delete { key: String },
}

/// The value the key had before the command.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct KvResponse {
    previous: Option<String>,
}

impl Machine for Kv {
    type Command = KvCommand;
    type Response = KvResponse;

    fn apply(&mut self, command: &KvCommand, revision: u64) -> KvResponse {
        self.revision = revision;
        let previous = match command {
            KvCommand::Set { key, value } => self.map.insert(key.clone(), value.clone()),
            KvCommand::Delete { key } => self.map.remove(key),
        };
        KvResponse { previous }
    }
}

fn set(key: &str, value: &str) -> KvCommand {
    KvCommand::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

fn delete(key: &str) -> KvCommand {
    KvCommand::Delete {
        key: key.to_owned(),
    }
}

fn kv(pairs: &[(&str, &str)], revision: u64) -> Kv {
    let map = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Kv { map, revision }
}

// --- helpers -----------------------------------------------------------------------------

fn log_id(term: u64, index: u64) -> LogId {
    openraft::testing::log_id::<TypeConfig>(term, 1, index)
}

fn normal(term: u64, index: u64, command: &KvCommand) -> Entry {
    let request = Request::encode::<Kv>(command).unwrap();
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(request),
    }
}

fn membership(term: u64, index: u64) -> Entry {
    openraft::testing::membership_ent::<TypeConfig>(term, 1, index, vec![BTreeSet::from([1])])
}

/// Entries 0..=3, as a cluster writes them: membership {1} (what `initialize` writes), then
/// set a, set b, delete a.
fn four_entries() -> Vec<Entry> {
    vec![
        membership(0, 0),
        normal(1, 1, &set("a", "1")),
        normal(1, 2, &set("b", "2")),
        normal(2, 3, &delete("a")),
    ]
}

async fn apply(sm: &mut StateMachineStore<Kv>, entries: Vec<Entry>) {
    let items = entries.into_iter().map(|entry| Ok((entry, None)));
    sm.apply(stream::iter(items)).await.unwrap();
}

/// Records every call of the applied hook: revision and state.
#[derive(Clone, Default)]
struct Published(Arc<Mutex<Vec<(u64, Kv)>>>);

impl Published {
    fn hook(&self) -> AppliedHook<Kv> {
        let calls = Arc::clone(&self.0);
        Arc::new(move |state: &Kv, revision| calls.lock().unwrap().push((revision, state.clone())))
    }

    fn last(&self) -> Option<(u64, Kv)> {
        self.0.lock().unwrap().last().cloned()
    }
}

/// Opens the stores; a database just closed by this process stays locked until sled's own
/// threads have let go of it, so a held lock is retried for a few seconds.
fn open(path: &Path, published: &Published) -> (LogStore, StateMachineStore<Kv>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let opened = loop {
        match raft::open::<Kv>(path, Some(published.hook())) {
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            other => break other,
        }
    };
    opened.unwrap()
}

// --- openraft's storage suite ------------------------------------------------------------

/// A fresh sled database in its own temporary directory for every suite case.
struct SledStoreBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore<Kv>, TempDir> for SledStoreBuilder {
    async fn build(
        &self,
    ) -> Result<(TempDir, LogStore, StateMachineStore<Kv>), StorageError<TypeConfig>> {
        let dir = tempfile::tempdir().unwrap();
        let (log, sm) = raft::open::<Kv>(dir.path(), None).unwrap();
        Ok((dir, log, sm))
    }
}

#[tokio::test]
async fn sled_storage_passes_the_openraft_storage_suite() {
    Suite::test_all(SledStoreBuilder).await.unwrap();
}

// --- restarts ----------------------------------------------------------------------------

#[tokio::test]
async fn restart_keeps_log_vote_committed_and_replays_state() {
    let dir = tempfile::tempdir().unwrap();
    let vote = Vote::new_committed(2, 1);

    tracing::info!("--- write the log, vote and committed, apply everything, stop");
    {
        let (mut log, mut sm) = open(dir.path(), &Published::default());
        log.save_vote(&vote).await.unwrap();
        log.blocking_append(four_entries()).await.unwrap();
        apply(&mut sm, four_entries()).await;
        log.save_committed(Some(log_id(2, 3))).await.unwrap();
        assert_eq!(sm.machine(), &kv(&[("b", "2")], 3));
    }

    tracing::info!("--- reopen: the log store has everything, the machine starts empty");
    let published = Published::default();
    let (mut log, mut sm) = open(dir.path(), &published);
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, None);
    assert_eq!(state.last_log_id, Some(log_id(2, 3)));
    assert_eq!(log.read_vote().await.unwrap(), Some(vote));
    assert_eq!(log.read_committed().await.unwrap(), Some(log_id(2, 3)));
    let entries = log.try_get_log_entries(..).await.unwrap();
    let ids: Vec<LogId> = entries.iter().map(|e| e.log_id).collect();
    assert_eq!(
        ids,
        vec![log_id(0, 0), log_id(1, 1), log_id(1, 2), log_id(2, 3)]
    );
    assert_eq!(sm.last_applied(), None, "no snapshot yet: nothing to load");

    tracing::info!("--- openraft's startup re-applies the committed entries");
    StorageHelper::new(&mut log, &mut sm)
        .with_id(1)
        .get_initial_state()
        .await
        .unwrap();
    assert_eq!(sm.machine(), &kv(&[("b", "2")], 3));
    assert_eq!(sm.last_applied(), Some(log_id(2, 3)));
    assert_eq!(sm.last_membership().log_id(), &Some(log_id(0, 0)));
    assert_eq!(published.last(), Some((3, kv(&[("b", "2")], 3))));
}

#[tokio::test]
async fn restart_loads_the_snapshot_then_replays_the_entries_after_it() {
    let dir = tempfile::tempdir().unwrap();

    tracing::info!("--- apply 0..=2, snapshot, apply 3, purge what the snapshot holds, stop");
    {
        let (mut log, mut sm) = open(dir.path(), &Published::default());
        log.blocking_append(four_entries()).await.unwrap();
        let mut entries = four_entries();
        let last = entries.split_off(3);
        apply(&mut sm, entries).await;
        let snapshot = sm
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .unwrap();
        assert_eq!(snapshot.meta.last_log_id, Some(log_id(1, 2)));
        apply(&mut sm, last).await;
        log.save_committed(Some(log_id(2, 3))).await.unwrap();
        log.purge(log_id(1, 2)).await.unwrap();
    }

    tracing::info!("--- reopen: the machine starts from the snapshot and publishes it");
    let published = Published::default();
    let (mut log, mut sm) = open(dir.path(), &published);
    assert_eq!(sm.last_applied(), Some(log_id(1, 2)));
    assert_eq!(sm.machine(), &kv(&[("a", "1"), ("b", "2")], 2));
    assert_eq!(
        published.last(),
        Some((2, kv(&[("a", "1"), ("b", "2")], 2)))
    );
    let state = log.get_log_state().await.unwrap();
    assert_eq!(state.last_purged_log_id, Some(log_id(1, 2)));
    assert_eq!(state.last_log_id, Some(log_id(2, 3)));

    tracing::info!("--- openraft's startup replays entry 3 on top of the snapshot");
    StorageHelper::new(&mut log, &mut sm)
        .with_id(1)
        .get_initial_state()
        .await
        .unwrap();
    assert_eq!(sm.machine(), &kv(&[("b", "2")], 3));
    assert_eq!(published.last(), Some((3, kv(&[("b", "2")], 3))));
}

// --- snapshots ---------------------------------------------------------------------------

#[tokio::test]
async fn snapshot_installed_into_a_fresh_store_reproduces_the_state_and_survives_restart() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();

    tracing::info!("--- build a snapshot on the leader");
    let (_leader_log, mut leader) = open(leader_dir.path(), &Published::default());
    apply(&mut leader, four_entries()).await;
    let built = leader
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();
    assert_eq!(built.meta.last_log_id, Some(log_id(2, 3)));

    tracing::info!("--- install it on a fresh follower");
    let published = Published::default();
    {
        let (_log, mut follower) = open(follower_dir.path(), &published);
        follower
            .install_snapshot(&built.meta, built.snapshot.clone())
            .await
            .unwrap();
        assert_eq!(follower.machine(), leader.machine());
        assert_eq!(
            follower.applied_state().await.unwrap(),
            leader.applied_state().await.unwrap()
        );
        assert_eq!(published.last(), Some((3, leader.machine().clone())));
        let current = follower.get_current_snapshot().await.unwrap().unwrap();
        assert_eq!(current.meta, built.meta);
        assert_eq!(current.snapshot.get_ref(), built.snapshot.get_ref());
    }

    tracing::info!("--- the follower restarts from the installed snapshot");
    let (_log, follower) = open(follower_dir.path(), &Published::default());
    assert_eq!(follower.machine(), leader.machine());
    assert_eq!(follower.last_applied(), Some(log_id(2, 3)));
}

#[tokio::test]
async fn snapshot_whose_data_contradicts_its_metadata_is_refused() {
    let leader_dir = tempfile::tempdir().unwrap();
    let follower_dir = tempfile::tempdir().unwrap();
    let (_leader_log, mut leader) = open(leader_dir.path(), &Published::default());
    apply(&mut leader, four_entries()).await;
    let built = leader
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .unwrap();

    let mut meta = built.meta.clone();
    meta.last_log_id = Some(log_id(2, 9));
    let (_log, mut follower) = open(follower_dir.path(), &Published::default());
    let err = follower
        .install_snapshot(&meta, built.snapshot)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert_eq!(follower.last_applied(), None);
    assert!(
        follower.get_current_snapshot().await.unwrap().is_none(),
        "nothing stored"
    );
}

#[tokio::test]
async fn entry_that_is_not_a_command_of_the_machine_stops_apply() {
    let dir = tempfile::tempdir().unwrap();
    let (_log, mut sm) = open(dir.path(), &Published::default());
    // A command this machine does not know, as a newer proposer could send.
    let bogus: Request = serde_json::from_str(r#""{\"Rename\":{\"key\":\"a\"}}""#).unwrap();
    let entry = Entry {
        log_id: log_id(1, 1),
        payload: EntryPayload::Normal(bogus),
    };

    let err = sm
        .apply(stream::iter([Ok((entry, None))]))
        .await
        .unwrap_err();

    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        err.to_string()
            .starts_with("log entry 1: cannot decode command"),
        "{err}"
    );
    assert_eq!(sm.last_applied(), None);
}

// --- a real single-node Raft -------------------------------------------------------------

/// The network of a lone node: there is nobody to reach.
struct NoPeers;

fn unreachable() -> Unreachable<TypeConfig> {
    Unreachable::from_string("single-node test has no peers")
}

impl RaftNetworkFactory<TypeConfig> for NoPeers {
    type Network = NoPeers;

    async fn new_client(&mut self, _target: u64, _node: &BasicNode) -> NoPeers {
        NoPeers
    }
}

impl RaftNetworkV2<TypeConfig> for NoPeers {
    type SnapshotData = raft::SnapshotData;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(unreachable()))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(unreachable()))
    }

    async fn full_snapshot(
        &mut self,
        _vote: Vote,
        _snapshot: raft::Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        Err(StreamingError::Unreachable(unreachable()))
    }
}

#[tokio::test]
async fn single_node_raft_answers_client_writes_and_publishes_each_batch() {
    let dir = tempfile::tempdir().unwrap();
    let published = Published::default();
    let (log, sm) = open(dir.path(), &published);
    let config = raft::raft_config("raft-storage-test").unwrap();
    let node = raft::Raft::<Kv>::new(1, config, NoPeers, log, sm)
        .await
        .unwrap();

    tracing::info!("--- a lone node initializes and leads");
    node.initialize(BTreeMap::from([(1, BasicNode::new("127.0.0.1:0"))]))
        .await
        .unwrap();
    node.wait(Some(Duration::from_secs(10)))
        .current_leader(1, "leads")
        .await
        .unwrap();

    tracing::info!("--- each write answers the machine's response");
    let first = node
        .client_write(Request::encode::<Kv>(&set("a", "1")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        first.data.decode::<Kv>().unwrap(),
        KvResponse { previous: None }
    );
    let second = node
        .client_write(Request::encode::<Kv>(&set("a", "2")).unwrap())
        .await
        .unwrap();
    assert_eq!(
        second.data.decode::<Kv>().unwrap(),
        KvResponse {
            previous: Some("1".into())
        }
    );

    tracing::info!("--- the hook saw the state after the last write");
    let index = second.log_id.index;
    assert_eq!(published.last(), Some((index, kv(&[("a", "2")], index))));

    node.shutdown().await.unwrap();
}
