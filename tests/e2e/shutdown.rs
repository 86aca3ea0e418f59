//! A node stops within bounds whatever its clients do.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use iamd_tests::{config, start};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The HTTP/2 client preface and an empty SETTINGS frame.
const HTTP2_HELLO: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_that_clients_leave_silent() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();

    // --- one client connects and says nothing; another opens HTTP/2 and stops reading
    let silent = TcpStream::connect(node.peer_addr).await.unwrap();
    let mut deaf = TcpStream::connect(node.client_addr).await.unwrap();
    deaf.write_all(HTTP2_HELLO).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    // --- the node stops anyway, and releases its storage: it restarts on the same data
    let stopping = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), node.shutdown())
        .await
        .unwrap_or_else(|_| panic!("shutdown still waits after {:?}", stopping.elapsed()));
    let again = tokio::time::timeout(Duration::from_secs(20), start(config(dir.path())))
        .await
        .expect("a restart does not wait for the old connections")
        .unwrap();
    again.shutdown().await;
    drop((silent, deaf));
}

/// With `shutdown_delay_ms`, a stopping node says NOT_SERVING at once (a Kubernetes
/// readiness probe takes it out of the Service's endpoints) but still answers calls, new
/// connections included, until the delay is over; then it stops.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_delay_keeps_answering_while_not_serving() {
    use iam_api::v1 as pb;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    c.shutdown_delay_ms = 5_000;
    let node = start(c).await.unwrap();
    let addr = node.client_addr;
    let root = iamd_tests::read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let began = Instant::now();
    let stopping = tokio::spawn(node.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let status = HealthClient::new(iamd_tests::channel_at(addr).await.unwrap())
        .check(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner()
        .status;
    assert_eq!(status, ServingStatus::NotServing as i32);
    let users = pb::iam_client::IamClient::new(iamd_tests::signed_at(addr, &root).await.unwrap())
        .list_users(pb::ListUsersRequest::default())
        .await;
    assert!(users.is_ok(), "still answering during the delay: {users:?}");
    assert!(
        began.elapsed() < Duration::from_millis(5_000),
        "the checks ran in the delay"
    );

    tokio::time::timeout(Duration::from_secs(20), stopping)
        .await
        .unwrap()
        .unwrap();
    assert!(began.elapsed() >= Duration::from_millis(5_000));
    assert!(
        iamd_tests::channel_at(addr).await.is_err(),
        "stopped after the delay"
    );
}
