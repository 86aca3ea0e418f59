//! Three-node cluster benchmark on one machine (in one process, real gRPC and fsync'd sled
//! logs in three directories): replicated write throughput and p99 commit latency at
//! concurrency 1, 16 and 64 (`TagUser` calls through the leader, each task's signed once and
//! sent again and again: see `iamd_tests::presigned`), and propagation
//! time — from a write's acknowledgement until the authorization view of every other node
//! reflects it — p50/p99.
//!
//! `cluster_bench [--seconds N] [--propagation-samples N] [--soak-writes N] [--etcd PATH]`
//!
//! Then disk use: every node's data directory while `--soak-writes` more writes go in.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

/// The allocator iamd's binary uses too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::TestCluster;
use iamd_tests::drive::{Run, closed_loop, flag, percentile};
use iamd_tests::presigned::Presigned;

/// One line of results: throughput, p50 and p99 of a run.
fn report(label: &str, unit: &str, run: &mut Run) {
    println!(
        "{label}: {:>7.0} {unit}/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} {unit})",
        run.throughput(),
        run.percentile(0.50).as_secs_f64() * 1e3,
        run.percentile(0.99).as_secs_f64() * 1e3,
        run.calls,
    );
}

#[tokio::main]
async fn main() {
    let seconds: u64 = flag("--seconds", 5).unwrap();
    let samples: usize = flag("--propagation-samples", 500).unwrap();
    let TestCluster {
        nodes,
        root: creds,
        dirs,
        ..
    } = iamd_tests::start_cluster(3, |_| {}).await.unwrap();
    let leader = &nodes[iamd_tests::leader(&nodes, Duration::from_secs(10))
        .await
        .unwrap()];
    let leader_id = leader.node.config.node_id;

    println!(
        "3-node cluster on one machine, writes (TagUser) through the leader (node {leader_id}), {seconds} s per run"
    );
    iamd_tests::iam(leader, &creds)
        .await
        .unwrap()
        .create_user(pb::CreateUserRequest {
            user_name: "bench".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let host = leader.client_addr.to_string();
    for concurrency in [1usize, 16, 64] {
        let mut callers = Vec::new();
        for task in 0..concurrency {
            let channel = iamd_tests::channel(leader).await.unwrap();
            // Each task signs its own write once and sends it again and again: every call
            // is still verified, authorized, replicated, fsync'd and applied on all nodes.
            let write = pb::TagUserRequest {
                user_name: "bench".into(),
                tags: vec![pb::Tag {
                    key: "seq".into(),
                    value: format!("task-{task}"),
                }],
                ..Default::default()
            };
            let presigned =
                Arc::new(Presigned::new(&creds, &host, "/iam.v1.Iam/TagUser", &write).unwrap());
            callers.push(move || {
                let (presigned, channel) = (Arc::clone(&presigned), channel.clone());
                async move { presigned.call::<pb::TagUserResponse>(channel).await.is_ok() }
            });
        }
        let mut run = closed_loop(callers, Duration::from_secs(seconds)).await;
        assert_eq!(run.errors, 0, "every write must succeed");
        report(&format!("concurrency {concurrency:>2}"), "writes", &mut run);
    }

    // --- etcd, in the same run: small puts through its leader
    let etcd = std::env::args()
        .skip_while(|a| a != "--etcd")
        .nth(1)
        .unwrap_or_else(|| "/usr/bin/etcd".into());
    if std::path::Path::new(&etcd).exists() {
        etcd_runs(&etcd, seconds).await;
    } else {
        println!("etcd: `{etcd}` not found; install Debian's etcd-server to compare");
    }

    // --- propagation: acknowledgement → every other node's view reflects the write
    let mut client = iamd_tests::iam(leader, &creds).await.unwrap();
    let others: Vec<&Running> = nodes
        .iter()
        .filter(|n| n.node.config.node_id != leader_id)
        .collect();
    let mut lat = Vec::new();
    for i in 0..samples {
        let revision = client
            .create_policy(pb::CreatePolicyRequest {
                policy_name: format!("p{i}"),
                policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"marketdata:*","Resource":"*"}]}"#.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revision;
        let acked = Instant::now();
        for node in &others {
            let mut applied = node.node.applied.clone();
            tokio::time::timeout(Duration::from_secs(5), applied.wait_for(|r| *r >= revision))
                .await
                .unwrap()
                .unwrap();
        }
        lat.push(acked.elapsed());
        if i + 1 >= 1_400 {
            break;
        }
    }
    println!(
        "propagation to both followers after the acknowledgement: p50 {:.3} ms   p99 {:.3} ms   ({} writes)",
        percentile(&mut lat, 0.50).as_secs_f64() * 1e3,
        percentile(&mut lat, 0.99).as_secs_f64() * 1e3,
        lat.len()
    );

    // --- disk use under a steady write load: the logs are compacted into snapshots
    let soak: usize = flag("--soak-writes", 100_000).unwrap();
    if soak > 0 {
        soak_disk(leader, &creds, &dirs, soak).await;
    }
    for n in nodes {
        n.shutdown().await;
    }
}

/// Bytes under `path`.
fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Writes `total` TagUser calls at concurrency 64 and samples every node's data directory
/// after each tenth: with snapshots every 10,000 entries and the log purged behind them,
/// disk use must level off rather than grow with the number of writes.
async fn soak_disk(
    leader: &Running,
    creds: &iam_api::signing::SigningCredentials,
    dirs: &[tempfile::TempDir],
    total: usize,
) {
    println!("disk use under a steady write load ({total} writes at concurrency 64):");
    println!(
        "{:>9} {:>12} {:>12} {:>12} {:>10} {:>10}",
        "writes", "node 1 MiB", "node 2 MiB", "node 3 MiB", "snapshot", "purged"
    );
    let step = total / 10;
    let serial = Arc::new(AtomicUsize::new(0));
    for round in 1..=10 {
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let mut client = iamd_tests::iam(leader, creds).await.unwrap();
            let serial = Arc::clone(&serial);
            let end = round * step;
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = serial.fetch_add(1, Ordering::Relaxed);
                    if n >= end {
                        break;
                    }
                    client
                        .tag_user(pb::TagUserRequest {
                            user_name: "bench".into(),
                            tags: vec![pb::Tag {
                                key: format!("k{}", n % 40),
                                value: n.to_string(),
                            }],
                            ..Default::default()
                        })
                        .await
                        .unwrap();
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        serial.store(round * step, Ordering::Relaxed);
        let mib = |d: &tempfile::TempDir| dir_size(d.path()) as f64 / (1024.0 * 1024.0);
        let m = leader.node.raft.metrics();
        println!(
            "{:>9} {:>12.1} {:>12.1} {:>12.1} {:>10} {:>10}",
            round * step,
            mib(&dirs[0]),
            mib(&dirs[1]),
            mib(&dirs[2]),
            m.snapshot_index.unwrap_or(0),
            m.purged_index.unwrap_or(0)
        );
    }
}

/// The client URL of the etcd leader (from `etcdctl endpoint status`).
fn etcd_leader(clients: &[String]) -> String {
    let out = std::process::Command::new("etcdctl")
        .args([
            "--endpoints",
            &clients.join(","),
            "endpoint",
            "status",
            "--write-out=json",
        ])
        .output()
        .expect("etcdctl");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("etcdctl json");
    for s in status.as_array().into_iter().flatten() {
        let member = &s["Status"]["header"]["member_id"];
        if *member == s["Status"]["leader"] {
            return s["Endpoint"].as_str().unwrap().to_owned();
        }
    }
    clients[0].clone()
}

async fn etcd_runs(binary: &str, seconds: u64) {
    let dir = tempfile::tempdir().unwrap();
    let cluster = iamd_tests::etcd::start(binary, dir.path()).await.unwrap();
    let leader = etcd_leader(&cluster.clients);
    println!(
        "etcd 3.4, 3 members on the same machine (fsync on commit), puts of 16-byte values through the leader"
    );
    let serial = Arc::new(AtomicUsize::new(0));
    for concurrency in [1usize, 16, 64] {
        let mut callers = Vec::new();
        for _ in 0..concurrency {
            let ch = tonic::transport::Endpoint::from_shared(leader.clone())
                .unwrap()
                .connect()
                .await
                .unwrap();
            let serial = Arc::clone(&serial);
            callers.push(move || {
                let n = serial.fetch_add(1, Ordering::Relaxed);
                let put = iamd_tests::etcd::put(
                    ch.clone(),
                    format!("k{}", n % 1000).into_bytes(),
                    format!("{n:016}").into_bytes(),
                );
                async move { put.await.is_ok() }
            });
        }
        let mut run = closed_loop(callers, Duration::from_secs(seconds)).await;
        assert_eq!(run.errors, 0, "every put must succeed");
        report(
            &format!("etcd concurrency {concurrency:>2}"),
            "puts",
            &mut run,
        );
    }
    drop(cluster);
}
