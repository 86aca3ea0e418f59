//! A 3-member etcd cluster (Debian's `etcd-server`) on loopback, and a gRPC client for its
//! `KV/Put`, for side-by-side write benchmarks. The two messages are declared here by hand
//! (field numbers from etcd's `rpc.proto`), so the client uses the same tonic stack as
//! iamd's clients.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tonic::transport::Channel;

/// `etcdserverpb.PutRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutRequest {
    #[prost(bytes = "vec", tag = "1")]
    pub key: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `etcdserverpb.PutResponse` (its fields are not needed).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PutResponse {}

/// Puts one key.
pub async fn put(channel: Channel, key: Vec<u8>, value: Vec<u8>) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static("/etcdserverpb.KV/Put");
    let codec = tonic_prost::ProstCodec::<PutRequest, PutResponse>::default();
    grpc.unary(tonic::Request::new(PutRequest { key, value }), path, codec)
        .await
        .map(|_| ())
}

/// Three etcd members; killed when dropped.
#[derive(Debug)]
pub struct EtcdCluster {
    children: Vec<Child>,
    /// Client URLs, one per member.
    pub clients: Vec<String>,
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts three members with data under `dir` (fsync on commit, etcd's default) and waits
/// until the first answers a put.
pub async fn start(binary: &str, dir: &Path) -> std::io::Result<EtcdCluster> {
    let ports = crate::free_ports(6)?;
    let (peers, clients) = ports.split_at(3);
    let initial: Vec<String> = peers
        .iter()
        .enumerate()
        .map(|(i, p)| format!("e{i}=http://127.0.0.1:{p}"))
        .collect();
    let mut cluster = EtcdCluster {
        children: Vec::new(),
        clients: clients
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    };
    for (i, (peer, client)) in peers.iter().zip(clients).enumerate() {
        let child = Command::new(binary)
            .args(["--name", &format!("e{i}")])
            .args(["--data-dir", &dir.join(format!("e{i}")).to_string_lossy()])
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args([
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
            ])
            .args(["--initial-cluster", &initial.join(",")])
            .args(["--initial-cluster-state", "new"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        cluster.children.push(child);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let url = cluster.clients.first().cloned().unwrap_or_default();
        if let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url) {
            if let Ok(ch) = endpoint.connect().await {
                if put(ch, b"ready".to_vec(), b"1".to_vec()).await.is_ok() {
                    return Ok(cluster);
                }
            }
        }
        if Instant::now() > deadline {
            return Err(std::io::Error::other("etcd did not start"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
