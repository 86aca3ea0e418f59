//! Nodes with real gRPC between them: initialization, restart, leader election, write
//! forwarding, leader loss, leader transfer, catching up by snapshot, and the peer service's
//! refusals.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use iam_api::internal::raft_service_client::RaftServiceClient;
use iam_api::internal::{ForwardRequest, InstallSnapshotRequest, ReadIndexRequest};
use iam_raft::{AddressedTo, LEADER_METADATA, Role, WriteError};
use support::{Cluster, KvResponse, TestNode, WAIT, bind, delete, set};
use tonic::Code;

#[tokio::test]
async fn single_node_initializes_itself_and_keeps_acknowledged_writes_across_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (listener, addr) = bind().await;
    let members = BTreeMap::from([(1, addr.clone())]);
    let node = TestNode::start(1, listener, dir.path(), &members).await;

    tracing::info!("--- a lone initial member initializes the cluster and leads");
    assert_eq!(node.node.wait_for_leader(WAIT).await.unwrap(), 1);

    tracing::info!("--- every write is acknowledged with its revision and response");
    let mut last = 0;
    for n in 0..10 {
        let (index, response) = node
            .node
            .write(set(&format!("k{n}"), "v"), "req")
            .await
            .unwrap();
        assert!(index > last, "revisions grow");
        assert_eq!(response, KvResponse { previous: None });
        last = index;
    }
    let (last, response) = node.node.write(delete("k0"), "req").await.unwrap();
    assert_eq!(response.previous.as_deref(), Some("v"));
    let before = node.published.map();
    assert_eq!(before.len(), 9);

    tracing::info!("--- restart on the same directory, listing another member this time");
    node.kill().await;
    let (listener, addr2) = bind().await;
    let other = BTreeMap::from([(1, addr2), (2, "127.0.0.1:9".to_owned())]);
    let node = TestNode::start(1, listener, dir.path(), &other).await;

    tracing::info!("--- it did not re-initialize: still the one voter, every write is back");
    node.node.wait_for_recovery(WAIT).await.unwrap();
    assert!(node.node.metrics().applied_index >= Some(last));
    assert_eq!(node.published.map(), before);
    let metrics = node.node.metrics();
    assert_eq!(metrics.voters, BTreeSet::from([1]));
    assert_eq!(metrics.members, BTreeMap::from([(1, addr)]));

    tracing::info!("--- and it takes writes again");
    let (index, _) = node
        .node
        .write(set("after", "restart"), "req")
        .await
        .unwrap();
    assert!(index > last);
    node.kill().await;
}

#[tokio::test]
async fn three_nodes_elect_one_leader_and_a_follower_forwards_writes() {
    let cluster = Cluster::start(3).await;

    tracing::info!("--- the smallest id initializes; all three agree on exactly one leader");
    let leader = cluster.agreed_leader(None).await;
    let leaders = cluster
        .nodes
        .iter()
        .filter(|n| n.role() == Role::Leader)
        .count();
    assert_eq!(leaders, 1);
    for node in &cluster.nodes {
        assert_eq!(node.node.metrics().voters, BTreeSet::from([1, 2, 3]));
    }

    tracing::info!("--- a write sent to a follower is forwarded and applied everywhere");
    let follower = *cluster.followers(leader).first().unwrap();
    let (index, response) = cluster
        .node(follower)
        .node
        .write(set("color", "blue"), "req-1")
        .await
        .unwrap();
    assert_eq!(response, KvResponse { previous: None });
    cluster.all_applied(index).await;
    for node in &cluster.nodes {
        assert_eq!(
            node.published.map().get("color").map(String::as_str),
            Some("blue")
        );
    }

    tracing::info!("--- the leader answers the read index; a follower asks the leader for it");
    let read_index = cluster
        .node(leader)
        .node
        .linearizable_barrier(WAIT)
        .await
        .unwrap();
    assert!(read_index >= index);
    let (later, _) = cluster
        .node(leader)
        .node
        .write(set("color", "green"), "req-2")
        .await
        .unwrap();
    let follower_index = cluster
        .node(follower)
        .node
        .linearizable_barrier(WAIT)
        .await
        .unwrap();
    assert!(follower_index >= later, "{follower_index} < {later}");
    assert_eq!(
        cluster
            .node(follower)
            .published
            .map()
            .get("color")
            .map(String::as_str),
        Some("green"),
        "a linearizable read on a follower sees the write acknowledged before it"
    );

    tracing::info!("--- every node has recent contact with the leader");
    for node in &cluster.nodes {
        let since = node.node.since_leader_contact().expect("contact");
        assert!(since < Duration::from_secs(5), "{since:?}");
    }
    for node in cluster.nodes {
        node.kill().await;
    }
}

#[tokio::test]
async fn leader_loss_elects_a_new_leader_and_writes_resume() {
    let mut cluster = Cluster::start(3).await;
    let old = cluster.agreed_leader(None).await;
    let (first, _) = cluster
        .node(old)
        .node
        .write(set("a", "1"), "req")
        .await
        .unwrap();
    cluster.all_applied(first).await;

    tracing::info!("--- the leader dies; the two others elect a new one");
    cluster.kill(old).await;
    let new = cluster.agreed_leader(Some(old)).await;
    assert_ne!(new, old);

    tracing::info!("--- writes resume, through either survivor, and nothing was lost");
    let follower = *cluster.followers(new).first().unwrap();
    let (second, response) = cluster
        .node(follower)
        .node
        .write(set("a", "2"), "req")
        .await
        .unwrap();
    assert_eq!(response.previous.as_deref(), Some("1"));
    let (third, _) = cluster
        .node(new)
        .node
        .write(set("b", "3"), "req")
        .await
        .unwrap();
    assert!(first < second && second < third);
    cluster.all_applied(third).await;
    for node in &cluster.nodes {
        let map = node.published.map();
        assert_eq!(map.get("a").map(String::as_str), Some("2"));
        assert_eq!(map.get("b").map(String::as_str), Some("3"));
    }
    for node in cluster.nodes {
        node.kill().await;
    }
}

#[tokio::test]
async fn leadership_moves_to_the_chosen_voter_on_transfer() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.agreed_leader(None).await;
    let target = *cluster.followers(leader).last().unwrap();

    tracing::info!("--- a follower cannot transfer leadership");
    let refused = cluster.node(target).node.transfer_leader(leader).await;
    assert!(refused.is_err());

    tracing::info!("--- the leader hands over to the chosen voter");
    cluster
        .node(leader)
        .node
        .transfer_leader(target)
        .await
        .unwrap();
    let new = cluster.agreed_leader(Some(leader)).await;
    assert_eq!(new, target);
    let (index, _) = cluster
        .node(leader)
        .node
        .write(set("k", "v"), "req")
        .await
        .unwrap();
    cluster.all_applied(index).await;
    for node in cluster.nodes {
        node.kill().await;
    }
}

#[tokio::test]
async fn a_learner_added_after_the_log_was_purged_catches_up_by_snapshot() {
    let dir1 = tempfile::tempdir().unwrap();
    let (listener, addr1) = bind().await;
    let members = BTreeMap::from([(1, addr1)]);
    let one = TestNode::start(1, listener, dir1.path(), &members).await;
    one.node.wait_for_leader(WAIT).await.unwrap();

    tracing::info!("--- the leader writes, snapshots and purges its log");
    let mut last = 0;
    for n in 0..20 {
        last = one
            .node
            .write(set(&format!("k{n}"), "v"), "req")
            .await
            .unwrap()
            .0;
    }
    let raft = one.node.raft();
    raft.trigger().snapshot().await.unwrap();
    raft.wait(Some(WAIT))
        .metrics(
            |m| m.snapshot.is_some_and(|s| s.index >= last),
            "snapshot built",
        )
        .await
        .unwrap();
    raft.trigger().purge_log(last).await.unwrap();
    raft.wait(Some(WAIT))
        .metrics(|m| m.purged.is_some_and(|p| p.index >= last), "log purged")
        .await
        .unwrap();

    tracing::info!("--- a pristine node without initial members waits to be added");
    let dir2 = tempfile::tempdir().unwrap();
    let (listener, addr2) = bind().await;
    let two = TestNode::start(2, listener, dir2.path(), &BTreeMap::new()).await;
    assert_eq!(two.node.metrics().leader, None);
    let unavailable = two.node.write(set("x", "y"), "req").await;
    assert_eq!(unavailable, Err(WriteError::Unavailable { leader: None }));

    tracing::info!("--- added as a learner, it receives the snapshot over the stream");
    one.node.add_learner(2, addr2, true).await.unwrap();
    two.node.wait_applied(last, WAIT).await.unwrap();
    assert_eq!(two.published.map(), one.published.map());
    assert_eq!(two.published.map().len(), 20);

    tracing::info!("--- promoted to voter, it forwards writes like any follower");
    one.node
        .change_membership(BTreeSet::from([1, 2]), false)
        .await
        .unwrap();
    let (index, _) = two.node.write(set("from", "two"), "req").await.unwrap();
    two.node.wait_applied(index, WAIT).await.unwrap();
    assert_eq!(
        two.published.map().get("from").map(String::as_str),
        Some("two")
    );
    two.kill().await;
    one.kill().await;
}

#[tokio::test]
async fn a_follower_refuses_a_forwarded_write_and_names_the_leader() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.agreed_leader(None).await;
    let follower = *cluster.followers(leader).first().unwrap();
    let follower_addr = cluster.members.get(&follower).unwrap();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{follower_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut peer = RaftServiceClient::with_interceptor(channel.clone(), AddressedTo(follower));

    tracing::info!("--- a call meant for another node is refused, whatever it asks");
    let mut stranger = RaftServiceClient::with_interceptor(channel, AddressedTo(leader));
    let status = stranger.read_index(ReadIndexRequest {}).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains(&format!(
            "meant for node {leader}, but this is node {follower}"
        )),
        "{status:?}"
    );

    tracing::info!("--- a forward that reaches a follower is refused, never forwarded again");
    let command = serde_json::to_vec(&set("k", "v")).unwrap();
    let status = peer
        .forward(ForwardRequest {
            command,
            request_id: "req".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    let hint = status.metadata().get(LEADER_METADATA).unwrap();
    assert_eq!(
        Some(hint.to_str().unwrap()),
        cluster.members.get(&leader).map(String::as_str)
    );

    tracing::info!("--- a command the machine cannot decode is refused before the log");
    let status = peer
        .forward(ForwardRequest {
            command: b"{\"Rename\":{}}".to_vec(),
            request_id: "req".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    tracing::info!("--- a snapshot stream with a gap is refused");
    let meta = serde_json::to_vec(&(
        iam_store::raft::Vote::new(1, leader),
        iam_store::raft::SnapshotMeta::default(),
    ))
    .unwrap();
    let messages = vec![
        InstallSnapshotRequest {
            meta,
            offset: 0,
            chunk: b"abc".to_vec(),
        },
        InstallSnapshotRequest {
            meta: Vec::new(),
            offset: 5,
            chunk: b"def".to_vec(),
        },
    ];
    let status = peer
        .install_snapshot(futures_util::stream::iter(messages))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for node in cluster.nodes {
        node.kill().await;
    }
}

#[tokio::test]
async fn a_member_list_that_sends_several_members_to_one_node_elects_no_leader() {
    tracing::info!(
        "--- five voters, of which only nodes 1 and 2 run; 3 and 4 are listed at 2's address"
    );
    let (one_listener, one) = bind().await;
    let (two_listener, two) = bind().await;
    let members = BTreeMap::from([
        (1, one),
        (2, two.clone()),
        (3, two.clone()),
        (4, two),
        (5, "127.0.0.1:9".to_owned()),
    ]);
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let node_one = TestNode::start(1, one_listener, dirs[0].path(), &members).await;
    let node_two = TestNode::start(2, two_listener, dirs[1].path(), &members).await;

    tracing::info!("--- node 2 answers only as itself: 2 votes of 5 elect nobody");
    // Counting node 2's answers to the calls meant for 3 and 4 would make four of five.
    let waited = node_one.node.wait_for_leader(Duration::from_secs(3)).await;
    assert!(
        matches!(waited, Err(iam_raft::ReadError::NoLeader { .. })),
        "{waited:?}"
    );
    let metrics = node_one.node.metrics();
    assert_ne!(metrics.role, Role::Leader, "{metrics:?}");
    assert_eq!(node_two.node.metrics().leader, None);
    node_two.kill().await;
    node_one.kill().await;
}
