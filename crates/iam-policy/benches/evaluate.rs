//! Decision cost of the policy engine on the realistic principal of `model`, and how it
//! changes with 10,000 stored policies that do not apply. The Cedar comparison lives in
//! `crates/bench-cedar` (kept out of the workspace so CI never compiles Cedar).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod model;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use iam_policy::{Context, Policies, Policy, PolicyKind, PolicySet, Request, evaluate};
use rustc_hash::FxHashMap;

fn compile(policies: &[model::ModelPolicy]) -> PolicySet {
    PolicySet::new(policies.iter().map(|p| {
        let policy = Policy::parse(&model::iam_json(p), PolicyKind::Managed).expect("valid");
        (Arc::from(p.name.as_str()), Arc::new(policy))
    }))
}

fn context(r: &model::BenchRequest) -> Context {
    let mut ctx = Context::new();
    ctx.insert_single("aws:SourceIp", r.source_ip);
    ctx.insert_single("aws:CurrentTime", r.now_iso);
    ctx.insert_single("aws:PrincipalTag/desk", "delta");
    ctx.insert_single("aws:ResourceTag/desk", "delta");
    ctx.insert_single("aws:MultiFactorAuthPresent", "false");
    ctx
}

fn decide(set: &PolicySet, r: &model::BenchRequest, ctx: &Context, action: &str) -> bool {
    let req = Request::new(
        &r.principal,
        model::ACCOUNT,
        model::ACCOUNT,
        action,
        &r.resource,
        ctx,
    );
    let policies = Policies {
        identity: Some(set),
        ..Policies::default()
    };
    evaluate(&policies, &req).is_allowed()
}

fn benches(c: &mut Criterion) {
    let r = model::request();
    let ctx = context(&r);
    let alice = compile(&model::realistic());
    assert!(
        decide(&alice, &r, &ctx, r.action),
        "the realistic request is allowed"
    );

    let mut group = c.benchmark_group("authorize");
    group.bench_function("realistic_allow", |b| {
        b.iter(|| decide(black_box(&alice), black_box(&r), &ctx, r.action))
    });
    group.bench_function("realistic_implicit_deny", |b| {
        b.iter(|| decide(black_box(&alice), black_box(&r), &ctx, "trading:Halt"))
    });

    // 10,000 policies attached to 2,000 other principals: the store maps each principal to
    // its own compiled set, so a decision never visits them.
    let mut store: FxHashMap<String, PolicySet> = FxHashMap::default();
    let others = model::unrelated(10_000);
    for (i, chunk) in others.chunks(5).enumerate() {
        store.insert(
            format!("arn:aws:iam::{}:user/u{i}", model::ACCOUNT),
            compile(chunk),
        );
    }
    store.insert(r.principal.clone(), compile(&model::realistic()));
    group.bench_function("store_10k_other_principals", |b| {
        b.iter(|| {
            let set = &store[black_box(&r.principal)];
            decide(set, &r, &ctx, r.action)
        })
    });

    // The worst case for the index: 10,000 policies in alice's own set, all for other services.
    let mut crowded = model::realistic();
    crowded.extend(model::unrelated(10_000));
    let crowded = compile(&crowded);
    group.bench_function("own_set_plus_10k_other_services", |b| {
        b.iter(|| decide(black_box(&crowded), black_box(&r), &ctx, r.action))
    });
    group.finish();

    let text = model::iam_json(&model::realistic()[0]);
    c.bench_function("compile_policy_5_statements", |b| {
        b.iter(|| Policy::parse(black_box(&text), PolicyKind::Managed).is_ok())
    });
}

criterion_group!(evaluate_benches, benches);
criterion_main!(evaluate_benches);
