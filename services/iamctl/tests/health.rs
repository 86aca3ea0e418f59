//! `iamctl health` against real nodes: 0 for a serving node, 1 for a node that is up but not
//! serving (one node of three, without its majority), 254 for a service the node does not
//! know, 255 for an address nobody listens on. It needs no credentials.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;

use serde_json::Value;

/// Runs the built iamctl's `health` against `addr` with no credentials anywhere; returns its
/// exit code and its output parsed as JSON (`Null` when it is not JSON).
async fn health(addr: SocketAddr, args: &[&str]) -> (i32, Value) {
    let mut command = common::iamctl_command();
    command
        .arg("health")
        .arg("--endpoint-url")
        .arg(format!("http://{addr}"))
        .args(args)
        .env("HOME", "/nonexistent");
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_exits_zero_only_for_a_serving_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = iamd_tests::start(iamd_tests::config(dir.path()))
        .await
        .unwrap();
    let (code, json) = health(node.client_addr, &["--wait-seconds", "10"]).await;
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["Status"], "SERVING");
    assert_eq!(json["Service"], "");
    let (code, json) = health(node.client_addr, &["--service", "iam.v1.Authorization"]).await;
    assert_eq!((code, &json["Status"]), (0, &Value::from("SERVING")));
    // An unknown service: the node answers NotFound, an error answered by the service.
    let (code, _) = health(node.client_addr, &["--service", "no.such.Service"]).await;
    assert_eq!(code, 254);
    // The node's peer port speaks gRPC but not the health protocol (UNIMPLEMENTED): no
    // health answer, as from a node that cannot be reached.
    let (code, json) = health(node.peer_addr, &[]).await;
    assert_eq!((code, json), (255, Value::Null));

    // Node 2 of a three-node cluster, started alone: up, but without a majority it never
    // catches up, so it is not serving, and waiting does not change that.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths: Vec<&Path> = dirs.iter().map(|d| d.path()).collect();
    let configs = iamd_tests::cluster_configs(&paths).unwrap();
    let lonely = iamd_tests::start(configs[1].clone()).await.unwrap();
    let (code, json) = health(lonely.client_addr, &["--wait-seconds", "1"]).await;
    assert_eq!(code, 1, "{json}");
    assert_eq!(json["Status"], "NOT_SERVING");

    // Nobody listens on node 3's client port.
    let (code, json) = health(configs[2].listen, &[]).await;
    assert_eq!((code, json), (255, Value::Null));
}
