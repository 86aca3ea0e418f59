//! Peer traffic over mutual TLS: a cluster whose nodes present certificates from one CA
//! forms, replicates and forwards; the peer port refuses plaintext and certificates from
//! another CA.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use iam_api::internal::ReadIndexRequest;
use iam_api::internal::raft_service_client::RaftServiceClient;
use iamd_tests::{TestCluster, start_cluster};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    SanType,
};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A certificate for loopback peers, good for both ends of a connection: (cert, key).
fn leaf(ca: &Ca) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["iamd-peer".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress("127.0.0.1".parse().unwrap()));
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// A read index from node `to` over `endpoint`.
async fn read_index_over(endpoint: Endpoint, to: u64) -> Result<u64, String> {
    let channel = endpoint
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
        .map_err(|e| format!("connect: {e:?}"))?;
    RaftServiceClient::with_interceptor(channel, iam_raft::AddressedTo(to))
        .read_index(ReadIndexRequest {})
        .await
        .map(|r| r.into_inner().read_index)
        .map_err(|e| format!("call: {e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_over_mutual_tls_works_and_refuses_strangers() {
    let certs = tempfile::tempdir().unwrap();
    let cluster_ca = ca("iamd test cluster CA");
    let (cert, key) = leaf(&cluster_ca);
    let file = |name: &str, text: &str| {
        let path = certs.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (cert_file, key_file, ca_file) = (
        file("peer.pem", &cert),
        file("peer.key", &key),
        file("ca.pem", &cluster_ca.pem),
    );

    let TestCluster {
        nodes,
        root,
        dirs: _dirs,
        ..
    } = start_cluster(3, |c| {
        c.peer_tls_cert_file = Some(cert_file.clone());
        c.peer_tls_key_file = Some(key_file.clone());
        c.peer_tls_ca_file = Some(ca_file.clone());
    })
    .await
    .unwrap();

    // --- a write through a follower is forwarded to the leader and replicated, over TLS
    let leader = iamd_tests::leader(&nodes, Duration::from_secs(10))
        .await
        .unwrap();
    let (follower, other) = ((leader + 1) % 3, (leader + 2) % 3);
    let revision = iamd_tests::create_user_retrying(&nodes[follower], &root, "tls-trader")
        .await
        .unwrap();
    // Authentication reads the node's own view: wait until the third node has the root key
    // and the write (a brand-new key is eventually consistent across nodes, as in AWS).
    nodes[other].node.wait_revision(revision).await.unwrap();
    let answer = iamd_tests::authorize_as_itself(&nodes[other], &root, "tls-trader", revision)
        .await
        .unwrap();
    assert_eq!(
        answer.principal_arn,
        "arn:aws:iam::111111111111:user/tls-trader"
    );

    // --- the leader's peer port: a client with a cluster certificate is served ...
    let peer = nodes[leader].peer_addr;
    let leader_id = nodes[leader].node.config.node_id;
    let tls = |identity: Identity| {
        Endpoint::from_shared(format!("https://{peer}"))
            .unwrap()
            .tls_config(
                ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&cluster_ca.pem))
                    .identity(identity),
            )
            .unwrap()
    };
    let served = read_index_over(tls(Identity::from_pem(&cert, &key)), leader_id).await;
    assert!(served.unwrap() >= revision);
    // ... plaintext is not ...
    let plain = Endpoint::from_shared(format!("http://{peer}")).unwrap();
    assert!(
        read_index_over(plain, leader_id).await.is_err(),
        "plaintext refused"
    );
    // ... nor a certificate from another CA.
    let (rogue_cert, rogue_key) = leaf(&ca("some other CA"));
    let rogue = read_index_over(tls(Identity::from_pem(&rogue_cert, &rogue_key)), leader_id).await;
    assert!(rogue.is_err(), "a stranger's certificate is refused");

    for node in nodes {
        node.shutdown().await;
    }
}
