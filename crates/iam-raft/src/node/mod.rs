//! [`RaftNode`]: one node of the cluster, its storage, its Raft and its peers.
//!
//! # Starting and initializing
//!
//! [`RaftNode::start`] opens the node's storage and builds its Raft. A node restarting with
//! data takes part at once, with the membership its log holds, and never initializes
//! again. A node whose store is empty takes no part until it is admitted (see
//! [`admission`]): either enough initial members answer that they have no history, and
//! the cluster is new (the initial member with the smallest id then initializes it,
//! exactly once), or the leader re-admits it, as a learner first when it was a voter. A
//! node started with no initial members waits to be added as a learner.
//!
//! # Writes and reads
//!
//! See [`RaftNode::write`] (propose locally or forward once to the leader),
//! [`RaftNode::wait_applied`] (read-your-writes on any node) and
//! [`RaftNode::linearizable_barrier`] (read index on the leader).

mod admin;
mod admission;
mod errors;
mod metrics;
mod read;
mod write;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use iam_api::internal::raft_service_server::RaftServiceServer;
use iam_store::raft::{self, NodeId, Raft, TypeConfig};
use iam_store::{AppliedHook, Machine};
use openraft::async_runtime::watch::WatchReceiver;
use openraft::error::{InitializeError, RaftError};
use openraft::{BasicNode, RaftMetrics};
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;

pub use errors::{AdminError, ReadError, StartError, WriteError};
pub use metrics::{NodeMetrics, Role};
pub(crate) use read::local_read_index;

use crate::addressee::OnlyFor;
use crate::channels::Channels;
use crate::contact::LeaderContact;
use crate::limits::CLUSTER_NAME;
use crate::network::Network;
use crate::service::RaftGrpc;
use crate::tls::PeerTransport;

/// A handle on one node of the cluster, whose replicated state is the machine `M`.
///
/// Cheap to clone; every clone drives the same node.
pub struct RaftNode<M: Machine> {
    id: NodeId,
    addr: Arc<str>,
    pub(crate) raft: Raft<M>,
    channels: Channels,
    /// The initial members' addresses, used until the membership in the log names them.
    seeds: Arc<BTreeMap<NodeId, String>>,
    /// When a leader last replicated to this node.
    pub(crate) contact: Arc<LeaderContact>,
    /// How peers are reached and served.
    transport: Arc<PeerTransport>,
    /// openraft's metrics, kept rather than subscribed to on every read of them (each
    /// `Authorize` reads them for its `stale` flag).
    metrics: openraft::type_config::alias::WatchReceiverOf<TypeConfig, RaftMetrics<TypeConfig>>,
    /// Whether this node takes part in the Raft (see [`admission`]).
    admitted: Arc<AtomicBool>,
    /// Where its storage lives (and [`admission::REJOIN_AS_VOTER`]).
    data_dir: Arc<Path>,
}

impl<M: Machine> RaftNode<M> {
    /// Opens the storage in `data_dir`, starts the Raft of node `id` reachable by its peers
    /// at `advertised_addr` (`host:port`), and initializes the cluster when this node is the
    /// one to do it (see the module docs).
    ///
    /// `transport` says where connections to peers leave from and whether they use mutual
    /// TLS (see [`PeerTransport`]); [`Self::serve`] serves peers the same way.
    ///
    /// `initial_members` maps every member of a new cluster to its peer address, the same on
    /// every node; it must list this node at `advertised_addr` when it lists it at all. It is
    /// only read when the cluster is created: later changes go through
    /// [`Self::add_learner`] and [`Self::change_membership`]. `hook` is called after every
    /// applied batch with the state and its revision.
    pub async fn start(
        id: NodeId,
        advertised_addr: impl Into<String>,
        transport: PeerTransport,
        data_dir: &Path,
        initial_members: BTreeMap<NodeId, String>,
        hook: Option<AppliedHook<M>>,
    ) -> Result<Self, StartError> {
        let addr: String = advertised_addr.into();
        if let Some(listed) = initial_members.get(&id)
            && *listed != addr
        {
            return Err(StartError::MemberAddress {
                node_id: id,
                advertised: addr,
                listed: listed.clone(),
            });
        }
        let config =
            raft::raft_config(CLUSTER_NAME).map_err(|e| StartError::Config(e.to_string()))?;
        let dir = data_dir.to_path_buf();
        let (log, state_machine) = tokio::task::spawn_blocking(move || raft::open::<M>(&dir, hook))
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?
            .map_err(StartError::Storage)?;
        let channels = Channels::for_transport(&transport);
        let network = Network::new(id, channels.clone());
        let raft = Raft::new(id, config, network, log, state_machine)
            .await
            .map_err(|e| StartError::Raft(e.to_string()))?;
        let initialized = match raft.is_initialized().await {
            Ok(initialized) => initialized,
            Err(e) => {
                // Stop the Raft so that its tasks release the storage.
                let _stopped = raft.shutdown().await;
                return Err(StartError::Raft(e.to_string()));
            }
        };
        // An empty store with nobody to ask (a node started without initial members)
        // takes part at once, as before; it can only be added as a learner.
        let admitted = initialized || initial_members.is_empty();
        let node = Self {
            id,
            addr: addr.into(),
            metrics: raft.metrics(),
            raft,
            channels,
            seeds: Arc::new(initial_members),
            contact: Arc::new(LeaderContact::new()),
            transport: Arc::new(transport),
            admitted: Arc::new(AtomicBool::new(admitted)),
            data_dir: Arc::from(data_dir),
        };
        if initialized {
            tracing::info!(node_id = id, "raft state found: rejoining the cluster");
            // Restarted before it was made a voter again after losing its data.
            let again = node.clone();
            tokio::spawn(async move { again.promote_if_marked().await });
        } else if admitted {
            tracing::info!(node_id = id, "no initial members: waiting to be added");
        } else {
            tokio::spawn(node.clone().admit());
        }
        Ok(node)
    }

    /// The initial member that initializes a new cluster: the one with the smallest id.
    pub(crate) fn initializer(&self) -> Option<NodeId> {
        self.seeds.keys().next().copied()
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The address this node's peers reach it at.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The openraft handle, for what this API does not cover (tests, diagnostics).
    pub fn raft(&self) -> &Raft<M> {
        &self.raft
    }

    /// The peer service of this node, to mount on the peer listener next to other
    /// services (health, reflection) or behind TLS. It answers only calls meant for this
    /// node ([`OnlyFor`]).
    pub fn service(&self) -> InterceptedService<RaftServiceServer<RaftGrpc<M>>, OnlyFor> {
        InterceptedService::new(RaftGrpc::new(self.clone()).into_server(), OnlyFor(self.id))
    }

    /// A server builder for the peer port, with mutual TLS when the transport has it; mount
    /// [`Self::service`] on it to serve peers from your own listener.
    pub fn server_builder(&self) -> Result<tonic::transport::Server, tonic::transport::Error> {
        let builder = tonic::transport::Server::builder();
        match &self.transport.tls {
            Some(tls) => builder.tls_config(tls.server()),
            None => Ok(builder),
        }
    }

    /// Serves the peer service on `listener` until `shutdown` completes.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), tonic::transport::Error> {
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        self.server_builder()?
            .add_service(self.service())
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
    }

    /// Stops the Raft: no more elections, replication or applying. The storage closes once
    /// every handle on the node (clones, services) is dropped.
    pub async fn shutdown(&self) -> Result<(), AdminError> {
        self.raft
            .shutdown()
            .await
            .map_err(|e| AdminError::Stopped(e.to_string()))
    }

    /// Initializes the cluster from the seeds when this node is the smallest initial
    /// member; called once an empty node found the cluster new ([`admission`]).
    async fn initialize_once(&self) -> Result<(), StartError> {
        match self.seeds.keys().next() {
            Some(&first) if first != self.id => {
                tracing::info!(
                    node_id = self.id,
                    initializer = first,
                    "pristine: waiting for the cluster to contact this node"
                );
                return Ok(());
            }
            None => return Ok(()),
            Some(_) => {}
        }
        let members: BTreeMap<NodeId, BasicNode> = self
            .seeds
            .iter()
            .map(|(&id, addr)| (id, BasicNode::new(addr)))
            .collect();
        match self.raft.initialize(members).await {
            Ok(()) => {
                tracing::info!(
                    node_id = self.id,
                    members = self.seeds.len(),
                    "cluster initialized"
                );
                Ok(())
            }
            // Raced with a vote or entries from a peer: the cluster already exists.
            Err(RaftError::APIError(InitializeError::NotAllowed(e))) => {
                tracing::info!(node_id = self.id, reason = %e, "cluster already initialized");
                Ok(())
            }
            Err(RaftError::APIError(InitializeError::NotInMembers(e))) => {
                Err(StartError::Initialize(e.to_string()))
            }
            Err(RaftError::Fatal(e)) => Err(StartError::Raft(e.to_string())),
        }
    }

    /// The peer address of node `id`: from the membership, else from the seeds.
    pub(crate) fn addr_of(&self, id: NodeId) -> Option<String> {
        if id == self.id {
            return Some(self.addr.to_string());
        }
        let metrics = self.metrics.borrow_watched();
        metrics
            .membership_config
            .membership()
            .get_node(&id)
            .map(|node| node.addr.clone())
            .or_else(|| self.seeds.get(&id).cloned())
    }
}

impl<M: Machine> Clone for RaftNode<M> {
    fn clone(&self) -> Self {
        Self {
            id: self.id,
            addr: Arc::clone(&self.addr),
            raft: self.raft.clone(),
            channels: self.channels.clone(),
            seeds: Arc::clone(&self.seeds),
            contact: Arc::clone(&self.contact),
            transport: Arc::clone(&self.transport),
            metrics: self.metrics.clone(),
            admitted: Arc::clone(&self.admitted),
            data_dir: Arc::clone(&self.data_dir),
        }
    }
}

impl<M: Machine> std::fmt::Debug for RaftNode<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
