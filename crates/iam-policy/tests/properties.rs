//! Property tests of the evaluation logic over random cases built from a small vocabulary, so
//! that random policies often apply to random requests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use iam_policy::DecisionKind;
use iam_policy::simulate::simulate_value;
use proptest::prelude::*;
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "444455556666";

fn action_pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "s3:*",
        "s3:GetObject",
        "s3:Get*",
        "S3:getobject",
        "trading:*",
        "trading:PlaceOrder",
        "trading:?ancelOrder",
        "risk:Halt",
    ])
    .prop_map(str::to_owned)
}

fn resource_pattern() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "*",
        "arn:aws:s3:::firm-tick-data/*",
        "arn:aws:s3:::firm-tick-data/2026/btc.parquet",
        "arn:aws:trading:*",
        "arn:aws:trading:eu-west-1:111122223333:venue/*/instrument/BTC-*",
        "arn:aws:risk:eu-west-1:111122223333:book/${aws:username}",
    ])
    .prop_map(str::to_owned)
}

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(prop::sample::select(vec![
        json!({"StringEquals": {"aws:PrincipalTag/desk": "delta"}}),
        json!({"StringNotEquals": {"aws:PrincipalTag/desk": "gamma"}}),
        json!({"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}),
        json!({"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24"]}}),
        json!({"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
        json!({"DateLessThan": {"aws:CurrentTime": "2026-12-01T00:00:00Z"}}),
        json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["desk", "project"]}}),
        json!({"ForAnyValue:StringLike": {"aws:TagKeys": ["d*"]}}),
        json!({"Null": {"aws:TokenIssueTime": "true"}}),
        json!({"StringLikeIfExists": {"aws:PrincipalTag/project": "alpha-*"}}),
    ]))
}

fn statement(principal: bool) -> impl Strategy<Value = Value> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(action_pattern(), 1..3),
        any::<bool>(),
        prop::collection::vec(resource_pattern(), 1..3),
        condition(),
        prop::sample::select(vec![
            json!("*"),
            json!({"AWS": ACCOUNT}),
            json!({"AWS": OTHER}),
            json!({"AWS": "arn:aws:iam::111122223333:user/alice"}),
            json!({"AWS": "arn:aws:iam::111122223333:role/bot"}),
            json!({"AWS": "arn:aws:sts::111122223333:assumed-role/bot/s1"}),
        ]),
    )
        .prop_map(
            move |(deny, not_action, actions, not_resource, resources, cond, who)| {
                let mut st = serde_json::Map::new();
                st.insert("Effect".into(), json!(if deny { "Deny" } else { "Allow" }));
                let a = if not_action { "NotAction" } else { "Action" };
                st.insert(a.into(), json!(actions));
                let r = if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                };
                st.insert(r.into(), json!(resources));
                if let Some(c) = cond {
                    st.insert("Condition".into(), c);
                }
                if principal {
                    st.insert("Principal".into(), who);
                }
                Value::Object(st)
            },
        )
}

fn policy(principal: bool) -> impl Strategy<Value = Value> {
    prop::collection::vec(statement(principal), 1..4)
        .prop_map(|sts| json!({"Version": "2012-10-17", "Statement": sts}))
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:sts::111122223333:assumed-role/bot/s1",
            "arn:aws:sts::111122223333:federated-user/carol",
            "arn:aws:iam::444455556666:user/mallory",
        ]),
        any::<bool>(),
        prop::sample::select(vec![
            "s3:GetObject",
            "s3:PutObject",
            "trading:PlaceOrder",
            "trading:CancelOrder",
            "risk:Halt",
        ]),
        prop::sample::select(vec![
            "arn:aws:s3:::firm-tick-data/2026/btc.parquet",
            "arn:aws:trading:eu-west-1:111122223333:venue/binance/instrument/BTC-PERP",
            "arn:aws:risk:eu-west-1:111122223333:book/alice",
        ]),
        prop::sample::subsequence(
            vec![
                ("aws:PrincipalTag/desk", json!("delta")),
                ("aws:SourceIp", json!("10.20.3.7")),
                ("aws:MultiFactorAuthPresent", json!("true")),
                ("aws:CurrentTime", json!("2026-11-29T12:00:00Z")),
                ("aws:TagKeys", json!(["desk"])),
                ("aws:PrincipalTag/project", json!("alpha-1")),
            ],
            0..6,
        ),
    )
        .prop_map(|(principal, cross, action, resource, ctx)| {
            let principal_account = principal.split(':').nth(4).unwrap_or_default();
            let resource_account = if cross { OTHER } else { principal_account };
            let context: serde_json::Map<String, Value> =
                ctx.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            json!({
                "principal": principal,
                "principal_account": principal_account,
                "resource_account": resource_account,
                "action": action,
                "resource": resource,
                "context": context,
            })
        })
}

fn case() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(policy(false), 0..3),
        prop::option::of(policy(true)),
        prop::option::of(policy(false)),
        prop::collection::vec(policy(false), 0..3),
        prop::collection::vec(policy(false), 0..2),
        request(),
    )
        .prop_map(|(identity, resource, boundary, scps, session, request)| {
            json!({
                "identity_policies": identity,
                "resource_policy": resource,
                "permissions_boundary": boundary,
                "scps": scps,
                "session_policies": session,
                "request": request,
            })
        })
}

fn decide(case: &Value) -> DecisionKind {
    simulate_value(case)
        .expect("generated cases are valid")
        .decision
}

/// Every policy slot of a case, as mutable JSON values.
fn slots(case: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    let Value::Object(map) = case else {
        return out;
    };
    for (key, value) in map.iter_mut() {
        match (key.as_str(), value) {
            ("identity_policies" | "scps" | "session_policies", Value::Array(list)) => {
                out.extend(list.iter_mut());
            }
            ("resource_policy" | "permissions_boundary", v @ Value::Object(_)) => out.push(v),
            _ => {}
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adding_a_deny_never_allows(mut case in case(), deny in statement(false), pick in any::<prop::sample::Index>()) {
        let before = decide(&case);
        let resource_slot = case["resource_policy"].is_object();
        let mut slots = slots(&mut case);
        prop_assume!(!slots.is_empty());
        let slot = pick.get_mut(&mut slots);
        let mut deny = deny;
        deny["Effect"] = json!("Deny");
        if resource_slot && slot.get("Statement").and_then(|s| s.get(0)).and_then(|s| s.get("Principal")).is_some() {
            deny["Principal"] = json!("*");
        }
        slot["Statement"].as_array_mut().expect("statement list").push(deny);
        let after = decide(&case);
        prop_assert!(
            after != DecisionKind::Allowed || before == DecisionKind::Allowed,
            "a deny turned {before:?} into {after:?}"
        );
    }

    #[test]
    fn statement_and_policy_order_never_matter(case in case()) {
        let before = decide(&case);
        let mut reversed = case.clone();
        for slot in slots(&mut reversed) {
            slot["Statement"].as_array_mut().expect("statement list").reverse();
        }
        for key in ["identity_policies", "session_policies"] {
            reversed[key].as_array_mut().expect("list").reverse();
        }
        prop_assert_eq!(before, decide(&reversed));
    }

    #[test]
    fn adding_an_identity_allow_never_denies(mut case in case(), allow in statement(false)) {
        let before = decide(&case);
        let mut allow = allow;
        allow["Effect"] = json!("Allow");
        case["identity_policies"]
            .as_array_mut()
            .expect("list")
            .push(json!({"Version": "2012-10-17", "Statement": [allow]}));
        let after = decide(&case);
        prop_assert!(before != DecisionKind::Allowed || after == DecisionKind::Allowed);
        prop_assert!(before == DecisionKind::ExplicitDeny || after != DecisionKind::ExplicitDeny);
    }

    #[test]
    fn arbitrary_text_never_panics_the_parser(text in ".{0,200}") {
        let _ = iam_policy::Policy::parse(&text, iam_policy::PolicyKind::Managed);
        let _ = iam_policy::simulate::simulate(&text);
    }
}
