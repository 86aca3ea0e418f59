//! `iamctl iam simulate-principal-policy` and `simulate-custom-policy` against a real node,
//! with the AWS CLI's flags and context-entry shorthand.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::iamctl;
use serde_json::Value;

fn decisions(json: &Value) -> Vec<(String, String)> {
    json["EvaluationResults"]
        .as_array()
        .unwrap_or_else(|| panic!("no EvaluationResults: {json}"))
        .iter()
        .map(|r| {
            (
                r["EvalResourceName"].as_str().unwrap().to_owned(),
                r["EvalDecision"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_commands_take_the_aws_cli_flags() {
    let dir = tempfile::tempdir().unwrap();
    let node = iamd_tests::start(iamd_tests::config(dir.path()))
        .await
        .unwrap();
    let root = iamd_tests::read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let trader = iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let creds = node.root_credentials.clone().unwrap();
    let binance = "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP";
    let ftx = "arn:aws:trading:eu-west-1:111111111111:venue/ftx/instrument/BTC-PERP";

    let common::Run { code, json, .. } = iamctl(
        &node,
        &creds,
        &[
            "iam",
            "simulate-principal-policy",
            "--policy-source-arn",
            &trader,
            "--action-names",
            "trading:PlaceOrder",
            "--resource-arns",
            binance,
            ftx,
            "--context-entries",
            "ContextKeyName=aws:SourceIp,ContextKeyValues=10.20.3.7,ContextKeyType=ip",
            "ContextKeyName=aws:ResourceTag/desk,ContextKeyValues=delta,ContextKeyType=string",
        ],
    )
    .await;
    assert_eq!(code, 0, "{json}");
    let got = decisions(&json);
    assert_eq!(got.len(), 2, "{json}");
    assert_eq!(got[0], (binance.to_owned(), "allowed".to_owned()), "{json}");
    assert_eq!(
        got[1],
        (ftx.to_owned(), "explicitDeny".to_owned()),
        "{json}"
    );

    let policy = dir.path().join("read-only.json");
    std::fs::write(
        &policy,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"trading:Get*","Resource":"*"}]}"#,
    )
    .unwrap();
    let file = format!("file://{}", policy.display());
    let common::Run { code, json, .. } = iamctl(
        &node,
        &creds,
        &[
            "iam",
            "simulate-custom-policy",
            "--policy-input-list",
            &file,
            "--action-names",
            "trading:GetPosition",
            "trading:PlaceOrder",
        ],
    )
    .await;
    assert_eq!(code, 0, "{json}");
    let got: Vec<String> = decisions(&json).into_iter().map(|(_, d)| d).collect();
    assert_eq!(got, ["allowed", "implicitDeny"], "{json}");

    // A malformed context entry is a usage error (252) before any call.
    let common::Run { code, .. } = iamctl(
        &node,
        &creds,
        &[
            "iam",
            "simulate-custom-policy",
            "--policy-input-list",
            &file,
            "--action-names",
            "trading:GetPosition",
            "--context-entries",
            "aws:SourceIp=10.0.0.1",
        ],
    )
    .await;
    assert_eq!(code, 252);
    node.shutdown().await;
}
