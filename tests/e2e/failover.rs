//! Five real iamd nodes under a continuous write and authorize load on every node; the
//! leader is killed, then the next leader: the cluster goes on with three, every
//! acknowledged write is on every survivor, and no node ever answered a client from a state
//! older than a revision it had already acknowledged to that client; the recorded history of
//! a register written and read linearizably on every node is checked for linearizability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::linearizability;
use iamd_tests::register::{Outcome, Recorder, Register, Workload};
use iamd_tests::{TestCluster, authz, get_user_as_itself, has_user, iam};

/// What one client saw of one node.
#[derive(Debug, Default)]
struct Seen {
    /// Users whose creation the node acknowledged, with the revision and when.
    acknowledged: Vec<(String, u64, Instant)>,
    /// Answers older than a revision the node had acknowledged before: (had, answered).
    regressions: Vec<(u64, u64)>,
    /// Calls that failed (the node was killed, or an election was under way).
    failed: usize,
    reads: usize,
}

async fn leader_of(nodes: &[Running]) -> usize {
    iamd_tests::leader(nodes, Duration::from_secs(20))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_nodes_lose_two_leaders_under_load_and_lose_nothing() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = iamd_tests::start_cluster(5, |_| {}).await.unwrap();

    // --- a register (a user's tags) written and read linearizably on every node, recorded
    let lead = leader_of(&nodes).await;
    let (register, _) = Register::create(&mut iam(&nodes[lead], &root).await.unwrap(), 0)
        .await
        .unwrap();
    let recorder = Recorder::new();
    let workload = Workload::start(&nodes, &root, &register, &recorder, Duration::from_secs(2))
        .await
        .unwrap();

    // --- one client per node: create a user, then authorize as it, without pause
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let mut writer = iam(node, &root).await.unwrap();
        let mut reader = authz(node, &root).await.unwrap();
        let stop = Arc::clone(&stop);
        clients.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            let mut high = 0u64;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let name = format!("n{i}-{n}");
                let created = writer
                    .create_user(pb::CreateUserRequest {
                        user_name: name.clone(),
                        idempotency_key: name.clone(),
                        ..Default::default()
                    })
                    .await;
                match created {
                    Ok(r) => {
                        let revision = r.into_inner().revision;
                        if revision < high {
                            seen.regressions.push((high, revision));
                        }
                        high = high.max(revision);
                        seen.acknowledged
                            .push((name.clone(), revision, Instant::now()));
                    }
                    Err(_) => {
                        seen.failed += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    }
                }
                let answer = reader.authorize(get_user_as_itself(&name)).await;
                match answer {
                    Ok(a) => {
                        let a = a.into_inner();
                        seen.reads += 1;
                        if a.revision < high || a.principal_arn.is_empty() {
                            seen.regressions.push((high, a.revision));
                        }
                        high = high.max(a.revision);
                    }
                    Err(_) => seen.failed += 1,
                }
            }
            seen
        }));
    }

    // --- kill the leader, let the load run on, kill the next leader
    let mut killed = Vec::new();
    let mut second_kill = Instant::now();
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let leader = leader_of(&nodes).await;
        let dead = nodes.remove(leader);
        killed.push(dead.node.config.node_id);
        dead.shutdown().await;
        second_kill = Instant::now();
    }
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    stop.store(true, Ordering::Relaxed);
    let entries = workload.stop().await.unwrap();
    assert!(!entries.iter().any(|e| e.outcome == Outcome::TornRead));
    let history = recorder.history();
    assert!(
        history.len() > 50,
        "the register load ran: {}",
        history.len()
    );
    if let Err(violation) = linearizability::check(0, &history) {
        panic!("the register's history is not linearizable: {violation:?}");
    }
    let mut seen = Vec::new();
    for c in clients {
        seen.push(c.await.unwrap());
    }

    // --- the three survivors have elected a leader and hold every acknowledged write
    leader_of(&nodes).await;
    let last = seen
        .iter()
        .flat_map(|s| s.acknowledged.iter().map(|(_, r, _)| *r))
        .max()
        .unwrap();
    let acknowledged: usize = seen.iter().map(|s| s.acknowledged.len()).sum();
    let reads: usize = seen.iter().map(|s| s.reads).sum();
    assert!(acknowledged > 20, "the load ran: {acknowledged} writes");
    assert!(reads > 20, "the load ran: {reads} reads");
    for (i, s) in seen.iter().enumerate() {
        assert!(
            s.regressions.is_empty(),
            "node {} answered client {i} from an older state than it had acknowledged: {:?}",
            i + 1,
            s.regressions
        );
    }
    for node in &nodes {
        node.node.wait_revision(last).await.unwrap();
        for s in &seen {
            for (name, _, _) in &s.acknowledged {
                assert!(
                    has_user(node, name),
                    "{name} acknowledged but missing on node {}",
                    node.node.config.node_id
                );
            }
        }
    }
    // Writes resumed after the second kill, on nodes that were never killed.
    let resumed = seen
        .iter()
        .flat_map(|s| s.acknowledged.iter())
        .filter(|(_, _, at)| *at > second_kill)
        .count();
    assert!(resumed > 0, "no write acknowledged after the second kill");
    assert!(!killed.is_empty());
    for node in nodes {
        node.shutdown().await;
    }
}
