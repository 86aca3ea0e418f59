//! Three real iamd nodes whose peer links run through a fault proxy: the leader is cut off
//! from the two others while clients keep writing and reading a register on every node.
//! The cut-off node refuses writes and linearizable reads, the majority carries on, all
//! nodes converge to one state after healing, and the clients' history is linearizable.
//! A follower cut off alone refuses the same, says its local answers are stale, and
//! catches up after healing. A node restarted while cut off answers nothing from its own,
//! older state until it has caught up with the cluster. With a link cut one way (the leader cannot reach a follower
//! that can still reach it), no acknowledged write is lost and no linearizable read goes
//! back in time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::linearizability;
use iamd_tests::proxy::FaultNet;
use iamd_tests::register::{Outcome, Recorder, Register, Workload};
use iamd_tests::{authz, has_user, iam, state_digest};
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

/// How long a workload client waits for one answer.
const OP_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a spot check waits for one answer.
const SPOT_TIMEOUT: Duration = Duration::from_secs(5);
/// The codes of a refused or timed-out call.
const REFUSED: [Code; 3] = [Code::Unavailable, Code::DeadlineExceeded, Code::Cancelled];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_leader_refuses_the_majority_goes_on_and_all_converge() {
    let started = Instant::now();
    let Cluster {
        net,
        nodes,
        root,
        _dirs,
    } = Cluster::start().await;
    let old = leader(&nodes, &[0, 1, 2], Duration::from_secs(10)).await;
    let majority: Vec<usize> = (0..3).filter(|&i| i != old).collect();
    let (register, created) = Register::create(&mut iam(&nodes[old], &root).await.unwrap(), 0)
        .await
        .unwrap();
    for node in &nodes {
        node.node.wait_revision(created).await.unwrap();
    }

    // --- clients write and read the register through every node
    let recorder = Recorder::new();
    let workload = Workload::start(&nodes, &root, &register, &recorder, OP_TIMEOUT)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    // --- the leader is cut off from the two others; they elect a new leader
    let old_id = id(&nodes[old]);
    let cut_at = recorder.now();
    net.isolate(old_id);
    let new = leader(&nodes, &majority, Duration::from_secs(10)).await;
    let elected_at = recorder.now();
    tracing::info!(old_id, new_id = id(&nodes[new]), "new leader");

    // --- the cut-off node refuses a write and a linearizable read
    let refused = create_user(&nodes[old], &root, "written-in-minority").await;
    assert_refused(&refused, "the cut-off node refuses the write");
    let refused = authorize_linearizable(&nodes[old], &root, "register").await;
    assert_refused(&refused, "the cut-off node refuses a linearizable read");

    // --- the majority accepts a write through a follower and a linearizable read
    let follower = majority.iter().copied().find(|&i| i != new).unwrap();
    create_user(&nodes[follower], &root, "written-in-majority")
        .await
        .unwrap();
    let answer = authorize_linearizable(&nodes[new], &root, "written-in-majority")
        .await
        .unwrap();
    assert_eq!(
        answer.principal_arn, "arn:aws:iam::111111111111:user/written-in-majority",
        "the new leader reads the write"
    );

    // --- healed: the old node takes writes again and every node converges
    let healed_at = recorder.now();
    net.heal();
    create_user(&nodes[old], &root, "written-after-healing")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let entries = workload.stop().await.unwrap();
    assert!(
        !entries.iter().any(|e| e.outcome == Outcome::TornRead),
        "a read did not spell one value"
    );
    let (revision, digest) = converge(&nodes, Duration::from_secs(20)).await;
    tracing::info!(revision, digest, "converged");
    for node in &nodes {
        let has = |name: &str| has_user(node, name);
        assert!(has("written-in-majority") && has("written-after-healing"));
        assert!(!has("written-in-minority"), "the refused write is gone");
    }

    // --- the cut-off node acknowledged nothing once the majority had moved on
    let served_cut_off = entries
        .iter()
        .filter(|e| e.node == old_id && e.call >= elected_at && e.ret <= healed_at)
        .filter(|e| matches!(e.outcome, Outcome::Wrote(_) | Outcome::Read(_)))
        .count();
    assert_eq!(
        served_cut_off, 0,
        "operations the cut-off node acknowledged"
    );

    // --- the history the clients saw is linearizable, and not trivially so
    let count = |during: &dyn Fn(u64) -> bool, ok: &dyn Fn(&Outcome) -> bool| {
        entries
            .iter()
            .filter(|e| during(e.call) && ok(&e.outcome))
            .count()
    };
    let reads = |o: &Outcome| matches!(o, Outcome::Read(_));
    let writes = |o: &Outcome| matches!(o, Outcome::Wrote(_));
    let unknown = |o: &Outcome| matches!(o, Outcome::WriteFailed(..));
    let partitioned = |t: u64| t >= cut_at && t < healed_at;
    let always = |_: u64| true;
    tracing::info!(
        ops = entries.len(),
        reads = count(&always, &reads),
        writes = count(&always, &writes),
        unknown_writes = count(&always, &unknown),
        partitioned_reads = count(&partitioned, &reads),
        partitioned_writes = count(&partitioned, &writes),
        "history"
    );
    assert!(count(&always, &reads) >= 10 && count(&always, &writes) >= 10);
    assert!(
        count(&partitioned, &reads) >= 1 && count(&partitioned, &writes) >= 1,
        "the majority served the clients during the partition"
    );
    if let Err(violation) = linearizability::check(0, &recorder.history()) {
        panic!("{violation}\n{entries:#?}");
    }

    for node in nodes {
        node.shutdown().await;
    }
    tracing::info!(elapsed = ?started.elapsed(), "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_off_leader_answers_a_write_instead_of_holding_it() {
    let Cluster {
        net,
        nodes,
        root,
        _dirs,
    } = Cluster::start().await;
    let old = leader(&nodes, &[0, 1, 2], Duration::from_secs(10)).await;
    let mut client = iam(&nodes[old], &root).await.unwrap();

    // --- cut off, the leader gets a write while it still believes it leads
    net.isolate(id(&nodes[old]));
    let sent = Instant::now();
    // No deadline from the client: only the node can end the wait.
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        client.create_user(pb::CreateUserRequest {
            user_name: "held".into(),
            idempotency_key: "create-held".into(),
            ..Default::default()
        }),
    )
    .await;
    let waited = sent.elapsed();
    let answer = answer
        .unwrap_or_else(|_| panic!("no answer in {waited:?}: the write is held while cut off"));
    assert_eq!(
        answer.unwrap_err().code(),
        Code::Unavailable,
        "retry elsewhere"
    );

    // --- healed: the write the old leader gave up on was never applied
    net.heal();
    create_user(&nodes[old], &root, "after-healing")
        .await
        .unwrap();
    converge(&nodes, Duration::from_secs(20)).await;
    for node in &nodes {
        assert!(!has_user(node, "held"));
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_off_follower_refuses_says_it_is_stale_and_catches_up_after_healing() {
    let Cluster {
        net,
        nodes,
        root,
        _dirs,
    } = Cluster::start().await;
    let (lead, cut, other) = roles(&nodes).await;
    create_user(&nodes[lead], &root, "before-the-cut")
        .await
        .unwrap();
    converge(&nodes, Duration::from_secs(10)).await;

    // --- one follower is cut off; the leader and the other follower go on
    net.isolate(id(&nodes[cut]));
    let during = create_user(&nodes[other], &root, "written-while-cut")
        .await
        .unwrap();
    nodes[lead].node.wait_revision(during).await.unwrap();
    let answer = authorize_linearizable(&nodes[other], &root, "written-while-cut")
        .await
        .unwrap();
    assert_eq!(
        answer.principal_arn,
        "arn:aws:iam::111111111111:user/written-while-cut"
    );
    assert_eq!(
        nodes[lead].node.raft.metrics().leader,
        Some(id(&nodes[lead])),
        "a follower's loss does not disturb the leader"
    );

    // --- the cut-off follower refuses writes and linearizable reads
    let refused = create_user(&nodes[cut], &root, "written-on-the-cut-follower").await;
    assert_refused(&refused, "the cut-off follower refuses the write");
    let refused = authorize_linearizable(&nodes[cut], &root, "before-the-cut").await;
    assert_refused(&refused, "the cut-off follower refuses a linearizable read");

    // --- its local reads go on from memory, saying they are stale once past the bound
    let deadline = Instant::now() + Duration::from_secs(15);
    let local = loop {
        let answer = authorize_local(&nodes[cut], &root, "before-the-cut")
            .await
            .unwrap();
        if answer.stale || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(local.stale, "a follower cut off from the leader says so");
    assert_eq!(
        local.principal_arn,
        "arn:aws:iam::111111111111:user/before-the-cut"
    );
    let fresh = authorize_local(&nodes[other], &root, "written-while-cut")
        .await
        .unwrap();
    assert!(!fresh.stale, "a follower in contact is not stale");

    // --- healed: it catches up, takes writes again, and every node holds one state
    net.heal();
    create_user(&nodes[cut], &root, "written-after-healing")
        .await
        .unwrap();
    converge(&nodes, Duration::from_secs(20)).await;
    for node in &nodes {
        let has = |name: &str| has_user(node, name);
        assert!(has("before-the-cut") && has("written-while-cut") && has("written-after-healing"));
        assert!(
            !has("written-on-the-cut-follower"),
            "the refused write is gone"
        );
    }
    let caught_up = authorize_local(&nodes[cut], &root, "written-while-cut")
        .await
        .unwrap();
    assert!(!caught_up.stale, "in contact again");
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restarted_behind_a_cut_serves_nothing_until_it_has_caught_up() {
    let Cluster {
        net,
        mut nodes,
        root,
        _dirs,
    } = Cluster::start().await;
    let (lead, down, _) = roles(&nodes).await;
    let (lead_id, down_id) = (id(&nodes[lead]), id(&nodes[down]));
    create_user(&nodes[lead], &root, "before-the-restart")
        .await
        .unwrap();
    converge(&nodes, Duration::from_secs(10)).await;

    // --- one follower stops; a write is committed without it
    let stopped = nodes.remove(down);
    let config = stopped.node.config.clone();
    stopped.shutdown().await;
    let lead = nodes.iter().position(|n| id(n) == lead_id).unwrap();
    let missed = create_user(&nodes[lead], &root, "written-while-down")
        .await
        .unwrap();

    // --- it restarts cut off from the others: its own state is older than the cluster's
    net.isolate(down_id);
    let restarted = iamd_tests::start(config).await.unwrap();
    assert!(
        restarted.node.view.load().revision < missed,
        "the restarted node replayed only its own log"
    );
    let refused = authorize_local(&restarted, &root, "before-the-restart").await;
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.code() == Code::Unavailable && e.message().contains("caught up")),
        "a node that has not caught up answers nothing from its older state: {refused:?}"
    );
    assert_eq!(
        iamd_tests::health(&restarted, "").await.unwrap(),
        ServingStatus::NotServing,
        "a readiness probe keeps traffic away from it"
    );

    // --- healed: it catches up first, then answers from the cluster's state
    net.heal();
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        match authorize_local(&restarted, &root, "written-while-down").await {
            Ok(answer) => break answer,
            Err(e) if e.code() == Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the healed node still refuses: {e:?}"),
        }
    };
    assert!(answer.revision >= missed, "{answer:?}");
    assert_eq!(
        answer.principal_arn,
        "arn:aws:iam::111111111111:user/written-while-down"
    );
    assert_eq!(
        iamd_tests::health(&restarted, "").await.unwrap(),
        ServingStatus::Serving
    );

    nodes.push(restarted);
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_cut_one_way_loses_no_acknowledged_write_and_no_linearizable_read_goes_back() {
    let Cluster {
        net,
        nodes,
        root,
        _dirs,
    } = Cluster::start().await;
    let (lead, cut, other) = roles(&nodes).await;

    // --- the leader can no longer reach one follower, which can still reach the leader
    net.cut_one_way(id(&nodes[lead]), id(&nodes[cut]));
    let mut acknowledged = Vec::new();
    let cut_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < cut_until {
        let name = format!("one-way-{}", acknowledged.len());
        let through = [lead, other][acknowledged.len() % 2];
        create_user(&nodes[through], &root, &name).await.unwrap();
        // A linearizable read sees every write acknowledged before it began.
        for &at in &[lead, other] {
            let answer = authorize_linearizable(&nodes[at], &root, &name)
                .await
                .unwrap();
            assert_eq!(answer.principal_arn, arn(&name), "node {}", id(&nodes[at]));
        }
        acknowledged.push(name);
    }
    // The cut follower answers a linearizable read only with the writes acknowledged before
    // it, or refuses; a write through it is applied or refused, never lost.
    let last = acknowledged.last().unwrap().clone();
    match authorize_linearizable(&nodes[cut], &root, &last).await {
        Ok(answer) => assert_eq!(answer.principal_arn, arn(&last)),
        Err(status) => assert!(REFUSED.contains(&status.code()), "{status:?}"),
    }
    match create_user(&nodes[cut], &root, "through-the-cut-follower").await {
        Ok(_) => acknowledged.push("through-the-cut-follower".into()),
        Err(status) => assert!(REFUSED.contains(&status.code()), "{status:?}"),
    }
    assert!(
        acknowledged.len() >= 5,
        "the leader's side kept taking writes: {acknowledged:?}"
    );

    // --- healed: every acknowledged write is on every node, and they hold one state
    net.heal();
    create_user(&nodes[cut], &root, "after-healing")
        .await
        .unwrap();
    converge(&nodes, Duration::from_secs(20)).await;
    for node in &nodes {
        for name in acknowledged
            .iter()
            .map(String::as_str)
            .chain(["after-healing"])
        {
            assert!(has_user(node, name), "{name} missing on node {}", id(node));
        }
    }
    for node in nodes {
        node.shutdown().await;
    }
}

/// Three nodes whose peer links run through a fault proxy.
struct Cluster {
    net: FaultNet,
    nodes: Vec<Running>,
    root: SigningCredentials,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    async fn start() -> Self {
        let net = FaultNet::new();
        let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let paths: Vec<&std::path::Path> = dirs.iter().map(|d| d.path()).collect();
        let mut configs = iamd_tests::faulty_cluster_configs(&paths, &net)
            .await
            .unwrap();
        for c in &mut configs {
            // A cut-off node gives up on a linearizable read within this bound.
            c.min_revision_wait_ms = 2_000;
        }
        let nodes = iamd_tests::start_all(&configs).await.unwrap();
        let root = iamd_tests::root_credentials(&nodes).unwrap();
        Cluster {
            net,
            nodes,
            root,
            _dirs: dirs,
        }
    }
}

fn id(node: &Running) -> u64 {
    node.node.config.node_id
}

/// The indexes of the agreed leader, of the follower a test cuts off and of the other one.
async fn roles(nodes: &[Running]) -> (usize, usize, usize) {
    let lead = leader(nodes, &[0, 1, 2], Duration::from_secs(10)).await;
    let mut followers = (0..3).filter(|&i| i != lead);
    (lead, followers.next().unwrap(), followers.next().unwrap())
}

/// The index of the node among `among` that they all know as their leader, once they agree.
async fn leader(nodes: &[Running], among: &[usize], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let known: Vec<Option<u64>> = among
            .iter()
            .map(|&i| nodes[i].node.raft.metrics().leader)
            .collect();
        if let Some(Some(leader)) = known.first()
            && known.iter().all(|k| *k == Some(*leader))
            && let Some(&i) = among.iter().find(|&&i| id(&nodes[i]) == *leader)
        {
            return i;
        }
        assert!(Instant::now() < deadline, "no agreed leader: {known:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Creates a user through `node`, retrying while no leader is reachable (a new leader's
/// first moments), within [`SPOT_TIMEOUT`] in all.
async fn create_user(
    node: &Running,
    root: &SigningCredentials,
    name: &str,
) -> Result<u64, tonic::Status> {
    let deadline = Instant::now() + SPOT_TIMEOUT;
    let mut client = iam(node, root).await.unwrap();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let mut request = tonic::Request::new(pb::CreateUserRequest {
            user_name: name.into(),
            idempotency_key: format!("create-{name}"),
            ..Default::default()
        });
        request.set_timeout(left);
        let answer = tokio::time::timeout(left, client.create_user(request))
            .await
            .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("client timeout")));
        match answer {
            Ok(answer) => return Ok(answer.into_inner().revision),
            Err(e) if e.code() == Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Fails the test unless `result` is a refusal or a timeout (one of [`REFUSED`]).
fn assert_refused<T: std::fmt::Debug>(result: &Result<T, tonic::Status>, what: &str) {
    assert!(
        result
            .as_ref()
            .is_err_and(|status| REFUSED.contains(&status.code())),
        "{what}: {result:?}"
    );
}

/// Asks `node`, with a LINEARIZABLE read, whether `user` may read its own register.
async fn authorize_linearizable(
    node: &Running,
    root: &SigningCredentials,
    user: &str,
) -> Result<pb::AuthorizeResponse, tonic::Status> {
    authorize(node, root, user, pb::Consistency::Linearizable).await
}

/// Asks `node`, from its memory (the default consistency), whether `user` may read its own
/// register.
async fn authorize_local(
    node: &Running,
    root: &SigningCredentials,
    user: &str,
) -> Result<pb::AuthorizeResponse, tonic::Status> {
    authorize(node, root, user, pb::Consistency::Local).await
}

async fn authorize(
    node: &Running,
    root: &SigningCredentials,
    user: &str,
    consistency: pb::Consistency,
) -> Result<pb::AuthorizeResponse, tonic::Status> {
    let mut request = tonic::Request::new(pb::AuthorizeRequest {
        action: "register:Read".into(),
        resource: "arn:aws:register:::d0/0".into(),
        subject: Some(pb::authorize_request::Subject::PrincipalArn(format!(
            "arn:aws:iam::111111111111:user/{user}"
        ))),
        consistency: consistency.into(),
        ..Default::default()
    });
    request.set_timeout(SPOT_TIMEOUT);
    let mut client = authz(node, root).await.unwrap();
    tokio::time::timeout(SPOT_TIMEOUT, client.authorize(request))
        .await
        .unwrap_or_else(|_| Err(tonic::Status::deadline_exceeded("client timeout")))
        .map(tonic::Response::into_inner)
}

/// The ARN of user `name` in the test account.
fn arn(name: &str) -> String {
    format!("arn:aws:iam::111111111111:user/{name}")
}

/// Waits until every node applied the same revision and holds the same state there;
/// returns both. Nodes at one revision with different states fail the test at once.
async fn converge(nodes: &[Running], timeout: Duration) -> (u64, String) {
    let deadline = Instant::now() + timeout;
    loop {
        let mut states = Vec::new();
        for node in nodes {
            states.push(state_digest(node).await.unwrap());
        }
        let (revision, digest) = states[0].clone();
        if states.iter().all(|(r, _)| *r == revision) {
            assert!(
                states.iter().all(|(_, d)| *d == digest),
                "diverged at revision {revision}: {states:?}"
            );
            return (revision, digest);
        }
        assert!(Instant::now() < deadline, "not converged: {states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
