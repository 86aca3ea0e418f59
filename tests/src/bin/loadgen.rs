//! Load generator: drives `Authorize` over several HTTP/2 connections at high concurrency
//! and, in the same run against the same server, `grpc.health.v1.Health/Check` (the
//! empty-RPC ceiling); reports throughput and p50/p99 latency of each and their ratio.
//!
//! `loadgen [--endpoint http://127.0.0.1:7300] --credentials FILE [--connections 4]
//!          [--concurrency 64|8,16,32,64] [--seconds 1] [--rounds 12] [--principal-arn ARN]
//!          [--batch N]
//!          [--only health|authorize] [--caller root|gateway]`
//!
//! Without `--endpoint` it starts its own single node in a temporary directory, sets up
//! the trading scenario's trader (a user, a group, a policy) and measures against it.
//! Every Authorize call carries the same message, signed once: a SigV4 signature is valid
//! for 5 minutes, so the server verifies each call in full while the generator spends no
//! CPU signing (the machine has two cores for both).
//!
//! With `--batch N` a third workload asks the same question N times in one
//! `BatchAuthorize` (one SigV4 check for N decisions, as a gateway batching its orders
//! would) and reports decisions per second against the health check's calls per second.
//!
//! Each level also reports how busy the machine's cores were (from `/proc/stat`, every
//! process) while each workload ran: the machine is saturated where they are all busy, and
//! more concurrency past that point only lengthens the queue.
//!
//! `--only W` runs one workload alone (no ratio), for profiling one of them.
//!
//! `--concurrency` takes a comma-separated list to sweep: the whole comparison runs at each
//! level in turn, on the same node and connections, and a summary table ends the output.
//!
//! `--caller gateway` (own node only) asks as the scenario's order gateway, a user whose
//! policy allows `iam:AuthorizeOnBehalfOf` on the account's users, so every call also
//! evaluates the caller's own permission to ask; the default asks as the account root,
//! which may ask without a policy evaluation (as earlier figures were measured).
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
use std::time::Duration;

use iam_api::v1 as pb;
use iamd_tests::drive::{Run, closed_loop};
use iamd_tests::presigned::Presigned;
use tonic::transport::Channel;

struct Args {
    endpoint: Option<String>,
    credentials: Option<String>,
    connections: usize,
    concurrency: Vec<usize>,
    seconds: u64,
    rounds: usize,
    principal: Option<String>,
    batch: usize,
    only: Option<String>,
    gateway: bool,
}

fn args() -> Args {
    let mut a = Args {
        endpoint: None,
        credentials: None,
        connections: 4,
        concurrency: vec![64],
        seconds: 1,
        rounds: 12,
        principal: None,
        batch: 0,
        only: None,
        gateway: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--endpoint" => a.endpoint = Some(value),
            "--credentials" => a.credentials = Some(value),
            "--connections" => a.connections = value.parse().expect("--connections N"),
            "--concurrency" => {
                a.concurrency = value
                    .split(',')
                    .map(|c| c.trim().parse().expect("--concurrency N[,N...]"))
                    .collect();
                assert!(
                    !a.concurrency.is_empty() && !a.concurrency.contains(&0),
                    "--concurrency N[,N...] with N > 0"
                );
            }
            "--seconds" => a.seconds = value.parse().expect("--seconds N"),
            "--rounds" => a.rounds = value.parse().expect("--rounds N"),
            "--principal-arn" => a.principal = Some(value),
            "--batch" => a.batch = value.parse().expect("--batch N (1-100)"),
            "--caller" => {
                assert!(
                    value == "root" || value == "gateway",
                    "--caller root|gateway"
                );
                a.gateway = value == "gateway";
            }
            "--only" => {
                assert!(
                    value == "health" || value == "authorize",
                    "--only health|authorize"
                );
                a.only = Some(value);
            }
            other => panic!("unknown flag `{other}`"),
        }
    }
    a
}

/// The one field of `AuthorizeResponse` the generator checks.
#[derive(Clone, PartialEq, prost::Message)]
struct DecisionOnly {
    #[prost(int32, tag = "1")]
    decision: i32,
}

/// The decisions of a `BatchAuthorizeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
struct BatchDecisions {
    #[prost(message, repeated, tag = "1")]
    results: Vec<DecisionOnly>,
}

/// One closed-loop run of `call` with `concurrency` callers spread over `channels`.
async fn run<F, Fut>(channels: &[Channel], concurrency: usize, seconds: u64, call: F) -> Run
where
    F: Fn(Channel) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = bool> + Send,
{
    let callers = (0..concurrency)
        .map(|i| {
            let (ch, call) = (channels[i % channels.len()].clone(), call.clone());
            move || call(ch.clone())
        })
        .collect();
    closed_loop(callers, Duration::from_secs(seconds)).await
}

/// The machine's CPU time so far, from `/proc/stat`, in clock ticks: (busy, all). Busy is
/// everything but idle and I/O wait, on every core; `None` where there is no `/proc`.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let all: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3)? + ticks.get(4)?;
    Some((all - idle, all))
}

/// How busy the machine's cores were over the runs it was told of.
#[derive(Default, Clone, Copy)]
struct Busy {
    busy: u64,
    all: u64,
}

impl Busy {
    /// Runs `work`, adding the machine's CPU time over it.
    async fn measure<T>(&mut self, work: impl Future<Output = T>) -> T {
        let before = cpu_ticks();
        let out = work.await;
        if let (Some((b0, a0)), Some((b1, a1))) = (before, cpu_ticks()) {
            self.busy += b1.saturating_sub(b0);
            self.all += a1.saturating_sub(a0);
        }
        out
    }

    /// The share of the cores' time that was busy, in percent.
    fn percent(self) -> f64 {
        if self.all == 0 {
            f64::NAN
        } else {
            100.0 * self.busy as f64 / self.all as f64
        }
    }
}

fn report(name: &str, s: &mut Run) {
    let (p50, p99) = (s.percentile(0.50), s.percentile(0.99));
    println!(
        "{name:<10} {:>10.0} calls/s   p50 {:>8.3} ms   p99 {:>8.3} ms   ({} calls, {} errors)",
        s.throughput(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        s.calls,
        s.errors
    );
}

#[tokio::main]
async fn main() {
    let a = args();
    let (_dir, _node, endpoint, creds, principal) = match &a.endpoint {
        Some(e) => {
            assert!(
                !a.gateway,
                "--caller gateway needs the generator's own node"
            );
            let creds = iamd_tests::read_credentials(std::path::Path::new(
                a.credentials.as_deref().expect("--credentials FILE"),
            ))
            .unwrap();
            (
                None,
                None,
                e.clone(),
                creds,
                a.principal.clone().expect("--principal-arn ARN"),
            )
        }
        None => {
            let dir = tempfile::tempdir().unwrap();
            let node = iamd_tests::start(iamd_tests::config(dir.path()))
                .await
                .unwrap();
            let creds =
                iamd_tests::read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
            let principal = iamd_tests::scenario::trader(&node, &creds).await.unwrap();
            let creds = if a.gateway {
                iamd_tests::scenario::order_gateway(&node, &creds)
                    .await
                    .unwrap()
            } else {
                creds
            };
            let endpoint = format!("http://{}", node.client_addr);
            (Some(dir), Some(node), endpoint, creds, principal)
        }
    };
    let host = endpoint.trim_start_matches("http://").to_owned();
    let mut channels = Vec::new();
    for _ in 0..a.connections {
        channels.push(
            tonic::transport::Endpoint::from_shared(endpoint.clone())
                .unwrap()
                .connect()
                .await
                .unwrap(),
        );
    }

    // The instrument is in the trader's own account (the one `--principal-arn` names).
    let account = principal
        .split(':')
        .nth(4)
        .filter(|a| a.len() == 12)
        .expect("--principal-arn arn:aws:iam::ACCOUNT:user/NAME");
    let order = pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: format!("arn:aws:trading:eu-west-1:{account}:venue/binance/instrument/BTC-PERP"),
        context: [
            (
                "aws:SourceIp".to_owned(),
                pb::ContextValue {
                    value: Some(pb::context_value::Value::StringValue("10.20.3.7".into())),
                },
            ),
            (
                "aws:ResourceTag/desk".to_owned(),
                pb::ContextValue {
                    value: Some(pb::context_value::Value::StringValue("delta".into())),
                },
            ),
        ]
        .into_iter()
        .collect(),
        subject: Some(pb::authorize_request::Subject::PrincipalArn(
            principal.clone(),
        )),
        ..Default::default()
    };
    // Signed once, sent every time; the server verifies each call in full.
    let presigned =
        Arc::new(Presigned::new(&creds, &host, "/iam.v1.Authorization/Authorize", &order).unwrap());
    let batch = pb::BatchAuthorizeRequest {
        items: vec![
            pb::AuthorizeItem {
                action: order.action.clone(),
                resource: order.resource.clone(),
                context: order.context.clone(),
                subject: Some(pb::authorize_item::Subject::PrincipalArn(principal.clone())),
                ..Default::default()
            };
            a.batch
        ],
        ..Default::default()
    };
    let presigned_batch = Arc::new(
        Presigned::new(
            &creds,
            &host,
            "/iam.v1.Authorization/BatchAuthorize",
            &batch,
        )
        .unwrap(),
    );
    let items = a.batch;
    let batch_call = move |ch: Channel| {
        let presigned = Arc::clone(&presigned_batch);
        async move {
            match presigned.call::<BatchDecisions>(ch).await {
                Ok(answer) => {
                    answer.results.len() == items
                        && answer
                            .results
                            .iter()
                            .all(|r| r.decision == pb::Decision::Allowed as i32)
                }
                Err(_) => false,
            }
        }
    };
    if a.batch > 0 {
        assert!(
            batch_call(channels[0].clone()).await,
            "the benchmark batch must be allowed, item by item"
        );
    }
    // Check once that the call is allowed, so the run measures real decisions.
    let call = move |ch: Channel| {
        let presigned = Arc::clone(&presigned);
        async move {
            match presigned.call::<DecisionOnly>(ch).await {
                Ok(answer) => answer.decision == pb::Decision::Allowed as i32,
                Err(_) => false,
            }
        }
    };
    assert!(
        call(channels[0].clone()).await,
        "the benchmark request must be allowed"
    );
    let health = |ch: Channel| async move {
        tonic_health::pb::health_client::HealthClient::new(ch)
            .check(tonic_health::pb::HealthCheckRequest {
                service: String::new(),
            })
            .await
            .is_ok()
    };

    let levels = a
        .concurrency
        .iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "{} connections, concurrency {levels}, {} rounds of {} s per workload, alternating; caller {}",
        a.connections,
        a.rounds,
        a.seconds,
        if a.gateway { "order-gateway" } else { "root" }
    );
    assert!(
        a.only.is_none() || a.batch == 0,
        "--only runs health or authorize alone; it takes no --batch"
    );
    if let Some(only) = a.only.as_deref() {
        for &concurrency in &a.concurrency {
            let mut r = Run::default();
            for _ in 0..a.rounds {
                r.absorb(if only == "health" {
                    run(&channels, concurrency, a.seconds, health).await
                } else {
                    run(&channels, concurrency, a.seconds, call.clone()).await
                });
            }
            report(&format!("{only} c={concurrency}"), &mut r);
        }
        return;
    }
    let mut summary = Vec::new();
    for &concurrency in &a.concurrency {
        if a.concurrency.len() > 1 {
            println!("concurrency {concurrency}");
        }
        // The machine's speed drifts: alternate short runs of each workload and add them
        // up, so both see the same conditions.
        let mut h = Run::default();
        let mut z = Run::default();
        let mut b = Run::default();
        let (mut h_cpu, mut z_cpu) = (Busy::default(), Busy::default());
        for _ in 0..a.rounds {
            h.absorb(
                h_cpu
                    .measure(run(&channels, concurrency, a.seconds, health))
                    .await,
            );
            z.absorb(
                z_cpu
                    .measure(run(&channels, concurrency, a.seconds, call.clone()))
                    .await,
            );
            if a.batch > 0 {
                b.absorb(run(&channels, concurrency, a.seconds, batch_call.clone()).await);
            }
        }
        report("health", &mut h);
        report("authorize", &mut z);
        if a.batch > 0 {
            report(&format!("batch {}", a.batch), &mut b);
        }
        let ratio = 100.0 * z.throughput() / h.throughput();
        println!("authorize / health throughput: {ratio:.1}%");
        println!(
            "cores busy: {:.1}% during health, {:.1}% during authorize",
            h_cpu.percent(),
            z_cpu.percent()
        );
        if a.batch > 0 {
            println!(
                "batch decisions / health calls: {:.1}% ({:.0} decisions/s)",
                100.0 * b.throughput() * a.batch as f64 / h.throughput(),
                b.throughput() * a.batch as f64
            );
        }
        summary.push((
            concurrency,
            h.throughput(),
            z.throughput(),
            ratio,
            z.percentile(0.99),
            h.percentile(0.99),
            z_cpu.percent(),
        ));
    }
    if summary.len() > 1 {
        println!(
            "\nconcurrency   health/s   authorize/s   ratio   authorize p99 (health p99)   cores busy"
        );
        for (c, health, authorize, ratio, p99, health_p99, busy) in summary {
            println!(
                "{c:>11} {health:>10.0} {authorize:>13.0} {ratio:>6.1}%   {:.3} ms ({:.3} ms)   {busy:>13.1}%",
                p99.as_secs_f64() * 1e3,
                health_p99.as_secs_f64() * 1e3
            );
        }
    }
}
