//! Helpers for tests that start real iamd nodes and speak gRPC to them: start a node on
//! free ports in a temporary directory, read its root credentials, build signed clients;
//! cut links between nodes ([`proxy`]), compare their states ([`state_digest`]) and check
//! that what clients saw is linearizable ([`linearizability`], [`register`]).

pub mod drive;
pub mod etcd;
pub mod linearizability;
pub mod presigned;
pub mod proxy;
pub mod register;
pub mod scenario;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;

use iam_api::signing::{SigV4Layer, SigV4Service, SigningCredentials};
use iam_api::v1::authorization_client::AuthorizationClient;
use iam_api::v1::cluster_client::ClusterClient;
use iam_api::v1::iam_client::IamClient;
use iamd::config::Config;
use iamd::server::{Running, StartError};
use tonic::transport::Channel;

/// A signed channel.
pub type Signed = SigV4Service<Channel>;

/// A node's configuration for tests: loopback, free ports, data in `dir`.
pub fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| Config::default().listen),
        peer_listen: "127.0.0.1:0"
            .parse()
            .unwrap_or_else(|_| Config::default().peer_listen),
        data_dir: dir.to_path_buf(),
        bootstrap_account_id: "111111111111".into(),
        bootstrap_account_name: "prod-trading".into(),
        key_use_flush_ms: 50,
        ..Config::default()
    }
}

/// Starts a node.
pub async fn start(config: Config) -> Result<Running, StartError> {
    iamd::server::start(config).await
}

/// Reads the INI credentials file a node writes on first start.
pub fn read_credentials(path: &Path) -> std::io::Result<SigningCredentials> {
    let text = std::fs::read_to_string(path)?;
    let field = |name: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    Ok(SigningCredentials {
        access_key_id: field("aws_access_key_id"),
        secret_access_key: field("aws_secret_access_key"),
        session_token: None,
        region: field("region"),
    })
}

/// The root credentials of a new cluster, written by whichever node initialized it.
pub fn root_credentials(nodes: &[Running]) -> std::io::Result<SigningCredentials> {
    let path = nodes
        .iter()
        .find_map(|n| n.root_credentials.clone())
        .ok_or_else(|| std::io::Error::other("no node wrote root credentials"))?;
    read_credentials(&path)
}

/// Creates user `name` through `node` (its name is the idempotency key), retrying while
/// the cluster has no leader for up to 20 s; returns the revision it was applied at.
pub async fn create_user_retrying(
    node: &Running,
    creds: &SigningCredentials,
    name: &str,
) -> Result<u64, tonic::Status> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let mut client = iam(node, creds)
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let created = client
            .create_user(iam_api::v1::CreateUserRequest {
                user_name: name.into(),
                idempotency_key: format!("create-{name}"),
                ..Default::default()
            })
            .await;
        match created {
            Ok(r) => return Ok(r.into_inner().revision),
            Err(e)
                if matches!(e.code(), tonic::Code::Unavailable | tonic::Code::Aborted)
                    && std::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// A channel to a node (unsigned).
pub async fn channel(node: &Running) -> Result<Channel, tonic::transport::Error> {
    channel_at(node.client_addr).await
}

/// A channel to the node whose client port is `addr` (unsigned).
pub async fn channel_at(addr: SocketAddr) -> Result<Channel, tonic::transport::Error> {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .connect()
        .await
}

/// A channel that signs with `creds`.
pub async fn signed(
    node: &Running,
    creds: &SigningCredentials,
) -> Result<Signed, tonic::transport::Error> {
    signed_at(node.client_addr, creds).await
}

/// A channel that signs with `creds`, to the node whose client port is `addr` (a node in
/// another process, say).
pub async fn signed_at(
    addr: SocketAddr,
    creds: &SigningCredentials,
) -> Result<Signed, tonic::transport::Error> {
    let ch = channel_at(addr).await?;
    Ok(tower::ServiceBuilder::new()
        .layer(SigV4Layer::new(creds.clone()).with_host(addr.to_string()))
        .service(ch))
}

/// `node`'s health as `grpc.health.v1.Health/Check` reports it for `service` (`""`: the
/// whole node, as a Kubernetes probe asks), unsigned.
pub async fn health(
    node: &Running,
    service: &str,
) -> Result<tonic_health::pb::health_check_response::ServingStatus, tonic::Status> {
    let ch = channel(node)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let answer = tonic_health::pb::health_client::HealthClient::new(ch)
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await?
        .into_inner();
    tonic_health::pb::health_check_response::ServingStatus::try_from(answer.status)
        .map_err(|e| tonic::Status::internal(e.to_string()))
}

/// The management client of `creds`.
pub async fn iam(
    node: &Running,
    creds: &SigningCredentials,
) -> Result<IamClient<Signed>, tonic::transport::Error> {
    Ok(IamClient::new(signed(node, creds).await?))
}

/// The authorization client of `creds`.
pub async fn authz(
    node: &Running,
    creds: &SigningCredentials,
) -> Result<AuthorizationClient<Signed>, tonic::transport::Error> {
    Ok(AuthorizationClient::new(signed(node, creds).await?))
}

/// The cluster client of `creds`.
pub async fn cluster(
    node: &Running,
    creds: &SigningCredentials,
) -> Result<ClusterClient<Signed>, tonic::transport::Error> {
    Ok(ClusterClient::new(signed(node, creds).await?))
}

/// `node`'s `GetClusterStatus` answer.
pub async fn cluster_status(
    node: &Running,
    creds: &SigningCredentials,
) -> Result<iam_api::v1::GetClusterStatusResponse, tonic::Status> {
    let mut client = cluster(node, creds)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    client
        .get_cluster_status(iam_api::v1::GetClusterStatusRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

/// `n` distinct free loopback ports (bound and released; a node binds them again right
/// away).
pub fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    free_ports_on(Ipv4Addr::LOCALHOST, n)
}

/// `n` free ports on `ip`, distinct from each other and from every port this process was
/// handed before.
///
/// The OS may hand out a released port again on the very next bind: picking ports one at a
/// time once gave two members of a test cluster one address, and its leader replicated to
/// itself. So all `n` stay bound until all are picked, and no port is handed out twice.
pub fn free_ports_on(ip: Ipv4Addr, n: usize) -> std::io::Result<Vec<u16>> {
    static HANDED_OUT: std::sync::Mutex<std::collections::BTreeSet<(Ipv4Addr, u16)>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let mut handed_out = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut held = Vec::new();
    let mut ports = Vec::with_capacity(n);
    while ports.len() < n {
        if held.len() >= n + 1_000 {
            return Err(std::io::Error::other("no fresh free port"));
        }
        let listener = std::net::TcpListener::bind((ip, 0))?;
        let port = listener.local_addr()?.port();
        if handed_out.insert((ip, port)) {
            ports.push(port);
        }
        held.push(listener);
    }
    Ok(ports)
}

/// A node's client and peer listen addresses on `ip`, on two fresh free ports.
fn free_listen_addrs(ip: Ipv4Addr) -> std::io::Result<(SocketAddr, SocketAddr)> {
    match free_ports_on(ip, 2)?[..] {
        [listen, peer] => Ok((SocketAddr::from((ip, listen)), SocketAddr::from((ip, peer)))),
        _ => Err(std::io::Error::other("no free ports")),
    }
}

/// Configurations of a new cluster with one node per directory: ids 1…n, free ports, the
/// same initial member list, and one cluster key shared by all (in the first directory).
pub fn cluster_configs(dirs: &[&Path]) -> std::io::Result<Vec<Config>> {
    let first = dirs
        .first()
        .ok_or_else(|| std::io::Error::other("no directory"))?;
    let key = first.join("shared-cluster.key");
    let hex =
        iam_sts::ClusterKey::generate_hex().map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::write(&key, hex)?;
    let ports = free_ports(2 * dirs.len())?;
    let (peers, listens) = ports.split_at(dirs.len());
    let members: std::collections::BTreeMap<u64, String> = (1u64..)
        .zip(peers)
        .map(|(id, p)| (id, format!("127.0.0.1:{p}")))
        .collect();
    let mut out = Vec::new();
    for (((id, dir), peer), listen) in (1u64..).zip(dirs).zip(peers).zip(listens) {
        let mut c = config(dir);
        c.node_id = id;
        c.listen = SocketAddr::from(([127, 0, 0, 1], *listen));
        c.peer_listen = SocketAddr::from(([127, 0, 0, 1], *peer));
        c.initial_members = members.clone();
        c.cluster_key_file = Some(key.clone());
        // Test machines are slow and shared: let reads wait longer for a lagging node.
        c.min_revision_wait_ms = 10_000;
        out.push(c);
    }
    Ok(out)
}

/// Configurations of a new cluster whose peer traffic goes through `net`, otherwise as
/// [`cluster_configs`]: node `i` listens (clients and peers) on [`proxy::node_ip`]`(i)`, so
/// its connections to peers leave from that address too, and every node knows its peers by
/// their proxies' addresses. Must be called inside the Tokio runtime.
pub async fn faulty_cluster_configs(
    dirs: &[&Path],
    net: &proxy::FaultNet,
) -> std::io::Result<Vec<Config>> {
    let mut configs = cluster_configs(dirs)?;
    let mut members = std::collections::BTreeMap::new();
    for c in &mut configs {
        let ip = proxy::node_ip(c.node_id)?;
        (c.listen, c.peer_listen) = free_listen_addrs(ip)?;
        let proxy = net.add_node(c.node_id, c.peer_listen).await?.to_string();
        c.advertise_peer = Some(proxy.clone());
        members.insert(c.node_id, proxy);
    }
    for c in &mut configs {
        c.initial_members = members.clone();
    }
    Ok(configs)
}

/// The revision a node has applied and a SHA-256 digest (hex) of its whole replicated state
/// as JSON, read together between two applies: nodes at the same revision with the same
/// digest hold identical states.
pub async fn state_digest(node: &Running) -> Result<(u64, String), String> {
    use iam_store::IamState;
    use iam_store::raft::StateMachineStore;
    use sha2::{Digest, Sha256};

    let read = node
        .node
        .raft
        .raft()
        .with_state_machine(|sm: &mut StateMachineStore<IamState>| {
            let applied = sm.last_applied().map(|id| id.index).unwrap_or_default();
            let json = serde_json::to_vec(sm.machine());
            Box::pin(async move { (applied, json) })
        })
        .await
        .map_err(|e| format!("state machine unavailable: {e}"))?;
    let (applied, json) = read;
    let json = json.map_err(|e| format!("state does not serialize: {e}"))?;
    let digest = Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((applied, digest))
}

/// The configuration of node `id` joining the cluster whose first configuration is
/// `first`: given the initial member list without itself (as a StatefulSet's later replicas
/// are), it waits to be added instead of forming a cluster of its own.
pub fn joiner_config(dir: &Path, id: u64, first: &Config) -> std::io::Result<Config> {
    let mut c = config(dir);
    c.node_id = id;
    c.initial_members = first.initial_members.clone();
    (c.listen, c.peer_listen) = free_listen_addrs(Ipv4Addr::LOCALHOST)?;
    c.cluster_key_file = first.cluster_key_file.clone();
    // Test machines are slow and shared: let reads wait longer for a lagging node.
    c.min_revision_wait_ms = 10_000;
    Ok(c)
}

/// Starts the nodes of a new cluster together (the first waits for a leader, which needs a
/// majority) and returns once every node applied the bootstrap account.
pub async fn start_all(configs: &[Config]) -> Result<Vec<Running>, StartError> {
    let starting: Vec<_> = configs
        .iter()
        .cloned()
        .map(|c| tokio::spawn(start(c)))
        .collect();
    let mut nodes = Vec::with_capacity(starting.len());
    for node in starting {
        nodes.push(
            node.await
                .map_err(|e| StartError(format!("start stopped: {e}")))??,
        );
    }
    // The initializing node returns once it bootstrapped the account; the others may still
    // be applying it, and authentication reads each node's own view: wait for all.
    let bootstrapped = nodes
        .iter()
        .map(|n| n.node.view.load().revision)
        .max()
        .unwrap_or(0);
    for node in &nodes {
        node.node
            .wait_revision(bootstrapped)
            .await
            .map_err(|e| StartError(format!("a node did not apply the bootstrap: {e}")))?;
    }
    // A node answers clients only once a leader confirmed a read index to it (its
    // readiness); a test that cuts a node off before that would see it refuse everything.
    for node in &nodes {
        let mut caught_up = node.node.caught_up.clone();
        let waited = tokio::time::timeout(
            std::time::Duration::from_secs(30),
            caught_up.wait_for(|c| *c),
        )
        .await;
        if !matches!(waited, Ok(Ok(_))) {
            return Err(StartError(format!(
                "node {} did not catch up with the cluster within 30 s",
                node.node.config.node_id
            )));
        }
    }
    Ok(nodes)
}

/// The nodes of a new cluster, each in its own temporary directory.
#[derive(Debug)]
pub struct TestCluster {
    /// The running nodes, in the order of their ids (1, 2, …).
    pub nodes: Vec<Running>,
    /// Their configurations (a stopped node restarts with its own).
    pub configs: Vec<Config>,
    /// The root credentials the initializing node wrote.
    pub root: SigningCredentials,
    /// The data directories, removed when dropped: keep them while the nodes run.
    pub dirs: Vec<tempfile::TempDir>,
}

/// Starts a new cluster of `n` nodes (see [`cluster_configs`]), each configuration first
/// passed to `adjust`.
pub async fn start_cluster(
    n: usize,
    mut adjust: impl FnMut(&mut Config),
) -> Result<TestCluster, String> {
    let dirs = (0..n)
        .map(|_| tempfile::tempdir())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let paths: Vec<&Path> = dirs.iter().map(tempfile::TempDir::path).collect();
    let mut configs = cluster_configs(&paths).map_err(|e| e.to_string())?;
    configs.iter_mut().for_each(&mut adjust);
    let nodes = start_all(&configs).await.map_err(|e| e.0)?;
    let root = root_credentials(&nodes).map_err(|e| e.to_string())?;
    Ok(TestCluster {
        nodes,
        configs,
        root,
        dirs,
    })
}

/// The index of the running node that leads, once one does (waiting at most `timeout`).
pub async fn leader(nodes: &[Running], timeout: std::time::Duration) -> Result<usize, String> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let leading = nodes.iter().position(|n| {
            let m = n.node.raft.metrics();
            m.leader == Some(m.node_id)
        });
        if let Some(i) = leading {
            return Ok(i);
        }
        if std::time::Instant::now() >= deadline {
            return Err("no leader among the running nodes".into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Whether user `name` of account 111111111111 is in `node`'s authorization view.
pub fn has_user(node: &Running, name: &str) -> bool {
    node.node
        .view
        .load()
        .principal_by_arn(&format!("arn:aws:iam::111111111111:user/{name}"))
        .is_some()
}

/// An `Authorize` request: may user `name` of account 111111111111 get itself
/// (`iam:GetUser` on its own ARN, as itself)?
pub fn get_user_as_itself(name: &str) -> iam_api::v1::AuthorizeRequest {
    let arn = format!("arn:aws:iam::111111111111:user/{name}");
    iam_api::v1::AuthorizeRequest {
        action: "iam:GetUser".into(),
        resource: arn.clone(),
        subject: Some(iam_api::v1::authorize_request::Subject::PrincipalArn(arn)),
        ..Default::default()
    }
}

/// Asks `node`, signed by `creds`, whether user `name` may get itself, once the node
/// applied `min_revision` ([`get_user_as_itself`]); the answer.
pub async fn authorize_as_itself(
    node: &Running,
    creds: &SigningCredentials,
    name: &str,
    min_revision: u64,
) -> Result<iam_api::v1::AuthorizeResponse, tonic::Status> {
    let mut client = authz(node, creds)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let request = iam_api::v1::AuthorizeRequest {
        min_revision,
        ..get_user_as_itself(name)
    };
    Ok(client.authorize(request).await?.into_inner())
}
