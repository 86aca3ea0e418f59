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
