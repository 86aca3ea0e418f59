//! Scale benchmark: a write and an `Authorize` on an empty store, then the same with
//! 100,000 users, 10,000 roles and 20,000 customer managed policies loaded (in 20 member
//! accounts of an organization, within AWS's per-account quotas); resident memory; and the
//! time a restarted node takes to serve again. All measured in one run.
//!
//! The machine's speed drifts by tens of percent over a minute, so the loaded node is not
//! compared with figures taken before its load: a second node with the empty store runs
//! beside it, and the two are measured in alternating rounds (once before the load, as a
//! check that two equal nodes measure equal, and once after it).
//!
//! `scale [--users N] [--roles N] [--policies N] [--samples N]`
//!
//! The bulk load goes straight to Raft (64 writes in flight) rather than through signed
//! gRPC calls, to keep the load phase short; the measured writes and decisions go through
//! the API like any client's.
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
use std::time::{Duration, Instant};

use iam_api::v1 as pb;
use iam_store::model::Tag;
use iam_store::{Op, Write};
use iamd::node::{Node, now_ms};
use iamd_tests::drive::{flag, percentile};
use tokio::sync::Semaphore;

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn p50(mut v: Vec<Duration>) -> Duration {
    percentile(&mut v, 0.50)
}

async fn internal(node: &Arc<Node>, op: Op) {
    let write = Write {
        at: now_ms(),
        idempotency_key: None,
        request_digest: None,
        op,
    };
    let (_, response) = node.raft.write(write, "scale").await.expect("write");
    response.result.expect("applied");
}

/// Runs every op with 64 in flight.
async fn bulk(node: &Arc<Node>, ops: Vec<Op>) -> Duration {
    let start = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut tasks = Vec::with_capacity(ops.len());
    for op in ops {
        let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
        let node = Arc::clone(node);
        tasks.push(tokio::spawn(async move {
            internal(&node, op).await;
            drop(permit);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    start.elapsed()
}

struct Probe {
    admin: pb::iam_client::IamClient<iamd_tests::Signed>,
    authz: pb::authorization_client::AuthorizationClient<iamd_tests::Signed>,
    alice: String,
}

impl Probe {
    /// The latencies of `n` sequential writes.
    async fn writes(&mut self, tag: &str, n: usize) -> Vec<Duration> {
        let mut lat = Vec::new();
        for i in 0..n {
            let t = Instant::now();
            self.admin
                .create_user(pb::CreateUserRequest {
                    user_name: format!("probe-{tag}-{i}"),
                    ..Default::default()
                })
                .await
                .unwrap();
            lat.push(t.elapsed());
        }
        lat
    }

    /// The latencies of `n` sequential decisions.
    async fn decisions(&mut self, n: usize) -> Vec<Duration> {
        let mut lat = Vec::new();
        for _ in 0..n {
            let t = Instant::now();
            let r = self
                .authz
                .authorize(pb::AuthorizeRequest {
                    action: "trading:PlaceOrder".into(),
                    resource:
                        "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP"
                            .into(),
                    context: [
                        ("aws:SourceIp", "10.20.3.7"),
                        ("aws:ResourceTag/desk", "delta"),
                    ]
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            k.to_owned(),
                            pb::ContextValue {
                                value: Some(pb::context_value::Value::StringValue(v.into())),
                            },
                        )
                    })
                    .collect(),
                    subject: Some(pb::authorize_request::Subject::PrincipalArn(
                        self.alice.clone(),
                    )),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(r.decision, pb::Decision::Allowed as i32);
            lat.push(t.elapsed());
        }
        lat
    }
}

/// p50 write and decision latencies of two nodes, measured in alternating rounds.
struct Compared {
    write: (Duration, Duration),
    decision: (Duration, Duration),
}

impl Compared {
    async fn measure(a: &mut Probe, b: &mut Probe, tag: &str, samples: usize) -> Self {
        const ROUNDS: usize = 5;
        let (mut wa, mut wb, mut da, mut db) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let n = samples.div_ceil(ROUNDS);
            wa.extend(a.writes(&format!("{tag}-{round}"), n).await);
            wb.extend(b.writes(&format!("{tag}-{round}"), n).await);
            da.extend(a.decisions(n * 10).await);
            db.extend(b.decisions(n * 10).await);
        }
        Self {
            write: (p50(wa), p50(wb)),
            decision: (p50(da), p50(db)),
        }
    }

    fn print(&self, what: &str) {
        let ratio = |(a, b): (Duration, Duration)| b.as_secs_f64() / a.as_secs_f64();
        println!(
            "{what}: write p50 {:?} vs {:?} ({:.2}x)   authorize p50 {:?} vs {:?} ({:.2}x)",
            self.write.0,
            self.write.1,
            ratio(self.write),
            self.decision.0,
            self.decision.1,
            ratio(self.decision)
        );
    }
}

/// A started node with the trading scenario's trader, and a probe signed by its root.
async fn scenario_node(
    dir: &std::path::Path,
) -> (
    iamd::server::Running,
    Probe,
    iam_api::signing::SigningCredentials,
) {
    let node = iamd_tests::start(iamd_tests::config(dir)).await.unwrap();
    let root = iamd_tests::read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let alice = iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let probe = Probe {
        admin: iamd_tests::iam(&node, &root).await.unwrap(),
        authz: iamd_tests::authz(&node, &root).await.unwrap(),
        alice,
    };
    (node, probe, root)
}

fn load_ops(users: usize, roles: usize, policies: usize) -> (Vec<Op>, Vec<Op>) {
    const ACCOUNTS: usize = 20;
    let account = |i: usize| format!("2{:011}", i % ACCOUNTS);
    let mut first = Vec::new();
    for i in 0..policies {
        let doc = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["marketdata:Subscribe","trading:Get*"],"Resource":"arn:aws:marketdata:*:*:feed/venue-{i}/*"}}]}}"#
        );
        first.push(Op::CreatePolicy {
            account: account(i),
            policy_name: format!("feed-{i}"),
            path: "/".into(),
            policy_document: doc,
            description: String::new(),
            tags: Vec::new(),
        });
    }
    for i in 0..users {
        first.push(Op::CreateUser {
            account: account(i),
            user_name: format!("user-{i}"),
            path: "/".into(),
            tags: vec![Tag {
                key: "desk".into(),
                value: format!("desk-{}", i % 7),
            }],
            permissions_boundary: None,
        });
    }
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    for i in 0..roles {
        first.push(Op::CreateRole {
            account: account(i),
            role_name: format!("role-{i}"),
            path: "/".into(),
            assume_role_policy_document: trust.into(),
            description: String::new(),
            max_session_duration: 3_600,
            tags: Vec::new(),
            permissions_boundary: None,
        });
    }
    // Then attach a policy of their account to every role and to every tenth user.
    let mut second = Vec::new();
    for i in 0..roles {
        second.push(Op::AttachPolicy {
            account: account(i),
            kind: iam_store::PrincipalKind::Role,
            name: format!("role-{i}"),
            policy_arn: format!(
                "arn:aws:iam::{}:policy/feed-{}",
                account(i),
                i % policies.max(1)
            ),
        });
    }
    for i in (0..users).step_by(10) {
        second.push(Op::AttachPolicy {
            account: account(i),
            kind: iam_store::PrincipalKind::User,
            name: format!("user-{i}"),
            policy_arn: format!(
                "arn:aws:iam::{}:policy/feed-{}",
                account(i),
                i % policies.max(1)
            ),
        });
    }
    (first, second)
}

#[tokio::main]
async fn main() {
    let (users, roles, policies) = (
        flag("--users", 100_000usize).unwrap(),
        flag("--roles", 10_000usize).unwrap(),
        flag("--policies", 20_000usize).unwrap(),
    );
    let samples = flag("--samples", 200usize).unwrap();
    let reference_dir = tempfile::tempdir().unwrap();
    let (_reference, mut reference, _) = scenario_node(reference_dir.path()).await;
    let dir = tempfile::tempdir().unwrap();
    let (node, mut probe, root) = scenario_node(dir.path()).await;
    reference.decisions(samples).await;
    probe.decisions(samples).await;
    let m0 = rss_mib();
    Compared::measure(&mut reference, &mut probe, "empty", samples)
        .await
        .print("both stores empty (reference vs the node to load)");
    println!("rss, two empty nodes: {m0:.0} MiB");

    // --- load
    let n = Arc::clone(&node.node);
    internal(
        &n,
        Op::CreateOrganization {
            management_account: "111111111111".into(),
        },
    )
    .await;
    for i in 0..20 {
        internal(
            &n,
            Op::CreateMemberAccount {
                account_id: format!("2{i:011}"),
                name: format!("desk-{i}"),
                role_name: "OrganizationAccountAccessRole".into(),
            },
        )
        .await;
    }
    let (first, second) = load_ops(users, roles, policies);
    let count = first.len() + second.len();
    let took = bulk(&n, first).await + bulk(&n, second).await;
    println!(
        "loaded {users} users, {roles} roles, {policies} policies ({count} writes) in {took:.1?}: {:.0} writes/s",
        count as f64 / took.as_secs_f64()
    );
    let view = n.view.load();
    println!(
        "view: {} principals at revision {}",
        view.principal_count(),
        view.revision
    );
    // Let the background work of the load settle: take a snapshot of everything now, so
    // the measured writes do not share the two cores with encoding one.
    let settle = Instant::now();
    n.raft.raft().trigger().snapshot().await.unwrap();
    let deadline = settle + Duration::from_secs(30);
    while n.raft.metrics().snapshot_index.unwrap_or(0) < view.revision && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "settled for {:.1?}: snapshot index {:?}",
        settle.elapsed(),
        n.raft.metrics().snapshot_index
    );

    let m1 = rss_mib();
    Compared::measure(&mut reference, &mut probe, "full", samples)
        .await
        .print("empty reference vs loaded store");
    println!(
        "rss, the empty reference and the loaded node: {m1:.0} MiB (the loaded node alone about {:.0} MiB)",
        m1 - m0 / 2.0
    );

    // --- restart: stop, start on the same data, time until Authorize answers again
    let config = node.node.config.clone();
    drop(probe);
    drop(n);
    node.shutdown().await;
    let t = Instant::now();
    let mut restarted = iamd::config::Config { ..config };
    restarted.listen = "127.0.0.1:0".parse().unwrap();
    restarted.peer_listen = "127.0.0.1:0".parse().unwrap();
    restarted.advertise_peer = None;
    let node = iamd_tests::start(restarted).await.unwrap();
    node.node
        .raft
        .wait_for_recovery(Duration::from_secs(60))
        .await
        .unwrap();
    let mut authz = iamd_tests::authz(&node, &root).await.unwrap();
    let alice = "arn:aws:iam::111111111111:user/alice".to_owned();
    loop {
        let r = authz
            .authorize(pb::AuthorizeRequest {
                action: "risk:GetLimits".into(),
                resource: "*".into(),
                subject: Some(pb::authorize_request::Subject::PrincipalArn(alice.clone())),
                ..Default::default()
            })
            .await;
        if r.is_ok_and(|r| r.into_inner().decision == pb::Decision::Allowed as i32) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "restart: serving again after {:.2?} ({} principals)",
        t.elapsed(),
        node.node.view.load().principal_count()
    );
    node.shutdown().await;
}
