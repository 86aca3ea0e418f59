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
