//! Membership changes of a running iamd cluster, through the `Cluster` rpcs: grow 3 → 5
//! with learners that catch up and are promoted, shrink 5 → 3, and replace a dead node.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::{TestCluster, cluster, cluster_status, has_user, start_cluster};

/// The node that leads, once one does.
async fn leader(nodes: &[Running]) -> &Running {
    &nodes[iamd_tests::leader(nodes, Duration::from_secs(10))
        .await
        .unwrap()]
}

/// Retries a membership call while the cluster is busy with another change or an election.
async fn retrying<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, tonic::Status>>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match call().await {
            Ok(v) => return v,
            Err(e)
                if matches!(e.code(), tonic::Code::Unavailable | tonic::Code::Aborted)
                    && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{what}: {e:?}"),
        }
    }
}

async fn create_user(node: &Running, root: &SigningCredentials, name: &str) -> u64 {
    iamd_tests::create_user_retrying(node, root, name)
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e}"))
}

/// Waits until every node has applied `revision`, then checks that each has every user.
async fn every_node_has(nodes: &[Running], revision: u64, names: &[&str]) {
    for node in nodes {
        node.node.wait_revision(revision).await.unwrap();
        for name in names {
            assert!(
                has_user(node, name),
                "{name} on {}",
                node.node.config.node_id
            );
        }
    }
}

async fn voters(node: &Running, root: &SigningCredentials) -> BTreeSet<u64> {
    let status = cluster_status(node, root).await.unwrap();
    if status.role == pb::NodeRole::Leader as i32 {
        let lagging: BTreeSet<u64> = status.replication.iter().map(|r| r.node_id).collect();
        assert!(
            !lagging.contains(&status.node_id),
            "replication lists the other members only"
        );
    }
    let m = status.membership.unwrap();
    assert!(m.joint_voter_ids.is_empty(), "no change left half-done");
    m.voters.iter().map(|n| n.node_id).collect()
}

/// The voters, once no change is half-done (`None` during a joint configuration).
async fn settled_voters(node: &Running, root: &SigningCredentials) -> Option<BTreeSet<u64>> {
    let m = cluster_status(node, root).await.ok()?.membership?;
    m.joint_voter_ids
        .is_empty()
        .then(|| m.voters.iter().map(|n| n.node_id).collect())
}

/// Waits (at most 30 s) until the voters are `wanted`, with no change half-done.
async fn wait_for_voters(nodes: &[Running], root: &SigningCredentials, wanted: &[u64], what: &str) {
    let wanted: BTreeSet<u64> = wanted.iter().copied().collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while settled_voters(leader(nodes).await, root).await.as_ref() != Some(&wanted) {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Hands leadership to node `id` (at most 30 s).
async fn make_lead(nodes: &[Running], id: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while leader(nodes).await.node.config.node_id != id {
        let _asked = leader(nodes).await.node.raft.transfer_leader(id).await;
        assert!(Instant::now() < deadline, "node {id} never led");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Takes node `id` out of `nodes`.
fn take(nodes: &mut Vec<Running>, id: u64) -> Running {
    let at = nodes
        .iter()
        .position(|n| n.node.config.node_id == id)
        .unwrap();
    nodes.remove(at)
}

/// Empties a stopped node's data directory, as a lost volume would (the test cluster's
/// shared key, kept in the first directory, stays).
fn wipe(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else if !path.ends_with("shared-cluster.key") {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

async fn add_learner(at: &Running, root: &SigningCredentials, new: &Running) {
    let id = new.node.config.node_id;
    retrying(&format!("add learner {id}"), || async {
        cluster(at, root)
            .await
            .unwrap()
            .add_learner(pb::AddLearnerRequest {
                node_id: id,
                address: new.peer_addr.to_string(),
                wait_for_catch_up: true,
                idempotency_key: format!("learner-{id}"),
            })
            .await
    })
    .await;
}

async fn set_voters(at: &Running, root: &SigningCredentials, ids: &[u64]) {
    retrying(&format!("voters {ids:?}"), || async {
        cluster(at, root)
            .await
            .unwrap()
            .change_membership(pb::ChangeMembershipRequest {
                voters: ids.to_vec(),
                retain: false,
                idempotency_key: String::new(),
            })
            .await
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grow_to_five_shrink_to_three_and_replace_a_dead_node() {
    let TestCluster {
        mut nodes,
        configs,
        root,
        dirs: _dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    // The directories of nodes 4, 5 and 6.
    let spare: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let before = create_user(leader(&nodes).await, &root, "before-growth").await;

    // --- grow: two new nodes join as learners, catch up, serve reads, then vote
    for id in [4u64, 5] {
        let dir = spare[usize::try_from(id).unwrap() - 4].path();
        let node = iamd_tests::start(iamd_tests::joiner_config(dir, id, &configs[0]).unwrap())
            .await
            .unwrap();
        add_learner(leader(&nodes).await, &root, &node).await;
        node.node.wait_revision(before).await.unwrap();
        assert!(has_user(&node, "before-growth"), "learner {id} caught up");
        let answer = iamd_tests::authorize_as_itself(&node, &root, "before-growth", before)
            .await
            .unwrap();
        assert_eq!(
            answer.principal_arn, "arn:aws:iam::111111111111:user/before-growth",
            "learner {id} serves Authorize"
        );
        nodes.push(node);
    }
    set_voters(leader(&nodes).await, &root, &[1, 2, 3, 4, 5]).await;
    assert_eq!(
        voters(leader(&nodes).await, &root).await,
        BTreeSet::from([1, 2, 3, 4, 5])
    );
    let grown = create_user(&nodes[4], &root, "after-growth").await;
    for node in &nodes {
        node.node.wait_revision(grown).await.unwrap();
        assert!(has_user(node, "after-growth"));
    }

    // --- shrink back to three voters: the removed nodes leave the membership and the
    // cluster keeps taking writes
    let keep: Vec<u64> = {
        let lead = leader(&nodes).await.node.config.node_id;
        let mut keep = vec![lead];
        keep.extend((1..=5).filter(|&id| id != lead).take(2));
        keep
    };
    set_voters(leader(&nodes).await, &root, &keep).await;
    assert_eq!(
        voters(leader(&nodes).await, &root).await,
        keep.iter().copied().collect::<BTreeSet<_>>()
    );
    let removed: Vec<Running> = {
        let (stay, gone): (Vec<_>, Vec<_>) = nodes
            .into_iter()
            .partition(|n| keep.contains(&n.node.config.node_id));
        nodes = stay;
        gone
    };
    for node in removed {
        node.shutdown().await;
    }
    let shrunk = create_user(leader(&nodes).await, &root, "after-shrink").await;
    for node in &nodes {
        node.node.wait_revision(shrunk).await.unwrap();
    }

    // --- a follower dies for good; a fresh node replaces it
    let lead = leader(&nodes).await.node.config.node_id;
    let dead_at = nodes
        .iter()
        .position(|n| n.node.config.node_id != lead)
        .unwrap();
    let dead = nodes.remove(dead_at);
    let dead_id = dead.node.config.node_id;
    dead.shutdown().await;
    let during = create_user(leader(&nodes).await, &root, "while-degraded").await;
    let fresh =
        iamd_tests::start(iamd_tests::joiner_config(spare[2].path(), 6, &configs[0]).unwrap())
            .await
            .unwrap();
    add_learner(leader(&nodes).await, &root, &fresh).await;
    fresh.node.wait_revision(during).await.unwrap();
    nodes.push(fresh);
    let replaced: Vec<u64> = nodes.iter().map(|n| n.node.config.node_id).collect();
    set_voters(leader(&nodes).await, &root, &replaced).await;
    let now = voters(leader(&nodes).await, &root).await;
    assert!(
        !now.contains(&dead_id) && now.contains(&6) && now.len() == 3,
        "{now:?}"
    );
    let last = create_user(&nodes[2], &root, "after-replace").await;
    every_node_has(
        &nodes,
        last,
        &[
            "before-growth",
            "after-growth",
            "after-shrink",
            "while-degraded",
            "after-replace",
        ],
    )
    .await;
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_of_another_cluster_is_refused_as_a_learner() {
    let TestCluster {
        nodes,
        configs,
        root,
        dirs: _dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    // Started without the member list, it formed a one-node cluster of its own.
    let stray_dir = tempfile::tempdir().unwrap();
    let mut stray = iamd_tests::joiner_config(stray_dir.path(), 4, &configs[0]).unwrap();
    stray.initial_members.clear();
    let stray = iamd_tests::start(stray).await.unwrap();
    stray
        .node
        .raft
        .wait_for_leader(Duration::from_secs(10))
        .await
        .unwrap();
    let before = voters(leader(&nodes).await, &root).await;
    let refused = cluster(leader(&nodes).await, &root)
        .await
        .unwrap()
        .add_learner(pb::AddLearnerRequest {
            node_id: 4,
            address: stray.peer_addr.to_string(),
            wait_for_catch_up: false,
            idempotency_key: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(
        refused.message().contains("cluster of its own"),
        "{refused:?}"
    );
    let status = cluster_status(leader(&nodes).await, &root).await.unwrap();
    assert!(status.membership.unwrap().learners.is_empty());
    assert_eq!(voters(leader(&nodes).await, &root).await, before);
    // The cluster still takes writes.
    create_user(leader(&nodes).await, &root, "still-fine").await;
    stray.shutdown().await;
    for node in nodes {
        node.shutdown().await;
    }
}

/// A node started with `join` outside the initial voters (a StatefulSet's fourth replica)
/// asks them to add it: it becomes a learner without any `AddLearner` call, catches up and
/// serves `Authorize`; a restart does not add it twice. Without `join` it waits unadded.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_started_with_join_adds_itself_as_a_learner() {
    let TestCluster {
        nodes,
        configs,
        root,
        dirs: _dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    let before = create_user(&nodes[0], &root, "before-join").await;

    let waiting_dir = tempfile::tempdir().unwrap();
    let waiting = iamd_tests::joiner_config(waiting_dir.path(), 5, &configs[0]).unwrap();
    let waiting = iamd_tests::start(waiting).await.unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut config = iamd_tests::joiner_config(dir.path(), 4, &configs[0]).unwrap();
    config.join = true;
    let joiner = iamd_tests::start(config.clone()).await.unwrap();
    joiner.node.wait_revision(before).await.unwrap();
    assert!(has_user(&joiner, "before-join"), "the joiner caught up");
    let answer = iamd_tests::authorize_as_itself(&joiner, &root, "before-join", before)
        .await
        .unwrap();
    assert_eq!(
        answer.principal_arn,
        "arn:aws:iam::111111111111:user/before-join"
    );

    let status = cluster_status(leader(&nodes).await, &root).await.unwrap();
    let membership = status.membership.unwrap();
    let learners: BTreeSet<u64> = membership.learners.iter().map(|m| m.node_id).collect();
    let voters: BTreeSet<u64> = membership.voters.iter().map(|m| m.node_id).collect();
    assert_eq!(
        learners,
        BTreeSet::from([4]),
        "node 5, without join, was not added"
    );
    assert_eq!(voters, BTreeSet::from([1, 2, 3]));
    assert!(
        !has_user(&waiting, "before-join"),
        "node 5 was never replicated to"
    );
    let added_at = leader(&nodes).await.node.raft.metrics().membership_index;
    assert!(added_at.is_some());

    // A restart (and any repeated ask) leaves the membership as it is.
    joiner.shutdown().await;
    let joiner = iamd_tests::start(config.clone()).await.unwrap();
    let after = create_user(&nodes[1], &root, "after-restart").await;
    joiner.node.wait_revision(after).await.unwrap();
    assert_eq!(
        joiner.node.raft.request_to_join().await.unwrap(),
        added_at.unwrap()
    );
    let metrics = leader(&nodes).await.node.raft.metrics();
    assert_eq!(
        metrics.membership_index, added_at,
        "no second membership change"
    );
    assert_eq!(metrics.members.len(), 4);

    // Another node with id 4 at another address is refused, not silently ignored.
    let impostor_dir = tempfile::tempdir().unwrap();
    let impostor_config = iamd_tests::joiner_config(impostor_dir.path(), 4, &configs[0]).unwrap();
    let impostor = iamd_tests::start(impostor_config).await.unwrap();
    let refused = impostor.node.raft.request_to_join().await.unwrap_err();
    assert!(refused.to_string().contains("is a member at"), "{refused}");

    // A follower passes a request on to the leader, once.
    let follower = nodes
        .iter()
        .find(|n| n.node.raft.metrics().leader != Some(n.node.config.node_id))
        .unwrap();
    let request = |forwarded| iam_api::internal::JoinRequest {
        node_id: 5,
        address: waiting.peer_addr.to_string(),
        forwarded,
    };
    let (fid, faddr) = (follower.node.config.node_id, follower.peer_addr.to_string());
    let not_again = waiting
        .node
        .raft
        .call_join(fid, &faddr, request(true))
        .await;
    assert_eq!(not_again.unwrap_err().code(), tonic::Code::Unavailable);
    waiting
        .node
        .raft
        .call_join(fid, &faddr, request(false))
        .await
        .unwrap();
    waiting.node.wait_revision(after).await.unwrap();
    assert!(
        has_user(&waiting, "after-restart"),
        "node 5 was added through a follower"
    );

    // Removed while it was down, node 4 comes back on its old data, which still lists it
    // as a member: it asks again and is added again.
    joiner.shutdown().await;
    retrying("remove node 4", || async {
        leader(&nodes)
            .await
            .node
            .raft
            .remove_node(4)
            .await
            .map_err(tonic::Status::from)
    })
    .await;
    assert!(
        !leader(&nodes)
            .await
            .node
            .raft
            .metrics()
            .members
            .contains_key(&4)
    );
    let joiner = iamd_tests::start(config).await.unwrap();
    let last = create_user(&nodes[2], &root, "after-rejoin").await;
    joiner.node.wait_revision(last).await.unwrap();
    assert!(
        leader(&nodes)
            .await
            .node
            .raft
            .metrics()
            .members
            .contains_key(&4)
    );
}

/// A voter whose data directory is lost, replaced as the README says: removed from the
/// voters, restarted empty under its old id, added back as a learner that catches up, and
/// made a voter again. (Restarted empty while still a voter, it would find a leader that
/// counted its acknowledgements: openraft takes a follower whose log went backwards for a
/// bug, and in a debug build the leader's Raft stops.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_voter_whose_data_is_lost_is_removed_and_added_back() {
    let TestCluster {
        mut nodes,
        configs,
        root,
        dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    let before = create_user(leader(&nodes).await, &root, "before-loss").await;
    let lead = leader(&nodes).await.node.config.node_id;
    // Not the first member, which initializes a cluster of its own when it starts empty.
    let lost_at = nodes
        .iter()
        .position(|n| ![lead, 1].contains(&n.node.config.node_id))
        .unwrap();
    let lost = nodes.remove(lost_at);
    let lost_id = lost.node.config.node_id;
    lost.node.wait_revision(before).await.unwrap();
    lost.shutdown().await;
    let others: Vec<u64> = nodes.iter().map(|n| n.node.config.node_id).collect();
    set_voters(leader(&nodes).await, &root, &others).await;
    assert!(
        !voters(leader(&nodes).await, &root).await.contains(&lost_id),
        "the lost voter is removed first"
    );
    let during = create_user(leader(&nodes).await, &root, "while-removed").await;

    // Its volume is gone: an empty data directory under the same id and address.
    let dir = dirs[usize::try_from(lost_id).unwrap() - 1].path();
    wipe(dir);
    let config = configs[usize::try_from(lost_id).unwrap() - 1].clone();
    let back = iamd_tests::start(config).await.unwrap();
    add_learner(leader(&nodes).await, &root, &back).await;
    back.node.wait_revision(during).await.unwrap();
    assert!(has_user(&back, "before-loss") && has_user(&back, "while-removed"));
    nodes.push(back);
    let all: Vec<u64> = nodes.iter().map(|n| n.node.config.node_id).collect();
    set_voters(leader(&nodes).await, &root, &all).await;
    assert_eq!(
        voters(leader(&nodes).await, &root).await,
        all.iter().copied().collect::<BTreeSet<_>>()
    );
    let after = create_user(leader(&nodes).await, &root, "after-return").await;
    every_node_has(
        &nodes,
        after,
        &["before-loss", "while-removed", "after-return"],
    )
    .await;
    for node in nodes {
        node.shutdown().await;
    }
}

/// A voter whose data directory is lost and that starts again empty under its old id (a
/// Kubernetes pod given a new volume) takes no part until the leader re-admits it: as a
/// learner, which catches up and becomes a voter again, by itself. The first member,
/// started empty in a cluster with history, rejoins instead of initializing a cluster of
/// its own. Before this, the leader counted acknowledgements the empty node no longer
/// had, and openraft stopped the leader's Raft when it found the follower's log gone
/// backwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_voter_whose_data_is_lost_rejoins_by_itself() {
    let TestCluster {
        mut nodes,
        configs,
        root,
        dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    // Node 3 leads, so that nodes 1 (the first member) and 2 can lose their data.
    make_lead(&nodes, 3).await;
    create_user(leader(&nodes).await, &root, "before-loss").await;
    let mut after = 0;
    for lost_id in [1u64, 2] {
        take(&mut nodes, lost_id).shutdown().await;
        let dir = dirs[usize::try_from(lost_id).unwrap() - 1].path();
        wipe(dir);
        let during = create_user(leader(&nodes).await, &root, &format!("without-{lost_id}")).await;
        let config = configs[usize::try_from(lost_id).unwrap() - 1].clone();
        let back = iamd_tests::start(config).await.unwrap();
        assert!(
            back.root_credentials.is_none(),
            "node {lost_id} rejoined, it did not bootstrap a cluster of its own"
        );
        back.node.wait_revision(during).await.unwrap();
        nodes.push(back);
        wait_for_voters(
            &nodes,
            &root,
            &[1, 2, 3],
            &format!("node {lost_id} is not a voter again"),
        )
        .await;
        after = create_user(leader(&nodes).await, &root, &format!("after-{lost_id}")).await;
        every_node_has(&nodes, after, &[]).await;
    }
    every_node_has(
        &nodes,
        after,
        &[
            "before-loss",
            "without-1",
            "after-1",
            "without-2",
            "after-2",
        ],
    )
    .await;
    for node in nodes {
        node.shutdown().await;
    }
}

/// A node that lost its data and restarts on the way back, once a learner, still becomes a
/// voter again: what it is owed is kept in `raft/rejoin-as-voter` of its data directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_learner_owed_its_vote_back_is_promoted_after_a_restart() {
    let TestCluster {
        mut nodes,
        configs,
        root,
        dirs: _dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    let lead = leader(&nodes).await.node.config.node_id;
    let id = (1..=3).find(|&i| i != lead).unwrap();
    let others: Vec<u64> = (1..=3).filter(|&i| i != id).collect();
    retrying("demote", || async {
        cluster(leader(&nodes).await, &root)
            .await
            .unwrap()
            .change_membership(pb::ChangeMembershipRequest {
                voters: others.clone(),
                retain: true,
                idempotency_key: String::new(),
            })
            .await
    })
    .await;
    let node = take(&mut nodes, id);
    let config = node.node.config.clone();
    node.shutdown().await;
    std::fs::write(config.data_dir.join("raft").join("rejoin-as-voter"), b"").unwrap();
    let back = iamd_tests::start(configs[usize::try_from(id).unwrap() - 1].clone())
        .await
        .unwrap();
    nodes.push(back);
    wait_for_voters(
        &nodes,
        &root,
        &[1, 2, 3],
        &format!("node {id} is not a voter again"),
    )
    .await;
    assert!(
        !config
            .data_dir
            .join("raft")
            .join("rejoin-as-voter")
            .exists(),
        "the note is removed once it is a voter"
    );
    for node in nodes {
        node.shutdown().await;
    }
}

/// Why an emptied voter must take no part: node 3 leads, node 2 is down while a write is
/// committed by nodes 3 and 1, then node 1 loses its data and node 3 goes down. Nodes 2
/// (behind) and 1 (empty) together are a majority; had node 1 voted as if it remembered
/// nothing, node 2 would lead without the committed write. Node 1 refuses to vote until
/// the leader re-admits it, so nobody leads until node 3 is back, and then every write is
/// everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_emptied_voter_cannot_help_elect_a_leader_without_committed_writes() {
    let TestCluster {
        mut nodes,
        configs,
        root,
        dirs,
    } = start_cluster(3, |_| {}).await.unwrap();
    make_lead(&nodes, 3).await;
    create_user(leader(&nodes).await, &root, "before").await;
    take(&mut nodes, 2).shutdown().await;
    let committed = create_user(leader(&nodes).await, &root, "while-2-down").await;
    let one = take(&mut nodes, 1);
    one.node.wait_revision(committed).await.unwrap();
    one.shutdown().await;
    wipe(dirs[0].path());
    take(&mut nodes, 3).shutdown().await;
    assert!(nodes.is_empty());

    let two = iamd_tests::start(configs[1].clone()).await.unwrap();
    // The first member's start returns once it caught up with a leader.
    let one = tokio::spawn(iamd_tests::start(configs[0].clone()));
    let quiet = Instant::now() + Duration::from_secs(6);
    while Instant::now() < quiet {
        let m = two.node.raft.metrics();
        assert_ne!(
            m.leader,
            Some(2),
            "node 2 leads without the committed write, elected by an emptied node"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!one.is_finished(), "node 1 cannot have been admitted");

    let three = iamd_tests::start(configs[2].clone()).await.unwrap();
    let one = tokio::time::timeout(Duration::from_secs(60), one)
        .await
        .expect("node 1 re-admitted once node 3 was back")
        .unwrap()
        .unwrap();
    let nodes = vec![one, two, three];
    wait_for_voters(&nodes, &root, &[1, 2, 3], "node 1 is not a voter again").await;
    let after = create_user(leader(&nodes).await, &root, "after").await;
    every_node_has(&nodes, after, &["before", "while-2-down", "after"]).await;
    for node in nodes {
        node.shutdown().await;
    }
}
