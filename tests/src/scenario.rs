//! The trading firm of the reference scenario, set up through the API.

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd::server::Running;

/// The traders' policy: `trading:*` on instruments of the trader's desk (ABAC), from the
/// trading subnet; `risk:GetLimits`; and no order on the ftx venue.
pub const TRADERS_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "TradeOwnDesk", "Effect": "Allow", "Action": "trading:*",
     "Resource": "arn:aws:trading:*:111111111111:venue/*/instrument/*",
     "Condition": {"StringEquals": {"aws:ResourceTag/desk": "${aws:PrincipalTag/desk}"},
                   "IpAddress": {"aws:SourceIp": "10.20.0.0/16"}}},
    {"Sid": "ReadLimits", "Effect": "Allow", "Action": "risk:GetLimits", "Resource": "*"},
    {"Sid": "NoFtx", "Effect": "Deny", "Action": "trading:*", "Resource": "arn:aws:trading:*:*:venue/ftx/*"}
  ]
}"#;

/// Creates the `traders` group with its policy and the trader `alice` (desk `delta`) in
/// it; returns alice's ARN.
pub async fn trader(node: &Running, root: &SigningCredentials) -> Result<String, tonic::Status> {
    let mut iam = crate::iam(node, root)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let policy_arn = iam
        .create_policy(pb::CreatePolicyRequest {
            policy_name: "Traders".into(),
            policy_document: TRADERS_POLICY.into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .policy
        .map(|p| p.arn)
        .unwrap_or_default();
    let steps = async {
        iam.create_group(pb::CreateGroupRequest {
            group_name: "traders".into(),
            ..Default::default()
        })
        .await?;
        iam.attach_group_policy(pb::AttachGroupPolicyRequest {
            group_name: "traders".into(),
            policy_arn: policy_arn.clone(),
            ..Default::default()
        })
        .await?;
        let user = iam
            .create_user(pb::CreateUserRequest {
                user_name: "alice".into(),
                tags: vec![pb::Tag {
                    key: "desk".into(),
                    value: "delta".into(),
                }],
                ..Default::default()
            })
            .await?
            .into_inner();
        iam.add_user_to_group(pb::AddUserToGroupRequest {
            group_name: "traders".into(),
            user_name: "alice".into(),
            ..Default::default()
        })
        .await?;
        Ok::<_, tonic::Status>(user.user.map(|u| u.arn).unwrap_or_default())
    };
    steps.await
}

/// The order gateway's policy: it may ask `Authorize` on behalf of the account's users, and
/// do nothing else.
pub const ORDER_GATEWAY_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "AskForClients", "Effect": "Allow", "Action": "iam:AuthorizeOnBehalfOf",
     "Resource": "arn:aws:iam::111111111111:user/*"}
  ]
}"#;

/// Creates the service user `order-gateway` with [`ORDER_GATEWAY_POLICY`] inline and an
/// access key; returns the key (signing in `root`'s region). The benchmarks' realistic
/// caller: a resource server asking about its clients, as the scenario's order gateway
/// does (here a user with a key, where the scenario's is an OIDC-assumed role).
pub async fn order_gateway(
    node: &Running,
    root: &SigningCredentials,
) -> Result<SigningCredentials, tonic::Status> {
    user_with_policy(
        node,
        root,
        "order-gateway",
        "AskForClients",
        ORDER_GATEWAY_POLICY,
    )
    .await
}

/// Creates the user `user_name` with the inline policy `policy_name` (`document`) and an
/// access key; returns the key (signing in `root`'s region).
pub async fn user_with_policy(
    node: &Running,
    root: &SigningCredentials,
    user_name: &str,
    policy_name: &str,
    document: &str,
) -> Result<SigningCredentials, tonic::Status> {
    let mut iam = crate::iam(node, root)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    iam.create_user(pb::CreateUserRequest {
        user_name: user_name.into(),
        ..Default::default()
    })
    .await?;
    iam.put_user_policy(pb::PutUserPolicyRequest {
        user_name: user_name.into(),
        policy_name: policy_name.into(),
        policy_document: document.into(),
        ..Default::default()
    })
    .await?;
    let key = iam
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: user_name.into(),
            ..Default::default()
        })
        .await?
        .into_inner()
        .access_key
        .ok_or_else(|| tonic::Status::internal("CreateAccessKey answered no key"))?;
    Ok(SigningCredentials {
        access_key_id: key.access_key_id,
        secret_access_key: key.secret_access_key,
        session_token: None,
        region: root.region.clone(),
    })
}
