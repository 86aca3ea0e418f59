//! Any bytes: parsing a policy of any kind must return a value or an error, never panic, and
//! a policy that parses must evaluate without panicking.
#![no_main]

use std::sync::Arc;

use iam_policy::{Context, Policies, Policy, PolicyKind, PolicySet, Request, evaluate};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 4] = [
    PolicyKind::Managed,
    PolicyKind::Resource,
    PolicyKind::Trust,
    PolicyKind::Scp,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for kind in KINDS {
        if let Ok(policy) = Policy::parse(text, kind) {
            let set = PolicySet::new([(Arc::from("fuzz"), Arc::new(policy))]);
            let mut ctx = Context::new();
            ctx.insert_single("aws:SourceIp", "10.20.3.7");
            let req = Request::new(
                "arn:aws:iam::111122223333:user/alice",
                "111122223333",
                "111122223333",
                "s3:GetObject",
                "arn:aws:s3:::bucket/key",
                &ctx,
            );
            let policies = Policies {
                identity: Some(&set),
                resource: Some(&set),
                ..Policies::default()
            };
            let _ = evaluate(&policies, &req);
        }
    }
});
