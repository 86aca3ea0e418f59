//! Three real iamd nodes in one process, with real gRPC between them: writes on any node,
//! reads that demand a revision, and a leader that dies.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::{TestCluster, authz, get_user_as_itself, has_user, iam, leader, start_cluster};

async fn create_user_retrying(
    node: &Running,
    creds: &iam_api::signing::SigningCredentials,
    name: &str,
) -> u64 {
    iamd_tests::create_user_retrying(node, creds, name)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_on_any_node_are_read_everywhere_and_survive_the_leader() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |_| {}).await.unwrap();

    // --- every node has the bootstrap account's key and accepts writes
    for (i, node) in nodes.iter().enumerate() {
        create_user_retrying(node, &root, &format!("trader-{i}")).await;
    }

    // --- a write through a follower is visible on the third node for a reader that asks
    let leader = leader(&nodes, Duration::from_secs(10)).await.unwrap();
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let revision = create_user_retrying(&nodes[follower], &root, "alice").await;
    let answer = authz(&nodes[other], &root)
        .await
        .unwrap()
        .authorize(pb::AuthorizeRequest {
            action: "s3:GetObject".into(),
            resource: "arn:aws:s3:::firm-tick-data/2026/btc.parquet".into(),
            subject: Some(pb::authorize_request::Subject::PrincipalArn(
                "arn:aws:iam::111111111111:user/alice".into(),
            )),
            min_revision: revision,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.principal_arn, "arn:aws:iam::111111111111:user/alice",
        "alice exists there"
    );
    assert!(answer.revision >= revision);

    // --- the leader dies: the others elect a new one and writes resume
    let dead = nodes.remove(leader);
    let dead_config = dead.node.config.clone();
    dead.shutdown().await;
    let after = create_user_retrying(&nodes[0], &root, "bob").await;
    assert!(after > revision);

    // --- it comes back with its data and catches up
    let back = iamd_tests::start(dead_config).await.unwrap();
    back.node.wait_revision(after).await.unwrap();
    nodes.push(back);
    for node in &nodes {
        node.node.wait_revision(after).await.unwrap();
        assert!(has_user(node, "bob"));
        assert!(has_user(node, "alice"));
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retried_write_through_another_node_is_applied_once() {
    let TestCluster {
        nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |_| {}).await.unwrap();
    let leader = leader(&nodes, Duration::from_secs(10)).await.unwrap();
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);

    // --- the same CreateAccessKey, sent through two followers with one idempotency key
    let ask = || pb::CreateAccessKeyRequest {
        user_name: String::new(),
        idempotency_key: "root-key-2".into(),
    };
    let first = iam(&nodes[a], &root)
        .await
        .unwrap()
        .create_access_key(ask())
        .await
        .unwrap()
        .into_inner();
    let second = iam(&nodes[b], &root)
        .await
        .unwrap()
        .create_access_key(ask())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        first.revision, second.revision,
        "one application, one revision"
    );
    let (k1, k2) = (first.access_key.unwrap(), second.access_key.unwrap());
    assert_eq!(k1.access_key_id, k2.access_key_id);
    assert_eq!(
        k1.secret_access_key, k2.secret_access_key,
        "the retry answers the first result"
    );
    let keys = iam(&nodes[leader], &root)
        .await
        .unwrap()
        .list_access_keys(pb::ListAccessKeysRequest::default())
        .await
        .unwrap()
        .into_inner()
        .access_key_metadata;
    assert_eq!(keys.len(), 2, "the bootstrap key and one new key");
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_loses_no_acknowledged_write() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |_| {}).await.unwrap();
    // Readers ask one node, and on failure the next: with one node down at a time, a retry
    // on another node must always be served.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for r in 0..2usize {
        let mut clients = Vec::new();
        for node in &nodes {
            clients.push(authz(node, &root).await.unwrap());
        }
        let stop = std::sync::Arc::clone(&stop);
        readers.push(tokio::spawn(async move {
            let (mut served, mut unserved, mut retried) = (0usize, 0usize, 0usize);
            let mut n = r;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                n += 1;
                let mut ok = false;
                for attempt in 0..clients.len() {
                    let client = &mut clients[(n + attempt) % 3];
                    let call = client.authorize(pb::AuthorizeRequest {
                        action: "iam:ListUsers".into(),
                        resource: "arn:aws:iam::111111111111:user/".into(),
                        ..Default::default()
                    });
                    if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(3), call).await {
                        ok = true;
                        retried += usize::from(attempt > 0);
                        break;
                    }
                }
                if ok {
                    served += 1;
                } else {
                    unserved += 1;
                }
            }
            (served, unserved, retried)
        }));
    }
    let mut acknowledged = Vec::new();
    let mut last = 0;
    for round in 0..3 {
        // --- restart node `round` while writing through the others
        let config = nodes[round].node.config.clone();
        let stopped = nodes.remove(round);
        stopped.shutdown().await;
        for i in 0..5 {
            let name = format!("r{round}-{i}");
            let writer = &nodes[i % nodes.len()];
            last = create_user_retrying(writer, &root, &name).await;
            acknowledged.push(name);
        }
        let back = iamd_tests::start(config).await.unwrap();
        back.node.wait_revision(last).await.unwrap();
        nodes.insert(round, back);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        let (served, unserved, retried) = reader.await.unwrap();
        assert!(served > 20, "the readers ran: {served}");
        assert_eq!(unserved, 0, "a read failed on every node ({served} served)");
        assert!(
            retried > 0,
            "some reads met a restarting node and were retried"
        );
    }
    // --- every node has every acknowledged user
    for node in &nodes {
        node.node.wait_revision(last).await.unwrap();
        for name in &acknowledged {
            assert!(
                has_user(node, name),
                "{name} on node {}",
                node.node.config.node_id
            );
        }
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn followers_serve_linearizable_reads_and_a_lone_node_says_it_is_stale() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |c| {
        c.stale_after_ms = 1_000;
        c.min_revision_wait_ms = 2_000;
    })
    .await
    .unwrap();
    let leader = leader(&nodes, Duration::from_secs(10)).await.unwrap();
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let ask = |name: &str| pb::AuthorizeRequest {
        consistency: pb::Consistency::Linearizable as i32,
        ..get_user_as_itself(name)
    };

    // --- a write acknowledged by one follower is seen by a linearizable read on the other,
    // which asks the leader for a read index rather than trusting its own state
    nodes[follower]
        .node
        .wait_revision(nodes[leader].node.view.load().revision)
        .await
        .unwrap();
    create_user_retrying(&nodes[follower], &root, "carol").await;
    let answer = authz(&nodes[other], &root)
        .await
        .unwrap()
        .authorize(ask("carol"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.principal_arn, "arn:aws:iam::111111111111:user/carol");
    assert!(
        !answer.stale,
        "a node in contact with the leader is not stale"
    );
    let status = iamd_tests::cluster_status(&nodes[other], &root)
        .await
        .unwrap();
    assert!(!status.stale);
    assert!(status.millis_since_leader_contact.unwrap() < 1_000);

    // --- the two others die: the survivor refuses linearizable reads, and once the bound
    // passed its local answers and its status say they may be old
    let survivor = nodes.remove(other);
    for node in nodes {
        node.shutdown().await;
    }
    let refused = authz(&survivor, &root)
        .await
        .unwrap()
        .authorize(ask("carol"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let local = authz(&survivor, &root)
        .await
        .unwrap()
        .authorize(pb::AuthorizeRequest {
            consistency: pb::Consistency::Local as i32,
            ..ask("carol")
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(local.principal_arn, "arn:aws:iam::111111111111:user/carol");
    assert!(local.stale, "a node cut off from the leader says so");
    let status = iamd_tests::cluster_status(&survivor, &root).await.unwrap();
    assert!(status.stale);
    assert!(status.millis_since_leader_contact.unwrap_or(u64::MAX) >= 1_000);
    survivor.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_down_past_log_compaction_catches_up_by_snapshot() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |_| {}).await.unwrap();
    let leader = leader(&nodes, Duration::from_secs(10)).await.unwrap();

    // --- a follower goes down; the others write on and compact their logs past it
    let down_at = (leader + 1) % 3;
    let down = nodes.remove(down_at);
    let down_config = down.node.config.clone();
    let down_log = down.node.raft.metrics().last_log_index.unwrap();
    down.shutdown().await;
    let mut last = 0;
    for i in 0..30 {
        last = create_user_retrying(&nodes[i % 2], &root, &format!("late-{i}")).await;
    }
    for node in &nodes {
        node.node.wait_revision(last).await.unwrap();
        let raft = node.node.raft.raft();
        raft.trigger().snapshot().await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while node.node.raft.metrics().snapshot_index.unwrap_or(0) < last {
            assert!(Instant::now() < deadline, "no snapshot");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        raft.trigger().purge_log(last).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let purged = nodes
            .iter()
            .all(|n| n.node.raft.metrics().purged_index > Some(down_log + 1));
        if purged {
            break;
        }
        assert!(Instant::now() < deadline, "logs not purged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // --- it comes back: the entries it misses are gone, so it installs a snapshot
    let back = iamd_tests::start(down_config).await.unwrap();
    back.node.wait_revision(last).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = back.node.raft.metrics();
        if m.snapshot_index.unwrap_or(0) > down_log {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "caught up by snapshot: {m:?}, down at {down_log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for i in 0..30 {
        assert!(has_user(&back, &format!("late-{i}")), "late-{i}");
    }
    // It serves Authorize for users it learned from the snapshot, and takes writes.
    let answer = authz(&back, &root)
        .await
        .unwrap()
        .authorize(get_user_as_itself("late-29"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        answer.principal_arn,
        "arn:aws:iam::111111111111:user/late-29"
    );
    let after = create_user_retrying(&back, &root, "after-snapshot").await;
    nodes.push(back);
    for node in nodes {
        node.node.wait_revision(after).await.unwrap();
        node.shutdown().await;
    }
}

/// The first member waits for the others however long they take to start (a
/// StatefulSet's pods wait for volumes and images): it used to give up after 10 s, and its
/// process exited. Every initial member of a three-node cluster must have answered before
/// a new cluster forms: with one of them missing, an empty first member cannot tell a new
/// cluster from one whose data it lost (the missing one may hold what the cluster
/// committed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_member_waits_for_late_peers_then_bootstraps() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<&std::path::Path> = dirs.iter().map(|d| d.path()).collect();
    let configs = iamd_tests::cluster_configs(&paths).unwrap();
    let first = tokio::spawn(iamd_tests::start(configs[0].clone()));
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(!first.is_finished(), "node 1 must still wait: {first:?}");
    let second = iamd_tests::start(configs[1].clone()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        !first.is_finished(),
        "node 1 must wait for node 3 too: {first:?}"
    );
    assert!(
        !second.node.raft.is_admitted() && second.node.raft.metrics().leader.is_none(),
        "node 2 takes no part before node 3 answered"
    );
    let third = iamd_tests::start(configs[2].clone()).await.unwrap();
    let first = tokio::time::timeout(Duration::from_secs(30), first)
        .await
        .expect("node 1 started once every initial member was up")
        .unwrap()
        .unwrap();
    let creds = first.root_credentials.clone().expect("node 1 bootstrapped");
    assert!(creds.exists());
    assert!(second.root_credentials.is_none() && third.root_credentials.is_none());
    for node in [first, second, third] {
        node.shutdown().await;
    }
}

/// A stopping leader hands leadership over before it stops: another node leads while the
/// old one is still in its shutdown delay (without the hand-over, the others would elect a
/// leader only after its Raft stopped, an election timeout later), and a write through a
/// follower in that time is committed by the new leader.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopping_leader_hands_over_before_it_stops() {
    let TestCluster {
        mut nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |c| c.shutdown_delay_ms = 5_000)
        .await
        .unwrap();
    let old = leader(&nodes, Duration::from_secs(10)).await.unwrap();
    let old_id = nodes[old].node.raft.metrics().node_id;
    let stopping = tokio::spawn(nodes.remove(old).shutdown());

    let deadline = Instant::now() + Duration::from_secs(20);
    let new = loop {
        let leaders: Vec<u64> = nodes
            .iter()
            .filter_map(|n| n.node.raft.metrics().leader)
            .filter(|&l| l != old_id)
            .collect();
        if let Some(&l) = leaders.first() {
            break l;
        }
        assert!(Instant::now() < deadline, "no new leader");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        !stopping.is_finished(),
        "node {new} led only after the old leader had stopped: no hand-over"
    );
    let follower = nodes
        .iter()
        .find(|n| n.node.raft.metrics().node_id != new)
        .unwrap();
    create_user_retrying(follower, &root, "written-during-the-hand-over").await;
    assert!(
        !stopping.is_finished(),
        "the write was made before the old leader stopped"
    );
    stopping.await.unwrap();
    for node in &nodes {
        assert_eq!(node.node.raft.metrics().leader, Some(new));
    }
}
