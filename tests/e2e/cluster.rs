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
use iamd_tests::{authz, iam, read_credentials};

fn leader_index(nodes: &[Running]) -> usize {
    let leader = nodes[0].node.raft.metrics().leader.expect("a leader");
    nodes
        .iter()
        .position(|n| n.node.config.node_id == leader)
        .unwrap()
}

async fn create_user_retrying(
    node: &Running,
    creds: &iam_api::signing::SigningCredentials,
    name: &str,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut client = iam(node, creds).await.unwrap();
        let r = client
            .create_user(pb::CreateUserRequest {
                user_name: name.into(),
                idempotency_key: format!("create-{name}"),
                ..Default::default()
            })
            .await;
        match r {
            Ok(r) => return r.into_inner().revision,
            Err(e) if e.code() == tonic::Code::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("create {name}: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_on_any_node_are_read_everywhere_and_survive_the_leader() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<&std::path::Path> = dirs.iter().map(|d| d.path()).collect();
    let configs = iamd_tests::cluster_configs(&paths).unwrap();
    let mut nodes = iamd_tests::start_three(&configs).await.unwrap();
    let creds_path = nodes
        .iter()
        .find_map(|n| n.root_credentials.clone())
        .expect("the initializing node wrote the root credentials");
    let root = read_credentials(&creds_path).unwrap();

    // --- every node has the bootstrap account's key and accepts writes
    for (i, node) in nodes.iter().enumerate() {
        node.node
            .wait_revision(nodes[0].node.view.load().revision)
            .await
            .unwrap();
        create_user_retrying(node, &root, &format!("trader-{i}")).await;
    }

    // --- a write through a follower is visible on the third node for a reader that asks
    let leader = leader_index(&nodes);
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
        let view = node.node.view.load();
        assert!(
            view.principal_by_arn("arn:aws:iam::111111111111:user/bob")
                .is_some()
        );
        assert!(
            view.principal_by_arn("arn:aws:iam::111111111111:user/alice")
                .is_some()
        );
    }
    for node in nodes {
        node.shutdown().await;
    }
}
