//! iam-policy against Cedar (`Authorizer::is_authorized`) on the same authorization model,
//! in the same run: the realistic principal, and a store of 10,000 policies of which only
//! the principal's own apply.
//!
//! Before criterion runs, each engine is timed call by call to report p50/p99 per decision,
//! and both engines are checked to agree on a set of requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "../../iam-policy/benches/model/mod.rs"]
mod model;

use std::hint::black_box;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use cedar_policy::{
    Authorizer, Context as CedarContext, Decision, Entities, EntityUid, PolicySet as CedarSet,
    Request as CedarRequest, RestrictedExpression,
};
use criterion::Criterion;
use iam_policy::{Context, Policies, Policy, PolicyKind, PolicySet, Request, evaluate};
use rustc_hash::FxHashMap;

struct Iam {
    store: FxHashMap<String, PolicySet>,
    ctx: Context,
}

struct Cedar {
    policies: CedarSet,
    entities: Entities,
    authorizer: Authorizer,
}

fn compile(policies: &[model::ModelPolicy]) -> PolicySet {
    PolicySet::new(policies.iter().map(|p| {
        let policy = Policy::parse(&model::iam_json(p), PolicyKind::Managed).expect("valid");
        (Arc::from(p.name.as_str()), Arc::new(policy))
    }))
}

fn iam(unrelated: usize) -> Iam {
    let r = model::request();
    let mut store = FxHashMap::default();
    for (i, chunk) in model::unrelated(unrelated).chunks(5).enumerate() {
        store.insert(format!("arn:aws:iam::{}:user/u{i}", model::ACCOUNT), compile(chunk));
    }
    store.insert(r.principal.clone(), compile(&model::realistic()));
    let mut ctx = Context::new();
    ctx.insert_single("aws:SourceIp", r.source_ip);
    ctx.insert_single("aws:CurrentTime", r.now_iso);
    ctx.insert_single("aws:PrincipalTag/desk", "delta");
    ctx.insert_single("aws:ResourceTag/desk", "delta");
    ctx.insert_single("aws:MultiFactorAuthPresent", "false");
    Iam { store, ctx }
}

fn iam_decide(iam: &Iam, principal: &str, action: &str, resource: &str) -> bool {
    let Some(set) = iam.store.get(principal) else {
        return false;
    };
    let req = Request::new(principal, model::ACCOUNT, model::ACCOUNT, action, resource, &iam.ctx);
    let policies = Policies {
        identity: Some(set),
        ..Policies::default()
    };
    evaluate(&policies, &req).is_allowed()
}

fn cedar(unrelated: usize) -> Cedar {
    let mut text = String::new();
    for p in model::realistic() {
        let scope = match p.group {
            Some(g) => format!("in Group::\"{g}\""),
            None => "== User::\"alice\"".to_owned(),
        };
        text.push_str(&model::cedar_text(&p, &scope));
    }
    for (i, p) in model::unrelated(unrelated).iter().enumerate() {
        text.push_str(&model::cedar_text(p, &format!("== User::\"u{}\"", i / 5)));
    }
    let policies = CedarSet::from_str(&text).expect("cedar policies parse");
    let r = model::request();
    let entities = serde_json::json!([
        {"uid": {"type": "User", "id": "alice"}, "attrs": {"desk": "delta"},
         "parents": [{"type": "Group", "id": "traders"}, {"type": "Group", "id": "risk-readers"},
                     {"type": "Group", "id": "data-readers"}]},
        {"uid": {"type": "Group", "id": "traders"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Group", "id": "risk-readers"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Group", "id": "data-readers"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Resource", "id": r.resource}, "attrs": {"arn": r.resource, "desk": "delta"},
         "parents": []},
    ]);
    let entities = Entities::from_json_value(entities, None).expect("entities");
    Cedar {
        policies,
        entities,
        authorizer: Authorizer::new(),
    }
}

fn cedar_decide(c: &Cedar, action: &str, resource: &str) -> bool {
    let r = model::request();
    let ctx = CedarContext::from_pairs([
        ("action".to_owned(), RestrictedExpression::new_string(action.to_owned())),
        (
            "source_ip".to_owned(),
            RestrictedExpression::from_str(&format!("ip(\"{}\")", r.source_ip)).expect("ip"),
        ),
        ("now".to_owned(), RestrictedExpression::new_long(r.now_epoch)),
        ("mfa".to_owned(), RestrictedExpression::new_bool(false)),
    ])
    .expect("context");
    let request = CedarRequest::new(
        EntityUid::from_str("User::\"alice\"").expect("uid"),
        EntityUid::from_str(&format!("Action::\"{action}\"")).expect("uid"),
        EntityUid::from_str(&format!("Resource::\"{resource}\"")).expect("uid"),
        ctx,
        None,
    )
    .expect("request");
    c.authorizer
        .is_authorized(&request, &c.policies, &c.entities)
        .decision()
        == Decision::Allow
}

/// Times `f` call by call (up to 100,000 calls or 3 seconds, after a warm-up of up to
/// 10,000 calls or half a second) and prints p50/p99 in nanoseconds.
fn percentiles(name: &str, mut f: impl FnMut() -> bool) -> (u128, u128) {
    let mut samples = Vec::with_capacity(100_000);
    let warm = Instant::now();
    for _ in 0..10_000 {
        black_box(f());
        if warm.elapsed().as_millis() > 500 {
            break;
        }
    }
    let run = Instant::now();
    for _ in 0..100_000 {
        let start = Instant::now();
        black_box(f());
        samples.push(start.elapsed().as_nanos());
        if run.elapsed().as_secs() >= 3 {
            break;
        }
    }
    samples.sort_unstable();
    let (p50, p99) = (samples[samples.len() / 2], samples[samples.len() * 99 / 100]);
    println!(
        "{name:<40} p50 {p50:>8} ns   p99 {p99:>8} ns   ({} calls)",
        samples.len()
    );
    (p50, p99)
}

fn main() {
    let r = model::request();
    let alice = r.principal.clone();
    let (iam_small, iam_big) = (iam(0), iam(10_000));
    let (cedar_small, cedar_big) = (cedar(0), cedar(10_000));

    // Both engines decide the same on the model's requests.
    let btc = r.resource.clone();
    let eth = btc.replace("BTC-PERP", "ETH-PERP");
    let ftx = btc.replace("binance", "ftx");
    let checks = [
        ("trading:PlaceOrder", &btc, true),
        ("trading:GetPosition", &eth, true),
        ("trading:ClosePosition", &btc, false),
        ("trading:PlaceOrder", &ftx, false),
        ("risk:Halt", &btc, false),
    ];
    for (action, resource, expected) in checks {
        assert_eq!(iam_decide(&iam_small, &alice, action, resource), expected, "iam {action}");
        assert_eq!(cedar_decide(&cedar_small, action, resource), expected, "cedar {action}");
        assert_eq!(cedar_decide(&cedar_big, action, resource), expected, "cedar 10k {action}");
    }

    println!("per-decision latency, timed call by call (includes ~20 ns of clock overhead):");
    let (i1, _) = percentiles("iam-policy realistic", || {
        iam_decide(&iam_small, &alice, r.action, &r.resource)
    });
    let (i2, _) = percentiles("iam-policy realistic + 10k stored", || {
        iam_decide(&iam_big, &alice, r.action, &r.resource)
    });
    let (c1, _) = percentiles("cedar realistic", || cedar_decide(&cedar_small, r.action, &r.resource));
    let (c2, _) = percentiles("cedar realistic + 10k stored", || {
        cedar_decide(&cedar_big, r.action, &r.resource)
    });
    println!(
        "p50 ratio cedar/iam: realistic {:.1}x, with 10k stored {:.1}x; growth with 10k stored: iam {:.2}x, cedar {:.2}x",
        c1 as f64 / i1 as f64,
        c2 as f64 / i2 as f64,
        i2 as f64 / i1 as f64,
        c2 as f64 / c1 as f64,
    );

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("realistic");
    g.bench_function("iam-policy", |b| {
        b.iter(|| iam_decide(&iam_small, black_box(&alice), r.action, &r.resource))
    });
    g.bench_function("cedar", |b| {
        b.iter(|| cedar_decide(&cedar_small, black_box(r.action), &r.resource))
    });
    g.finish();
    let mut g = c.benchmark_group("store_10k");
    g.sample_size(10);
    g.bench_function("iam-policy", |b| {
        b.iter(|| iam_decide(&iam_big, black_box(&alice), r.action, &r.resource))
    });
    g.bench_function("cedar", |b| {
        b.iter(|| cedar_decide(&cedar_big, black_box(r.action), &r.resource))
    });
    g.finish();
    c.final_summary();
}
