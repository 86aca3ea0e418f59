//! In-process nodes with real gRPC between them: a small key-value machine, a node fixture
//! that binds `127.0.0.1:0`, serves its peer port and can be killed and restarted, and
//! waits on Raft metrics (never on bare sleeps).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers fail the test by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iam_raft::{PeerTransport, RaftNode, Role};
use iam_store::{AppliedHook, Machine};
use serde::{Deserialize, Serialize};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any wait in these tests may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

// --- the machine ---------------------------------------------------------------------------

/// A string map.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kv {
    pub map: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum KvCommand {
    Set { key: String, value: String },
    Delete { key: String },
}

/// The value the key had before the command.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct KvResponse {
    pub previous: Option<String>,
}

impl Machine for Kv {
    type Command = KvCommand;
    type Response = KvResponse;

    fn apply(&mut self, command: &KvCommand, _revision: u64) -> KvResponse {
        let previous = match command {
            KvCommand::Set { key, value } => self.map.insert(key.clone(), value.clone()),
            KvCommand::Delete { key } => self.map.remove(key),
        };
        KvResponse { previous }
    }
}

pub fn set(key: &str, value: &str) -> KvCommand {
    KvCommand::Set {
        key: key.to_owned(),
        value: value.to_owned(),
    }
}

pub fn delete(key: &str) -> KvCommand {
    KvCommand::Delete {
        key: key.to_owned(),
    }
}

/// The last state a node's hook published, with its revision.
#[derive(Clone, Default)]
pub struct Published(Arc<Mutex<Option<(u64, Kv)>>>);

impl Published {
    fn hook(&self) -> AppliedHook<Kv> {
        let last = Arc::clone(&self.0);
        Arc::new(move |kv: &Kv, revision| {
            *last.lock().unwrap() = Some((revision, kv.clone()));
        })
    }

    /// The published map (empty before the first publication).
    pub fn map(&self) -> BTreeMap<String, String> {
        self.0
            .lock()
            .unwrap()
            .as_ref()
            .map(|(_, kv)| kv.map.clone())
            .unwrap_or_default()
    }
}

// --- nodes ---------------------------------------------------------------------------------

/// A port bound on loopback, held until the node serves on it.
pub async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    (listener, addr)
}

/// One running node: its Raft, its peer server and what it published.
pub struct TestNode {
    pub node: RaftNode<Kv>,
    pub published: Published,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl TestNode {
    /// Starts node `id` on `listener` with its data in `dir`, and serves its peer port.
    pub async fn start(
        id: u64,
        listener: TcpListener,
        dir: &Path,
        members: &BTreeMap<u64, String>,
    ) -> Self {
        let addr = listener.local_addr().unwrap().to_string();
        let published = Published::default();
        let node = RaftNode::start(
            id,
            addr,
            PeerTransport::default(),
            dir,
            members.clone(),
            Some(published.hook()),
        )
        .await
        .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let serving = node.clone();
        let server = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            serving.serve(listener, shutdown).await.unwrap();
        });
        Self {
            node,
            published,
            stop: Some(stop),
            server: Some(server),
        }
    }

    /// Stops the Raft and the peer server, as a crash would, and waits until both are down.
    pub async fn kill(mut self) {
        self.node.shutdown().await.unwrap();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }

    pub fn id(&self) -> u64 {
        self.node.id()
    }

    pub fn role(&self) -> Role {
        self.node.metrics().role
    }
}

/// A cluster of in-process nodes, each with its own directory and loopback port.
pub struct Cluster {
    pub nodes: Vec<TestNode>,
    pub members: BTreeMap<u64, String>,
    _dirs: Vec<TempDir>,
}

impl Cluster {
    /// Starts nodes `1..=size`, all with the same initial member list.
    pub async fn start(size: u64) -> Self {
        let mut listeners = Vec::new();
        let mut members = BTreeMap::new();
        for id in 1..=size {
            let (listener, addr) = bind().await;
            members.insert(id, addr);
            listeners.push((id, listener));
        }
        let mut nodes = Vec::new();
        let mut dirs = Vec::new();
        for (id, listener) in listeners {
            let dir = tempfile::tempdir().unwrap();
            nodes.push(TestNode::start(id, listener, dir.path(), &members).await);
            dirs.push(dir);
        }
        Self {
            nodes,
            members,
            _dirs: dirs,
        }
    }

    /// The running node `id`.
    pub fn node(&self, id: u64) -> &TestNode {
        self.nodes.iter().find(|n| n.id() == id).unwrap()
    }

    /// Removes node `id` from the running nodes and kills it.
    pub async fn kill(&mut self, id: u64) {
        let index = self.nodes.iter().position(|n| n.id() == id).unwrap();
        self.nodes.remove(index).kill().await;
    }

    /// Waits until every running node knows the same leader, other than `not`, and that
    /// node leads; returns its id.
    pub async fn agreed_leader(&self, not: Option<u64>) -> u64 {
        let first = &self.nodes.first().unwrap().node;
        let metrics = first
            .raft()
            .wait(Some(WAIT))
            .metrics(
                |m| m.current_leader.is_some() && m.current_leader != not,
                "a new leader is known",
            )
            .await
            .unwrap();
        let leader = metrics.current_leader.unwrap();
        for node in &self.nodes {
            node.node
                .raft()
                .wait(Some(WAIT))
                .current_leader(leader, "every node knows the leader")
                .await
                .unwrap();
        }
        self.node(leader)
            .node
            .raft()
            .wait(Some(WAIT))
            .state(openraft::ServerState::Leader, "the leader leads")
            .await
            .unwrap();
        leader
    }

    /// Ids of the running nodes that are not `leader`.
    pub fn followers(&self, leader: u64) -> BTreeSet<u64> {
        self.nodes
            .iter()
            .map(TestNode::id)
            .filter(|&id| id != leader)
            .collect()
    }

    /// Waits until every running node applied `index`.
    pub async fn all_applied(&self, index: u64) {
        for node in &self.nodes {
            node.node.wait_applied(index, WAIT).await.unwrap();
        }
    }
}
