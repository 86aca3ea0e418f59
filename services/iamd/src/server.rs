//! Starting and stopping a node: listeners, Raft, the authorization view, the gRPC servers
//! (client port: the API, health and reflection behind the authentication layer; peer port:
//! the internal Raft service), and the first-start bootstrap.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::Stream;
use iam_api::v1::audit_server::AuditServer;
use iam_api::v1::authorization_server::AuthorizationServer;
use iam_api::v1::cluster_server::ClusterServer;
use iam_api::v1::iam_server::IamServer;
use iam_api::v1::sts_server::StsServer;
use iam_raft::RaftNode;
use iam_store::IamState;
use iam_store::view::ViewBuilder;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::server::NamedService;
use tonic_health::ServingStatus;
use tonic_health::pb::health_server::{Health, HealthServer};
use tonic_health::server::HealthReporter;

use crate::api::authorization::AuthorizationApi;
use crate::api::cluster::ClusterApi;
use crate::api::iam::IamApi;
use crate::api::pending::{AuditApi, StsApi};
use crate::auth::{AuthContext, AuthLayer};
use crate::bootstrap;
use crate::config::Config;
use crate::connections::{Closable, Closer};
use crate::node::Node;

/// How long [`Running::shutdown`] lets calls in flight finish before it cuts the
/// connections still open (as long as the longest write waits for its commit).
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// How long a stopping leader waits for another node to take over before it stops anyway.
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a node could not start.
#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

fn err(what: &str) -> impl FnOnce(String) -> StartError + '_ {
    move |e| StartError(format!("{what}: {e}"))
}

/// A started node.
#[derive(Debug)]
pub struct Running {
    /// Where clients connect.
    pub client_addr: SocketAddr,
    /// Where peers connect.
    pub peer_addr: SocketAddr,
    pub node: Arc<Node>,
    /// Where the root credentials were written on this first start, if they were.
    pub root_credentials: Option<std::path::PathBuf>,
    stop: watch::Sender<bool>,
    closer: Closer,
    servers: Vec<JoinHandle<Result<(), String>>>,
    health: HealthReporter,
    /// Set when shutdown begins, under the lock the catch-up task takes to turn SERVING, so
    /// that a node catching up while it stops never says SERVING again.
    shutting_down: Arc<tokio::sync::Mutex<bool>>,
}

impl Running {
    /// Turns `NOT_SERVING`, hands leadership over when it leads, keeps answering for
    /// `shutdown_delay_ms` if it was serving (load balancers move away meanwhile), then
    /// stops accepting calls, lets in-flight calls finish for at most [`SHUTDOWN_GRACE`],
    /// cuts the connections still open, and stops Raft.
    pub async fn shutdown(self) {
        {
            let mut shutting_down = self.shutting_down.lock().await;
            *shutting_down = true;
            set_health(&self.health, ServingStatus::NotServing).await;
        }
        // A leader hands over first: writes (and a rolling restart's) then wait for one
        // transfer, not for the others' election timeout after it stopped.
        self.node.raft.hand_over_leadership(HAND_OVER_TIMEOUT).await;
        let delay = Duration::from_millis(self.node.config.shutdown_delay_ms);
        let served = *self.node.caught_up.borrow();
        if !delay.is_zero() && served {
            tracing::info!(
                ?delay,
                "not serving: still answering until the delay is over"
            );
            tokio::time::sleep(delay).await;
            // It may have been elected again meanwhile.
            self.node.raft.hand_over_leadership(HAND_OVER_TIMEOUT).await;
        }
        let _ = self.stop.send(true);
        let mut servers = std::pin::pin!(futures_util::future::join_all(self.servers));
        let ended = match tokio::time::timeout(SHUTDOWN_GRACE, &mut servers).await {
            Ok(ended) => ended,
            Err(_elapsed) => {
                tracing::warn!(
                    grace = ?SHUTDOWN_GRACE,
                    "connections still open after the grace period: cutting them"
                );
                self.closer.close_all();
                servers.await
            }
        };
        for ended in ended {
            if let Ok(Err(error)) = ended {
                tracing::warn!(%error, "server ended with an error");
            }
        }
        if let Err(e) = self.node.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }
}

/// Starts a node: binds its listeners (port 0 picks a free port), opens the store, joins
/// or forms the cluster, serves, and bootstraps the default account on first start.
pub async fn start(config: Config) -> Result<Running, StartError> {
    start_unless(config, std::future::pending())
        .await?
        .ok_or_else(|| StartError("stopped while starting".into()))
}

/// As [`start`], but when `give_up` completes while the first member waits for its
/// majority (the one wait at start without a bound), stops what it started and returns
/// `None`. `give_up` is not polled once that wait is over: a bootstrap under way is never
/// cut short.
pub async fn start_unless(
    mut config: Config,
    give_up: impl Future<Output = ()>,
) -> Result<Option<Running>, StartError> {
    std::fs::create_dir_all(&config.data_dir)
        .map_err(|e| err("cannot create the data directory")(e.to_string()))?;
    let client = TcpListener::bind(config.listen)
        .await
        .map_err(|e| err("cannot bind the client port")(e.to_string()))?;
    let peer = TcpListener::bind(config.peer_listen)
        .await
        .map_err(|e| err("cannot bind the peer port")(e.to_string()))?;
    let client_addr = client
        .local_addr()
        .map_err(|e| err("client port")(e.to_string()))?;
    let peer_addr = peer
        .local_addr()
        .map_err(|e| err("peer port")(e.to_string()))?;
    config.listen = client_addr;
    if config.advertise_peer.is_none() {
        config.advertise_peer = Some(peer_addr.to_string());
    }
    let key_path = config.cluster_key_path();
    if config.members().len() > 1 && !key_path.exists() {
        return Err(StartError(format!(
            "a cluster of several nodes needs the same cluster key on every node: put it in `{}` (or set cluster_key_file)",
            key_path.display()
        )));
    }
    let cluster_key = bootstrap::cluster_key(&key_path).map_err(|e| StartError(e.0))?;

    // The apply hook updates the authorization view incrementally and announces the revision.
    let builder = Arc::new(Mutex::new(ViewBuilder::new()));
    let view = builder
        .lock()
        .map_err(|_| StartError("view builder poisoned".into()))?
        .handle();
    let (applied_tx, applied_rx) = watch::channel(0u64);
    let hook_builder = Arc::clone(&builder);
    let hook: iam_store::AppliedHook<IamState> =
        Arc::new(move |state: &IamState, revision: u64| {
            if let Ok(mut b) = hook_builder.lock() {
                b.update(state, revision);
            }
            applied_tx.send_replace(revision);
        });

    let members = config.members();
    let raft = start_raft(&config, &members, hook).await?;
    let (caught_up_tx, caught_up) = watch::channel(false);
    let node = Arc::new(Node {
        config: config.clone(),
        raft,
        view: Arc::clone(&view),
        cluster_key: cluster_key.clone(),
        applied: applied_rx,
        caught_up,
        stale: crate::node::StaleCache::default(),
    });

    let (stop, stop_rx) = watch::channel(false);
    // Health says NOT_SERVING until the node has caught up (a readiness probe keeps traffic
    // away meanwhile), and SERVING before the gate opens, so that whoever sees the gate
    // open also sees the node healthy.
    let (health, health_service) = tonic_health::server::health_reporter();
    set_health(&health, ServingStatus::NotServing).await;
    let catching_up = Arc::clone(&node);
    let catch_up_stop = stop_rx.clone();
    let serving = health.clone();
    let shutting_down = Arc::new(tokio::sync::Mutex::new(false));
    let stopping = Arc::clone(&shutting_down);
    tokio::spawn(async move {
        if catching_up.catch_up(catch_up_stop).await {
            let stopping = stopping.lock().await;
            if !*stopping {
                set_health(&serving, ServingStatus::Serving).await;
                caught_up_tx.send_replace(true);
            }
        }
    });
    let closer = Closer::new();
    let key_uses = Arc::new(crate::key_use::KeyUses::default());
    tokio::spawn(crate::key_use::run(
        Arc::clone(&key_uses),
        Arc::clone(&node),
        stop_rx.clone(),
    ));
    let servers = vec![
        tokio::spawn(serve_peer(
            Arc::clone(&node),
            closer.incoming(peer),
            stop_rx.clone(),
        )),
        tokio::spawn(serve_client(
            Arc::clone(&node),
            closer.incoming(client),
            key_uses,
            (health.clone(), health_service),
            stop_rx.clone(),
        )),
    ];
    if node.config.join && !members.contains_key(&node.config.node_id) {
        tokio::spawn(join_as_learner(Arc::clone(&node), stop_rx));
    }

    let mut running = Running {
        client_addr,
        peer_addr,
        node,
        root_credentials: None,
        stop,
        closer,
        servers,
        health,
        shutting_down,
    };
    if members.keys().next() == Some(&running.node.config.node_id) {
        // Bootstrap reads the local state: only once it holds everything committed (a
        // leader confirmed a read index to it), or a restart that replayed too little would
        // bootstrap again. That needs a majority of the members, which may take any time
        // to start (a StatefulSet's pods wait for volumes and images; after an outage the
        // others come back one by one): wait for them, NOT_SERVING (the catch-up task says
        // why now and then).
        let mut caught_up = running.node.caught_up.clone();
        tokio::select! {
            waited = async { caught_up.wait_for(|c| *c).await.map(|_| ()) } => {
                waited.map_err(|e| err("not caught up with the cluster")(e.to_string()))?;
            }
            () = give_up => {
                tracing::info!("stopped while waiting for a majority of the members");
                running.shutdown().await;
                return Ok(None);
            }
        }
        running.root_credentials = bootstrap::bootstrap_account(&running.node)
            .await
            .map_err(|e| StartError(e.0))?;
    }
    Ok(Some(running))
}

/// Asks the initial members to add this node as a learner, once a second until the leader
/// answers that it is a member or the node stops. It asks even when its own log lists it:
/// that log may predate its removal (a pod scaled down, removed, and scaled up again on its
/// old volume), and asking again changes nothing when it still is a member.
async fn join_as_learner(node: Arc<Node>, mut stop: watch::Receiver<bool>) {
    let id = node.config.node_id;
    let mut warned: Option<std::time::Instant> = None;
    loop {
        let asked = tokio::select! {
            asked = node.raft.request_to_join() => asked,
            _ = stop.wait_for(|stopped| *stopped) => return,
        };
        match asked {
            Ok(log_index) => {
                tracing::info!(node_id = id, log_index, "a member of the cluster");
                return;
            }
            Err(e) if warned.is_none_or(|at| at.elapsed() >= JOIN_WARN_EVERY) => {
                warned = Some(std::time::Instant::now());
                tracing::warn!(node_id = id, error = %e, "not added to the cluster yet: asking again");
            }
            Err(e) => tracing::debug!(node_id = id, error = %e, "join refused"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
    }
}

/// How often a node asking to join says at `warn` that it is not added yet.
const JOIN_WARN_EVERY: Duration = Duration::from_secs(10);

/// Starts Raft on the data directory. The storage of a node that just shut down in this
/// process closes when its last task ends, so a lock still held is retried for a while.
async fn start_raft(
    config: &Config,
    members: &std::collections::BTreeMap<u64, String>,
    hook: iam_store::AppliedHook<IamState>,
) -> Result<RaftNode<IamState>, StartError> {
    let transport = config
        .peer_transport()
        .map_err(|e| err("invalid peer transport")(e.0))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let started = RaftNode::<IamState>::start(
            config.node_id,
            config.advertised_peer(),
            transport.clone(),
            &config.data_dir.join("raft"),
            members.clone(),
            Some(hook.clone()),
        )
        .await;
        match started {
            Ok(raft) => return Ok(raft),
            Err(e)
                if e.to_string().contains("could not acquire lock")
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(err("cannot start raft")(e.to_string())),
        }
    }
}

async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

async fn serve_peer(
    node: Arc<Node>,
    incoming: impl Stream<Item = std::io::Result<Closable>> + Send + 'static,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    node.raft
        .server_builder()
        .map_err(|e| e.to_string())?
        .add_service(node.raft.service())
        .serve_with_incoming_shutdown(incoming, stopped(stop))
        .await
        .map_err(|e| e.to_string())
}

async fn serve_client(
    node: Arc<Node>,
    incoming: impl Stream<Item = std::io::Result<Closable>> + Send + 'static,
    key_uses: Arc<crate::key_use::KeyUses>,
    (health, health_service): (HealthReporter, HealthServer<impl Health>),
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let max = node.config.max_message_bytes;
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(iam_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| e.to_string())?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(iam_api::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| e.to_string())?;
    let auth = AuthLayer::new(AuthContext {
        view: Arc::clone(&node.view),
        cluster_key: node.cluster_key.clone(),
        max_body: max,
        key_uses: Some(key_uses),
        caught_up: node.caught_up.clone(),
        caught_up_wait: Duration::from_millis(node.config.min_revision_wait_ms),
        open: Arc::default(),
    });
    let iam = IamServer::new(IamApi {
        node: Arc::clone(&node),
    })
    .max_decoding_message_size(max);
    let authz = AuthorizationServer::new(AuthorizationApi {
        node: Arc::clone(&node),
    })
    .max_decoding_message_size(max);
    let result = tonic::transport::Server::builder()
        .layer(auth)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(iam)
        .add_service(authz)
        .add_service(
            ClusterServer::new(ClusterApi {
                node: Arc::clone(&node),
            })
            .max_decoding_message_size(max),
        )
        .add_service(StsServer::new(StsApi).max_decoding_message_size(max))
        .add_service(AuditServer::new(AuditApi).max_decoding_message_size(max))
        .serve_with_incoming_shutdown(incoming, {
            let health = health.clone();
            async move {
                stopped(stop).await;
                // NOT_SERVING as soon as the node starts to stop, before its connections
                // drain.
                set_health(&health, ServingStatus::NotServing).await;
            }
        })
        .await;
    // A server that ended without being stopped (an error) serves no more either.
    set_health(&health, ServingStatus::NotServing).await;
    result.map_err(|e| e.to_string())
}

const IAM_SERVICE: &str = <IamServer<IamApi> as NamedService>::NAME;
const AUTHORIZATION_SERVICE: &str = <AuthorizationServer<AuthorizationApi> as NamedService>::NAME;

/// Sets the health of the whole node (service `""`, what a Kubernetes gRPC probe asks) and
/// of the two services that answer from the node's own state.
async fn set_health(health: &HealthReporter, status: ServingStatus) {
    health.set_service_status("", status).await;
    health.set_service_status(IAM_SERVICE, status).await;
    health
        .set_service_status(AUTHORIZATION_SERVICE, status)
        .await;
}
