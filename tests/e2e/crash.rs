//! Three iamd nodes, each in a process of its own; the leader is killed with SIGKILL under
//! a continuous write load and restarted at once on its data, mostly before the others
//! have elected a new leader. Every acknowledged write is on every node afterwards, and
//! the restarted node never answers from a state older than one acknowledged before the
//! kill.
//!
//! The nodes are this test binary run again as a child (`crash_child_node`, ignored when
//! the suite runs), given its configuration in an environment variable: a SIGKILL leaves
//! nothing of it to clean up, as a real crash would.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd::config::Config;
use iamd_tests::signed_at;
use tokio::sync::Mutex;

/// The child's configuration (JSON), set by the parent.
const CHILD_CONFIG: &str = "IAMD_CRASH_CHILD_CONFIG";

/// A child: starts a node, says so on stdout, and serves until it is killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a node process of a_leader_killed_and_restarted_at_once_loses_no_acknowledged_write"]
async fn crash_child_node() {
    let config: Config = serde_json::from_str(&std::env::var(CHILD_CONFIG).unwrap()).unwrap();
    let node = iamd_tests::start(config).await.unwrap();
    let credentials = node
        .root_credentials
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    println!("READY {credentials}");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

/// A node process; killed when dropped, so a failing test leaves none behind.
struct NodeProcess {
    child: Child,
    /// Kept open: a child writing to a closed pipe would fail.
    _stdout: BufReader<ChildStdout>,
    client_addr: SocketAddr,
    /// The root credentials file, when this node wrote it.
    credentials: Option<String>,
}

impl NodeProcess {
    /// Starts a node process on `config` and waits until it serves.
    fn spawn(config: &Config) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child_node",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_CONFIG, serde_json::to_string(config).unwrap())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let ready = loop {
            let mut line = String::new();
            let read = stdout.read_line(&mut line).unwrap();
            assert!(read > 0, "the node process stopped before it served");
            // libtest may have printed the test's name on the same line.
            if let Some(at) = line.find("READY") {
                break line[at + 5..].trim().to_owned();
            }
        };
        Self {
            child,
            _stdout: stdout,
            client_addr: config.listen,
            credentials: (!ready.is_empty()).then_some(ready),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The leader's node id, as `addr` reports it once it knows one.
async fn leader_id(addr: SocketAddr, creds: &SigningCredentials) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut client =
            pb::cluster_client::ClusterClient::new(signed_at(addr, creds).await.unwrap());
        if let Ok(status) = client
            .get_cluster_status(pb::GetClusterStatusRequest::default())
            .await
        {
            if let Some(leader) = status.into_inner().leader_id {
                return leader;
            }
        }
        assert!(Instant::now() < deadline, "no leader known at {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether `addr` answers that user `name` exists, having applied `revision` first.
async fn has_user_at(
    addr: SocketAddr,
    creds: &SigningCredentials,
    name: &str,
    revision: u64,
) -> Result<bool, tonic::Status> {
    let mut client =
        pb::authorization_client::AuthorizationClient::new(signed_at(addr, creds).await.unwrap());
    let answer = client
        .authorize(pb::AuthorizeRequest {
            min_revision: revision,
            ..iamd_tests::get_user_as_itself(name)
        })
        .await?
        .into_inner();
    Ok(answer.principal_arn.ends_with(&format!(":user/{name}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_killed_and_restarted_at_once_loses_no_acknowledged_write() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<_> = dirs.iter().map(|d| d.path()).collect();
    let configs = iamd_tests::cluster_configs(&paths).unwrap();
    // The first member initializes the cluster and needs a majority: start the others too
    // before waiting for it.
    let spawning: Vec<_> = configs
        .iter()
        .cloned()
        .map(|c| std::thread::spawn(move || NodeProcess::spawn(&c)))
        .collect();
    let mut nodes: Vec<NodeProcess> = spawning.into_iter().map(|t| t.join().unwrap()).collect();
    let creds_file = nodes
        .iter()
        .find_map(|n| n.credentials.clone())
        .expect("the first member wrote the root credentials");
    let root = iamd_tests::read_credentials(std::path::Path::new(&creds_file)).unwrap();
    let addrs: Vec<SocketAddr> = nodes.iter().map(|n| n.client_addr).collect();

    let leader = leader_id(addrs[0], &root).await;
    let lead = usize::try_from(leader - 1).unwrap();
    let follower = (lead + 1) % 3;

    // --- a client writes through a follower (which forwards to the leader), without pause
    let acknowledged: Arc<Mutex<Vec<(String, u64)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (acknowledged, stop, root) =
            (Arc::clone(&acknowledged), Arc::clone(&stop), root.clone());
        let addr = addrs[follower];
        tokio::spawn(async move {
            let mut client = pb::iam_client::IamClient::new(signed_at(addr, &root).await.unwrap());
            let mut failed = 0usize;
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("crash-{n}");
                let created = client
                    .create_user(pb::CreateUserRequest {
                        user_name: name.clone(),
                        idempotency_key: format!("create-{name}"),
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(r) => acknowledged
                        .lock()
                        .await
                        .push((name, r.into_inner().revision)),
                    // The leader is down or an election is under way: not acknowledged.
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            failed
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;

    // --- SIGKILL the leader and start it again on its data at once
    let before = acknowledged.lock().await.last().map_or(0, |(_, r)| *r);
    let killed_at = Instant::now();
    nodes[lead].kill();
    let config = configs[lead].clone();
    nodes[lead] = tokio::task::spawn_blocking(move || NodeProcess::spawn(&config))
        .await
        .unwrap();
    let restarted_in = killed_at.elapsed();

    // --- it answers nothing older than what was acknowledged before the kill
    let mut authz = pb::authorization_client::AuthorizationClient::new(
        signed_at(addrs[lead], &root).await.unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        match authz
            .authorize(iamd_tests::get_user_as_itself("crash-0"))
            .await
        {
            Ok(answer) => break answer.into_inner(),
            Err(e) if e.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the restarted node does not answer: {e:?}"),
        }
    };
    assert!(
        first.revision >= before,
        "the restarted node answered at revision {} after {before} was acknowledged",
        first.revision
    );

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    let failed = writer.await.unwrap();
    let acknowledged = acknowledged.lock().await.clone();
    let last = acknowledged.last().map_or(0, |(_, r)| *r);
    assert!(
        acknowledged.iter().any(|(_, r)| *r > before),
        "writes resumed after the restart ({} acknowledged, {failed} failed)",
        acknowledged.len()
    );

    // --- every acknowledged write is on every node, the restarted one included
    for (i, addr) in addrs.iter().enumerate() {
        for (name, _) in &acknowledged {
            assert!(
                has_user_at(*addr, &root, name, last).await.unwrap(),
                "node {} lost acknowledged user {name}",
                i + 1
            );
        }
    }
    println!(
        "restarted in {restarted_in:?}; {} writes acknowledged ({failed} refused while the \
         leader was down), first answer of the restarted node at revision {} (>= {before})",
        acknowledged.len(),
        first.revision
    );
}
