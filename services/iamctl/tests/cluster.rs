//! `iamctl cluster …` against real iamd nodes started in this process: the built binary
//! reads the status, grows the cluster with a learner it then promotes, hands leadership to
//! the new node, removes another, and is told where the leader is when it asks a follower.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::iamctl;
use iamd::server::Running;
use serde_json::Value;

/// Runs iamctl until it succeeds, while the cluster answers it is busy (another change, an
/// election) for at most 30 s.
async fn ok(node: &Running, credentials: &Path, args: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let run = iamctl(node, credentials, args).await;
        if run.code == 0 {
            return run.json;
        }
        let busy = run.stderr.contains("(Unavailable)") || run.stderr.contains("(Aborted)");
        if !busy || Instant::now() >= deadline {
            panic!("iamctl {args:?} failed: {run:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn ids(nodes: &Value) -> BTreeSet<u64> {
    nodes
        .as_array()
        .map(|list| list.iter().map(|n| n["NodeId"].as_u64().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn iamctl_changes_the_membership_of_a_running_cluster() {
    let dirs: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<&Path> = dirs.iter().take(3).map(|d| d.path()).collect();
    let configs = iamd_tests::cluster_configs(&paths).unwrap();
    let mut nodes = iamd_tests::start_all(&configs).await.unwrap();
    let creds: PathBuf = nodes
        .iter()
        .find_map(|n| n.root_credentials.clone())
        .unwrap();
    let first = nodes[iamd_tests::leader(&nodes, Duration::from_secs(10))
        .await
        .unwrap()]
    .node
    .config
    .node_id;
    let at = |nodes: &[Running], id: u64| -> usize {
        nodes
            .iter()
            .position(|n| n.node.config.node_id == id)
            .unwrap()
    };

    // --- status on the leader: three voters, replication to the two others
    let status = ok(&nodes[at(&nodes, first)], &creds, &["cluster", "status"]).await;
    assert_eq!(status["NodeId"], first, "{status}");
    assert_eq!(status["Role"], "Leader", "{status}");
    assert_eq!(status["LeaderId"], first, "{status}");
    assert_eq!(
        ids(&status["Membership"]["Voters"]),
        BTreeSet::from([1, 2, 3])
    );
    // Progress of every other member (iamd lists the leader itself too).
    let others: BTreeSet<u64> = [1, 2, 3].into_iter().filter(|&id| id != first).collect();
    assert!(ids(&status["Replication"]).is_superset(&others), "{status}");
    assert_eq!(status["Stale"], false);
    for field in ["Term", "LastLogIndex", "AppliedIndex", "SnapshotIndex"] {
        assert!(status[field].is_u64(), "{field} in {status}");
    }
    let table = iamctl(
        &nodes[at(&nodes, first)],
        &creds,
        &["cluster", "status", "--output", "table"],
    )
    .await;
    assert_eq!(table.code, 0, "{table:?}");
    assert!(
        table.stdout.contains("Membership.Voters.2.Address") && table.stdout.contains("Lag"),
        "{}",
        table.stdout
    );

    // --- a fourth node joins as a learner, catches up, and is promoted
    let fourth =
        iamd_tests::start(iamd_tests::joiner_config(dirs[3].path(), 4, &configs[0]).unwrap())
            .await
            .unwrap();
    let fourth_peer = fourth.peer_addr.to_string();
    nodes.push(fourth);
    let added = ok(
        &nodes[at(&nodes, first)],
        &creds,
        &[
            "cluster",
            "add-learner",
            "--node-id",
            "4",
            "--address",
            &fourth_peer,
            "--wait-for-catch-up",
            "--idempotency-key",
            "learner-4",
        ],
    )
    .await;
    assert_eq!(
        ids(&added["Membership"]["Learners"]),
        BTreeSet::from([4]),
        "{added}"
    );
    assert!(added["Revision"].as_u64().unwrap() > 0, "{added}");

    let taken = iamctl(
        &nodes[at(&nodes, first)],
        &creds,
        &[
            "cluster",
            "add-learner",
            "--node-id",
            "5",
            "--address",
            &fourth_peer,
        ],
    )
    .await;
    assert_ne!(taken.code, 0, "{taken:?}");
    assert!(
        taken.stderr.contains(&format!(
            "the address `{fourth_peer}` belongs to node 4 already"
        )),
        "{taken:?}"
    );

    let stranger = iamctl(
        &nodes[at(&nodes, first)],
        &creds,
        &["cluster", "promote", "--node-id", "9"],
    )
    .await;
    assert_eq!(stranger.code, 252, "{stranger:?}");
    assert!(stranger.stderr.contains("not a learner"), "{stranger:?}");

    let promoted = ok(
        &nodes[at(&nodes, first)],
        &creds,
        &["cluster", "promote", "--node-id", "4"],
    )
    .await;
    assert_eq!(
        ids(&promoted["Membership"]["Voters"]),
        BTreeSet::from([1, 2, 3, 4]),
        "{promoted}"
    );
    let status = ok(&nodes[at(&nodes, first)], &creds, &["cluster", "status"]).await;
    assert_eq!(
        ids(&status["Membership"]["Voters"]),
        BTreeSet::from([1, 2, 3, 4]),
        "{status}"
    );

    // --- leadership moves to the new node
    let moved = ok(
        &nodes[at(&nodes, first)],
        &creds,
        &["cluster", "transfer-leader", "--to-node-id", "4"],
    )
    .await;
    assert_eq!(moved["LeaderId"], 4, "{moved}");
    let status = ok(&nodes[at(&nodes, 4)], &creds, &["cluster", "status"]).await;
    assert_eq!(status["Role"], "Leader", "{status}");
    assert_eq!(status["LeaderId"], 4, "{status}");
    assert_eq!(status["Address"], fourth_peer.as_str(), "{status}");

    // --- another node leaves: three voters again
    let gone = (1..=3).find(|&id| id != first).unwrap();
    let removed = ok(
        &nodes[at(&nodes, 4)],
        &creds,
        &["cluster", "remove-node", "--node-id", &gone.to_string()],
    )
    .await;
    let expected: BTreeSet<u64> = [1, 2, 3, 4].into_iter().filter(|&id| id != gone).collect();
    assert_eq!(ids(&removed["Membership"]["Voters"]), expected, "{removed}");
    let status = ok(&nodes[at(&nodes, 4)], &creds, &["cluster", "status"]).await;
    assert_eq!(ids(&status["Membership"]["Voters"]), expected, "{status}");
    assert!(
        ids(&status["Membership"]["Learners"]).is_empty(),
        "{status}"
    );
    nodes.remove(at(&nodes, gone)).shutdown().await;

    // --- a follower refuses membership changes and names the leader
    let follower = &nodes[at(&nodes, first)];
    let refused = iamctl(
        follower,
        &creds,
        &[
            "cluster",
            "transfer-leader",
            "--to-node-id",
            &first.to_string(),
        ],
    )
    .await;
    assert_eq!(refused.code, 254, "{refused:?}");
    assert!(
        refused.stderr.contains("not the leader")
            && refused.stderr.contains("the leader is node 4")
            && refused.stderr.contains(&fourth_peer),
        "{refused:?}"
    );
    let refused = iamctl(
        follower,
        &creds,
        &["cluster", "change-membership", "--voters", "1,2,3,4"],
    )
    .await;
    assert_eq!(refused.code, 254, "{refused:?}");
    assert!(refused.stderr.contains(&fourth_peer), "{refused:?}");

    for node in nodes {
        node.shutdown().await;
    }
}
