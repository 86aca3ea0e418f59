//! The policy simulator on a real node: `SimulateCustomPolicy` and `SimulatePrincipalPolicy`
//! over signed gRPC.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd::server::Running;
use iamd_tests::{authz, config, iam, read_credentials, scenario, start};
use tonic::Code;

const BINANCE: &str = "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP";
const FTX: &str = "arn:aws:trading:eu-west-1:111111111111:venue/ftx/instrument/BTC-PERP";

/// Trading anywhere but on ftx, and reading limits from the trading subnet.
const DESK_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Trade", "Effect": "Allow", "Action": "trading:*", "Resource": "*"},
    {"Sid": "NoFtx", "Effect": "Deny", "Action": "trading:*", "Resource": "arn:aws:trading:*:*:venue/ftx/*"},
    {"Sid": "Limits", "Effect": "Allow", "Action": "risk:GetLimits", "Resource": "*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}}
  ]
}"#;

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn entry(key: &str, value: &str) -> pb::ContextEntry {
    pb::ContextEntry {
        context_key_name: key.into(),
        context_key_values: vec![value.into()],
        context_key_type: pb::ContextKeyType::String as i32,
    }
}

fn sids(r: &pb::EvaluationResult) -> Vec<&str> {
    r.matched_statements
        .iter()
        .map(|s| s.sid.as_str())
        .collect()
}

async fn node() -> (tempfile::TempDir, Running, SigningCredentials) {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    (dir, node, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_policies_allow_deny_and_say_which_statements_matched() {
    let (_dir, node, root) = node().await;
    let mut sim = authz(&node, &root).await.unwrap();
    let request = pb::SimulateCustomPolicyRequest {
        policy_input_list: strings(&[DESK_POLICY]),
        action_names: strings(&["trading:PlaceOrder", "risk:GetLimits"]),
        resource_arns: strings(&[BINANCE, FTX]),
        ..Default::default()
    };

    // --- one result per pair, actions first; the root caller gets only what the policy gives
    let results = sim
        .simulate_custom_policy(request.clone())
        .await
        .unwrap()
        .into_inner()
        .evaluation_results;
    let pairs: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r.eval_action_name.as_str(), r.eval_resource_name.as_str()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("trading:PlaceOrder", BINANCE),
            ("trading:PlaceOrder", FTX),
            ("risk:GetLimits", BINANCE),
            ("risk:GetLimits", FTX),
        ]
    );

    // --- allowed by `Trade`
    let allowed = &results[0];
    assert_eq!(allowed.eval_decision, pb::Decision::Allowed as i32);
    assert_eq!(sids(allowed), ["Trade"]);
    assert_eq!(allowed.matched_statements[0].policy_id, "PolicyInputList.1");

    // --- ftx: explicitly denied; both statements matched, the Deny decided
    let denied = &results[1];
    assert_eq!(denied.eval_decision, pb::Decision::ExplicitDeny as i32);
    assert_eq!(sids(denied), ["Trade", "NoFtx"]);
    let explanation = denied.explanation.as_ref().unwrap();
    assert_eq!(explanation.reason, "explicit_deny");
    assert_eq!(explanation.deciding_statements[0].sid, "NoFtx");

    // --- limits without the source address: implicitly denied, the key reported missing
    let limits = &results[2];
    assert_eq!(limits.eval_decision, pb::Decision::ImplicitDeny as i32);
    assert!(limits.matched_statements.is_empty());
    assert_eq!(limits.missing_context_values, ["aws:SourceIp"]);

    // --- with the address given as a context entry, allowed
    let mut from_subnet = request.clone();
    from_subnet.context_entries = vec![pb::ContextEntry {
        context_key_type: pb::ContextKeyType::Ip as i32,
        ..entry("aws:SourceIp", "10.20.3.7")
    }];
    from_subnet.max_items = 3;
    let page = sim
        .simulate_custom_policy(from_subnet.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.evaluation_results.len(), 3);
    assert_eq!(
        page.evaluation_results[2].eval_decision,
        pb::Decision::Allowed as i32
    );

    // --- the rest of the pairs on the next page
    assert!(page.is_truncated);
    from_subnet.marker = page.marker;
    let rest = sim
        .simulate_custom_policy(from_subnet)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.evaluation_results.len(), 1);
    assert!(!rest.is_truncated);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_simulated_with_its_groups_policies() {
    let (_dir, node, root) = node().await;
    let alice = scenario::trader(&node, &root).await.unwrap();
    let mut sim = authz(&node, &root).await.unwrap();
    let place = |arn: &str| pb::SimulatePrincipalPolicyRequest {
        policy_source_arn: arn.into(),
        action_names: strings(&["trading:PlaceOrder"]),
        resource_arns: strings(&[BINANCE]),
        context_entries: vec![
            entry("aws:ResourceTag/desk", "delta"),
            entry("aws:SourceIp", "10.20.3.7"),
        ],
        ..Default::default()
    };

    // --- alice trades her desk through the `traders` group (her tag fills the variable)
    let answer = sim
        .simulate_principal_policy(place(&alice))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.revision > 0);
    let result = &answer.evaluation_results[0];
    assert_eq!(
        result.eval_decision,
        pb::Decision::Allowed as i32,
        "{result:?}"
    );
    assert_eq!(sids(result), ["TradeOwnDesk"]);
    assert_eq!(
        result.matched_statements[0].policy_id,
        "arn:aws:iam::111111111111:policy/Traders"
    );
    assert_eq!(result.allowed_by_permissions_boundary, None);

    // --- an input boundary that allows only risk actions takes the trade away
    let mut bounded = place(&alice);
    bounded.permissions_boundary_policy_input_list = strings(&[
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"risk:*","Resource":"*"}]}"#,
    ]);
    let result = sim
        .simulate_principal_policy(bounded)
        .await
        .unwrap()
        .into_inner()
        .evaluation_results
        .remove(0);
    assert_eq!(result.eval_decision, pb::Decision::ImplicitDeny as i32);
    assert_eq!(result.allowed_by_permissions_boundary, Some(false));

    // --- the group itself, with an extra input policy as if attached
    let group = pb::SimulatePrincipalPolicyRequest {
        policy_source_arn: "arn:aws:iam::111111111111:group/traders".into(),
        policy_input_list: strings(&[
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Extra","Effect":"Allow","Action":"risk:SetLimits","Resource":"*"}]}"#,
        ]),
        action_names: strings(&["risk:GetLimits", "risk:SetLimits", "iam:CreateUser"]),
        ..Default::default()
    };
    let results = sim
        .simulate_principal_policy(group)
        .await
        .unwrap()
        .into_inner()
        .evaluation_results;
    let decisions: Vec<i32> = results.iter().map(|r| r.eval_decision).collect();
    assert_eq!(
        decisions,
        [
            pb::Decision::Allowed as i32,
            pb::Decision::Allowed as i32,
            pb::Decision::ImplicitDeny as i32
        ]
    );
    assert_eq!(results[0].eval_resource_name, "*");
    assert_eq!(
        results[1].matched_statements[0].policy_id,
        "PolicyInputList.1"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_not_found() {
    let (_dir, node, root) = node().await;
    let mut sim = authz(&node, &root).await.unwrap();
    for arn in [
        "arn:aws:iam::111111111111:user/nobody",
        "arn:aws:iam::111111111111:group/nobody",
        "arn:aws:iam::222222222222:role/Admin",
    ] {
        let err = sim
            .simulate_principal_policy(pb::SimulatePrincipalPolicyRequest {
                policy_source_arn: arn.into(),
                action_names: strings(&["s3:GetObject"]),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{arn}: {}", err.message());
        assert!(
            err.message().starts_with("NoSuchEntity"),
            "{}",
            err.message()
        );
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_without_permission_may_not_simulate() {
    let (_dir, node, root) = node().await;
    let alice = scenario::trader(&node, &root).await.unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "bob".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "bob".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    let bob = SigningCredentials {
        access_key_id: key.access_key_id,
        secret_access_key: key.secret_access_key,
        session_token: None,
        region: "eu-west-1".into(),
    };
    let mut sim = authz(&node, &bob).await.unwrap();
    let custom = pb::SimulateCustomPolicyRequest {
        policy_input_list: strings(&[DESK_POLICY]),
        action_names: strings(&["trading:PlaceOrder"]),
        ..Default::default()
    };

    // --- bob has no IAM permissions
    let err = sim
        .simulate_custom_policy(custom.clone())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("iam:SimulateCustomPolicy"),
        "{}",
        err.message()
    );
    let err = sim
        .simulate_principal_policy(pb::SimulatePrincipalPolicyRequest {
            policy_source_arn: alice.clone(),
            action_names: strings(&["trading:PlaceOrder"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // --- once allowed, the same call answers
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "bob".into(),
            policy_name: "simulate".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:SimulateCustomPolicy","Resource":"*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let results = sim
        .simulate_custom_policy(custom)
        .await
        .unwrap()
        .into_inner()
        .evaluation_results;
    assert_eq!(results[0].eval_decision, pb::Decision::Allowed as i32);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_policies_and_oversized_simulations_are_refused() {
    let (_dir, node, root) = node().await;
    let mut sim = authz(&node, &root).await.unwrap();
    let err = sim
        .simulate_custom_policy(pb::SimulateCustomPolicyRequest {
            policy_input_list: strings(&[
                DESK_POLICY,
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"s3:*","Resource":"*"}]}"#,
            ]),
            action_names: strings(&["s3:GetObject"]),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().starts_with("MalformedPolicyDocument"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("`policy_input_list[1]`"),
        "{}",
        err.message()
    );

    // --- too many pairs is a limit, not a malformed request
    let actions: Vec<String> = (0..40).map(|i| format!("s3:Action{i}")).collect();
    let resources: Vec<String> = (0..30).map(|i| format!("arn:aws:s3:::b{i}")).collect();
    let err = sim
        .simulate_custom_policy(pb::SimulateCustomPolicyRequest {
            policy_input_list: strings(&[DESK_POLICY]),
            action_names: actions,
            resource_arns: resources,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted);

    // --- a resource policy over the simulator's 131,072 characters (AWS's)
    let big = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*","Condition":{{"StringEquals":{{"s3:prefix":[{}]}}}}}}]}}"#,
        vec!["\"tick-data/2026/11/30/\""; 6_000].join(",")
    );
    let err = sim
        .simulate_custom_policy(pb::SimulateCustomPolicyRequest {
            policy_input_list: strings(&[DESK_POLICY]),
            action_names: strings(&["s3:GetObject"]),
            resource_policy: big,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("resource_policy"), "{err:?}");
    node.shutdown().await;
}
