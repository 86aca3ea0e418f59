//! A real node on loopback, driven over gRPC through signed clients.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use iam_api::signing::SigningCredentials;
use iam_api::v1 as pb;
use iamd_tests::scenario::user_with_policy;
use iamd_tests::{authz, config, iam, read_credentials, start};
use tonic::Code;

fn principal(arn: &str) -> Option<pb::authorize_request::Subject> {
    Some(pb::authorize_request::Subject::PrincipalArn(arn.into()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_writes_private_root_credentials_and_serves_health() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let path = node
        .root_credentials
        .clone()
        .expect("first start writes credentials");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable only by the user");
    }
    let creds = read_credentials(&path).unwrap();
    assert!(creds.access_key_id.starts_with("AKIA"));
    assert_eq!(creds.secret_access_key.len(), 40);

    tracing_free_health_check(&node).await;
    node.shutdown().await;
}

async fn tracing_free_health_check(node: &iamd::server::Running) {
    let status = iamd_tests::health(node, "iam.v1.Iam")
        .await
        .expect("health checks need no signature");
    assert_eq!(
        status,
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_and_badly_signed_calls_are_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();

    // --- no signature at all
    let ch = iamd_tests::channel(&node).await.unwrap();
    let mut unsigned = pb::iam_client::IamClient::new(ch);
    let err = unsigned
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("MissingAuthenticationToken"),
        "{}",
        err.message()
    );

    // --- the right key id with a wrong secret
    let wrong = SigningCredentials {
        secret_access_key: "x".repeat(40),
        ..root.clone()
    };
    let err = iam(&node, &wrong)
        .await
        .unwrap()
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("SignatureDoesNotMatch"),
        "{}",
        err.message()
    );

    // --- an unknown key
    let unknown = SigningCredentials {
        access_key_id: "AKIAAAAAAAAAAAAAAAAA".into(),
        ..root.clone()
    };
    let err = iam(&node, &unknown)
        .await
        .unwrap()
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message().contains("InvalidClientTokenId"),
        "{}",
        err.message()
    );

    // --- and the root credentials work
    iam(&node, &root)
        .await
        .unwrap()
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_keys_and_self_authorization() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();

    // --- the root user creates a trader with an access key
    let created = admin
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            path: "/traders/".into(),
            tags: vec![pb::Tag {
                key: "desk".into(),
                value: "delta".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let user = created.user.unwrap();
    assert_eq!(user.arn, "arn:aws:iam::111111111111:user/traders/alice");
    assert!(user.user_id.starts_with("AIDA"));
    assert!(created.revision > 0, "every write answers its revision");

    let dup = admin
        .create_user(pb::CreateUserRequest {
            user_name: "ALICE".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    let bad = admin
        .create_user(pb::CreateUserRequest {
            user_name: "has space".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    let missing = admin
        .get_user(pb::GetUserRequest {
            user_name: "bob".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);

    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "alice".into(),
            idempotency_key: "alice-key-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    let again = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "alice".into(),
            idempotency_key: "alice-key-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    assert_eq!(
        key.access_key_id, again.access_key_id,
        "a retried write is applied once"
    );
    // --- the same key for another request is refused: no other user's key (and secret)
    //     is answered, and nothing is applied
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let reused = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "carol".into(),
            idempotency_key: "alice-key-1".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition, "{reused:?}");
    assert!(
        reused.message().contains("IdempotentParameterMismatch")
            && !reused.message().contains(&key.secret_access_key),
        "{reused:?}"
    );
    let reused = admin
        .create_group(pb::CreateGroupRequest {
            group_name: "quants".into(),
            idempotency_key: "alice-key-1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), Code::FailedPrecondition, "{reused:?}");
    // --- two rpcs whose messages are the same bytes: the key is still for the first one
    let same_bytes = |user: &str| pb::AttachUserPolicyRequest {
        user_name: user.into(),
        policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        idempotency_key: "carol-policy".into(),
    };
    admin.attach_user_policy(same_bytes("carol")).await.unwrap();
    let detach = admin
        .detach_user_policy(pb::DetachUserPolicyRequest {
            user_name: "carol".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            idempotency_key: "carol-policy".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(detach.code(), Code::FailedPrecondition, "{detach:?}");
    let attached = admin
        .list_attached_user_policies(pb::ListAttachedUserPoliciesRequest {
            user_name: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .attached_policies;
    assert_eq!(attached.len(), 1, "still attached: {attached:?}");
    admin
        .detach_user_policy(pb::DetachUserPolicyRequest {
            user_name: "carol".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let carol_keys = admin
        .list_access_keys(pb::ListAccessKeysRequest {
            user_name: "carol".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(carol_keys.access_key_metadata.is_empty(), "{carol_keys:?}");
    for bad in ["has space", "x".repeat(65).as_str(), "emoji-\u{1f600}"] {
        let err = admin
            .create_group(pb::CreateGroupRequest {
                group_name: "quants".into(),
                idempotency_key: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
        assert!(err.message().contains("idempotency_key"), "{err:?}");
    }
    let alice = SigningCredentials {
        access_key_id: key.access_key_id.clone(),
        secret_access_key: key.secret_access_key.clone(),
        session_token: None,
        region: "eu-west-1".into(),
    };

    // --- alice has no IAM permissions: her management calls are refused
    let err = iam(&node, &alice)
        .await
        .unwrap()
        .create_user(pb::CreateUserRequest {
            user_name: "mallory".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert!(
        err.message().contains("iam:CreateUser"),
        "{}",
        err.message()
    );

    // --- Authorize on alice's behalf: nothing allows her to trade yet
    let answer = authz(&node, &root)
        .await
        .unwrap()
        .authorize(pb::AuthorizeRequest {
            action: "trading:PlaceOrder".into(),
            resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP"
                .into(),
            subject: principal(&user.arn),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.decision, pb::Decision::ImplicitDeny as i32);
    assert!(answer.revision >= created.revision);

    // --- alice's refused call still used her key: its last use is recorded
    let mut last_used = None;
    for _ in 0..200 {
        last_used = admin
            .get_access_key_last_used(pb::GetAccessKeyLastUsedRequest {
                access_key_id: key.access_key_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .access_key_last_used
            .and_then(|u| u.last_used_date);
        if last_used.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        last_used.is_some(),
        "the key's last use is replicated within a few flushes"
    );

    // --- an inactive key no longer authenticates
    admin
        .update_access_key(pb::UpdateAccessKeyRequest {
            user_name: "alice".into(),
            access_key_id: key.access_key_id.clone(),
            status: pb::StatusType::Inactive as i32,
            ..Default::default()
        })
        .await
        .unwrap();
    let err = iam(&node, &alice)
        .await
        .unwrap()
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_has_every_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let mut last = 0;
    for i in 0..20 {
        last = admin
            .create_user(pb::CreateUserRequest {
                user_name: format!("bot-{i}"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revision;
    }
    node.shutdown().await;

    // --- same data directory, new process state
    let node = start(config(dir.path())).await.unwrap();
    assert!(
        node.root_credentials.is_none(),
        "a restart does not bootstrap again"
    );
    node.node.wait_revision(last).await.unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let users = admin
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(users.len(), 20, "every acknowledged user is back");
    node.shutdown().await;
}

fn ctx(pairs: &[(&str, &str)]) -> std::collections::HashMap<String, pb::ContextValue> {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                pb::ContextValue {
                    value: Some(pb::context_value::Value::StringValue((*v).to_owned())),
                },
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trading_desk_scenario_decides_like_aws() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let alice = iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let mut gateway = authz(&node, &root).await.unwrap();
    let ask = |instrument: &str, desk: &str, ip: &str| pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: format!("arn:aws:trading:eu-west-1:111111111111:venue/{instrument}"),
        context: ctx(&[("aws:ResourceTag/desk", desk), ("aws:SourceIp", ip)]),
        subject: principal(&alice),
        ..Default::default()
    };

    // --- her desk, from the trading subnet: allowed by the group's policy
    let ok = gateway
        .authorize(ask("binance/instrument/BTC-PERP", "delta", "10.20.3.7"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.decision, pb::Decision::Allowed as i32, "{ok:?}");
    let deciding = &ok.explanation.unwrap().deciding_statements;
    assert_eq!(deciding[0].sid, "TradeOwnDesk");
    assert_eq!(
        deciding[0].policy_id,
        "arn:aws:iam::111111111111:policy/Traders"
    );
    // --- another desk's instrument, or from outside the subnet: implicitly denied
    let other = gateway
        .authorize(ask("binance/instrument/BTC-PERP", "gamma", "10.20.3.7"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(other.decision, pb::Decision::ImplicitDeny as i32);
    let outside = gateway
        .authorize(ask("binance/instrument/BTC-PERP", "delta", "192.0.2.1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outside.decision, pb::Decision::ImplicitDeny as i32);
    // --- ftx: explicitly denied
    let ftx = gateway
        .authorize(ask("ftx/instrument/BTC-PERP", "delta", "10.20.3.7"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ftx.decision, pb::Decision::ExplicitDeny as i32);

    // --- a policy change is visible to a reader that demands its revision
    let mut admin = iam(&node, &root).await.unwrap();
    let change = admin
        .create_policy_version(pb::CreatePolicyVersionRequest {
            policy_arn: "arn:aws:iam::111111111111:policy/Traders".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"risk:GetLimits","Resource":"*"}]}"#.into(),
            set_as_default: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut after = ask("binance/instrument/BTC-PERP", "delta", "10.20.3.7");
    after.min_revision = change.revision;
    let answer = gateway.authorize(after).await.unwrap().into_inner();
    assert_eq!(
        answer.decision,
        pb::Decision::ImplicitDeny as i32,
        "the trading grant is gone"
    );
    assert!(answer.revision >= change.revision);

    // --- callers may not forge the subject's identity keys
    let mut forged = ask("binance/instrument/BTC-PERP", "delta", "10.20.3.7");
    forged
        .context
        .extend(ctx(&[("aws:PrincipalTag/desk", "gamma")]));
    let err = gateway.authorize(forged).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_in_another_account_needs_its_resource_policy_too() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "quant".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let put = admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "quant".into(),
            policy_name: "AnyVenue".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"trading:PlaceOrder","Resource":"arn:aws:trading:*:*:venue/*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let quant = "arn:aws:iam::111111111111:user/quant";
    let mut gateway = authz(&node, &root).await.unwrap();
    let ask = |account: &str, resource_policy: &str, resource_account: &str| pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: format!("arn:aws:trading:eu-west-1:{account}:venue/binance"),
        resource_policy: resource_policy.into(),
        resource_account: resource_account.into(),
        subject: principal(quant),
        min_revision: put.revision,
        ..Default::default()
    };
    let decide = |request: pb::AuthorizeRequest| {
        let mut gateway = gateway.clone();
        async move { gateway.authorize(request).await.unwrap().into_inner() }
    };

    // --- the subject's own account: its identity policy is enough
    let own = decide(ask("111111111111", "", "")).await;
    assert_eq!(own.decision, pb::Decision::Allowed as i32, "{own:?}");
    // --- the ARN names another account: cross-account, and no resource policy allows
    let other = decide(ask("222222222222", "", "")).await;
    assert_eq!(
        other.decision,
        pb::Decision::ImplicitDeny as i32,
        "the account in the resource's ARN owns it: {other:?}"
    );
    // --- the other account's resource policy grants the subject: allowed
    let grant = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{quant}"}},"Action":"trading:PlaceOrder","Resource":"*"}}]}}"#
    );
    let granted = decide(ask("222222222222", &grant, "")).await;
    assert_eq!(
        granted.decision,
        pb::Decision::Allowed as i32,
        "{granted:?}"
    );
    // --- a given owner overrides the ARN's account
    let stated = decide(ask("111111111111", "", "222222222222")).await;
    assert_eq!(
        stated.decision,
        pb::Decision::ImplicitDeny as i32,
        "{stated:?}"
    );
    // --- an owner that is not an account id is refused, naming the field
    let err = gateway
        .authorize(ask("111111111111", "", "2222"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("resource_account"), "{err:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_order_gateway_asks_for_its_clients_only_as_its_policy_allows() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let alice = iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let gateway_key = iamd_tests::scenario::order_gateway(&node, &root)
        .await
        .unwrap();
    let mut gateway = authz(&node, &gateway_key).await.unwrap();
    let order = |subject: Option<&str>| pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP".into(),
        context: ctx(&[
            ("aws:ResourceTag/desk", "delta"),
            ("aws:SourceIp", "10.20.3.7"),
        ]),
        subject: subject.and_then(principal),
        ..Default::default()
    };

    // --- on behalf of a client: the client's permissions decide
    let ok = gateway
        .authorize(order(Some(&alice)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.decision, pb::Decision::Allowed as i32, "{ok:?}");
    assert_eq!(ok.principal_arn, alice);
    // --- for itself: it cannot place orders
    let own = gateway.authorize(order(None)).await.unwrap().into_inner();
    assert_eq!(own.decision, pb::Decision::ImplicitDeny as i32, "{own:?}");
    assert_eq!(
        own.principal_arn,
        "arn:aws:iam::111111111111:user/order-gateway"
    );
    // --- a user that does not exist, within its policy: a decision, not an error
    let nobody = gateway
        .authorize(order(Some("arn:aws:iam::111111111111:user/nobody")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(nobody.decision, pb::Decision::ImplicitDeny as i32);
    assert_eq!(nobody.explanation.unwrap().reason, "subject_not_found");
    // --- outside its policy (the root, a role, whether or not it exists): refused, and
    //     nothing said about the subject
    for subject in [
        "arn:aws:iam::111111111111:root",
        "arn:aws:iam::111111111111:role/nobody",
        "arn:aws:iam::222222222222:user/alice",
    ] {
        let err = gateway
            .authorize(order(Some(subject)))
            .await
            .expect_err(subject);
        assert_eq!(err.code(), Code::PermissionDenied, "{subject}: {err:?}");
    }
    // --- a batch holding an item it may not ask about is refused whole
    let batch = pb::BatchAuthorizeRequest {
        items: [alice.as_str(), "arn:aws:iam::111111111111:root"]
            .iter()
            .map(|arn| pb::AuthorizeItem {
                action: "trading:PlaceOrder".into(),
                resource: "*".into(),
                subject: Some(pb::authorize_item::Subject::PrincipalArn((*arn).into())),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    let err = gateway.batch_authorize(batch).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_keys_aws_sets_have_aws_formats() {
    // aws:CurrentTime is ISO 8601 text and aws:EpochTime a number of seconds, as AWS sets
    // them: a string pattern on the one and a numeric comparison on the other match, and
    // the date operators read both.
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "clock".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let allow = |condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"trading:PlaceOrder","Resource":"*","Condition":{condition}}}]}}"#
        )
    };
    let mut gateway = authz(&node, &root).await.unwrap();
    for (condition, allowed) in [
        (
            r#"{"StringLike":{"aws:CurrentTime":"20??-??-??T??:??:??Z"}}"#,
            true,
        ),
        (
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            true,
        ),
        (
            r#"{"DateLessThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            false,
        ),
        (r#"{"NumericGreaterThan":{"aws:CurrentTime":"1"}}"#, false),
        (
            r#"{"NumericGreaterThan":{"aws:EpochTime":"1600000000"}}"#,
            true,
        ),
        (
            r#"{"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}}"#,
            true,
        ),
        // Present in every signed request, false for IAM principals.
        (
            r#"{"Bool":{"aws:PrincipalIsAWSService":"false","aws:ViaAWSService":"false"}}"#,
            true,
        ),
        (r#"{"Null":{"aws:PrincipalIsAWSService":"true"}}"#, false),
    ] {
        admin
            .put_user_policy(pb::PutUserPolicyRequest {
                user_name: "clock".into(),
                policy_name: "Clock".into(),
                policy_document: allow(condition),
                ..Default::default()
            })
            .await
            .unwrap();
        let answer = gateway
            .authorize(pb::AuthorizeRequest {
                action: "trading:PlaceOrder".into(),
                resource: "*".into(),
                subject: principal("arn:aws:iam::111111111111:user/clock"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let expected = if allowed {
            pb::Decision::Allowed
        } else {
            pb::Decision::ImplicitDeny
        };
        assert_eq!(answer.decision, expected as i32, "{condition}: {answer:?}");
    }
    // --- aws:userid is a user's unique id, as in AWS's per-user prefix pattern
    let user_id = admin
        .get_user(pb::GetUserRequest {
            user_name: "clock".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .user_id;
    assert!(user_id.starts_with("AIDA"), "{user_id}");
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "clock".into(),
            policy_name: "Clock".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::firm-strategies/home/${aws:userid}/*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    for (owner, allowed) in [(user_id.as_str(), true), ("AIDAOTHERUSER0000000", false)] {
        let answer = gateway
            .authorize(pb::AuthorizeRequest {
                action: "s3:GetObject".into(),
                resource: format!("arn:aws:s3:::firm-strategies/home/{owner}/momentum.py"),
                subject: principal("arn:aws:iam::111111111111:user/clock"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.decision == pb::Decision::Allowed as i32,
            allowed,
            "{owner}: {answer:?}"
        );
    }
    // --- a role session's aws:userid is the role's unique id and the session's name
    let role_id = admin
        .create_role(pb::CreateRoleRequest {
            role_name: "backtest-runner".into(),
            assume_role_policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#.into(),
            max_session_duration: 3600,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap()
        .role_id;
    admin
        .put_role_policy(pb::PutRolePolicyRequest {
            role_name: "backtest-runner".into(),
            policy_name: "OwnPrefix".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::firm-strategies/sessions/${aws:userid}/*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let session = "arn:aws:sts::111111111111:assumed-role/backtest-runner/run-7";
    for (owner, allowed) in [
        (format!("{role_id}:run-7"), true),
        (format!("{role_id}:run-8"), false),
    ] {
        let answer = gateway
            .authorize(pb::AuthorizeRequest {
                action: "s3:GetObject".into(),
                resource: format!("arn:aws:s3:::firm-strategies/sessions/{owner}/data.csv"),
                subject: principal(session),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            answer.decision == pb::Decision::Allowed as i32,
            allowed,
            "{owner}: {answer:?}"
        );
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_control_policies_limit_member_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();

    // --- the bootstrap account becomes the management account of an organization
    let org = admin
        .create_organization(pb::CreateOrganizationRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    assert!(org.id.starts_with("o-") && org.root_id.starts_with("r-"));
    let research = admin
        .create_account(pb::CreateAccountRequest {
            account_name: "research".into(),
            account_id: "222222222222".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        research.role_arn,
        "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
    );
    let ou = admin
        .create_organizational_unit(pb::CreateOrganizationalUnitRequest {
            parent_id: org.root_id.clone(),
            name: "Research".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organizational_unit
        .unwrap();
    admin
        .move_account(pb::MoveAccountRequest {
            account_id: "222222222222".into(),
            source_parent_id: org.root_id.clone(),
            destination_parent_id: ou.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap();

    // --- research may not trade, except to read positions
    let scp = admin
        .create_service_control_policy(pb::CreateServiceControlPolicyRequest {
            name: "NoTradingInResearch".into(),
            content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"trading:GetPosition","Resource":"arn:aws:trading:*"}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let attached = admin
        .attach_service_control_policy(pb::AttachServiceControlPolicyRequest {
            policy_id: scp.policy.unwrap().id,
            target_id: ou.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();

    let mut gateway = authz(&node, &root).await.unwrap();
    let ask = |action: &str| pb::AuthorizeRequest {
        action: action.into(),
        resource: "arn:aws:trading:eu-west-1:222222222222:venue/binance/instrument/BTC-PERP".into(),
        subject: principal(&research.role_arn),
        min_revision: attached.revision,
        ..Default::default()
    };
    let place = gateway
        .authorize(ask("trading:PlaceOrder"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        place.decision,
        pb::Decision::ExplicitDeny as i32,
        "{place:?}"
    );
    let deciding = &place.explanation.unwrap().deciding_statements;
    assert_eq!(deciding[0].policy_type, pb::PolicyType::Scp as i32);
    assert_eq!(
        deciding[0].scp_level, 1,
        "attached to the OU, one level below the root"
    );
    let read = gateway
        .authorize(ask("trading:GetPosition"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        read.decision,
        pb::Decision::Allowed as i32,
        "AdministratorAccess within the SCPs"
    );

    // --- the data lake's bucket policy grants reads to the organization: aws:PrincipalOrgID
    //     and aws:PrincipalOrgPaths come from the subject's account
    let bucket = |condition: String| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::firm-tick-data/*","Condition":{condition}}}]}}"#
        )
    };
    let read_ticks = |policy: String| pb::AuthorizeRequest {
        action: "s3:GetObject".into(),
        resource: "arn:aws:s3:::firm-tick-data/2026/11/30/BTC-PERP.parquet".into(),
        resource_policy: policy,
        resource_account: "333333333333".into(),
        subject: principal(&research.role_arn),
        ..Default::default()
    };
    let in_ou = format!("{}/{}/{}/*", org.id, org.root_id, ou.id);
    for (condition, allowed) in [
        (
            format!(
                r#"{{"StringEquals":{{"aws:PrincipalOrgID":"{}"}}}}"#,
                org.id
            ),
            true,
        ),
        (
            r#"{"StringEquals":{"aws:PrincipalOrgID":"o-0000000000"}}"#.to_owned(),
            false,
        ),
        (
            format!(r#"{{"ForAnyValue:StringLike":{{"aws:PrincipalOrgPaths":"{in_ou}"}}}}"#),
            true,
        ),
        (
            format!(
                r#"{{"ForAnyValue:StringLike":{{"aws:PrincipalOrgPaths":"{}/{}/"}}}}"#,
                org.id, org.root_id
            ),
            false,
        ),
    ] {
        let answer = gateway
            .authorize(read_ticks(bucket(condition.clone())))
            .await
            .unwrap()
            .into_inner();
        let expected = if allowed {
            pb::Decision::Allowed
        } else {
            pb::Decision::ImplicitDeny
        };
        assert_eq!(answer.decision, expected as i32, "{condition}: {answer:?}");
    }
    // A caller cannot supply them for the subject.
    let mut forged = read_ticks(bucket(format!(
        r#"{{"StringEquals":{{"aws:PrincipalOrgID":"{}"}}}}"#,
        org.id
    )));
    forged.context = ctx(&[("aws:PrincipalOrgID", "o-0000000000")]);
    let err = gateway.authorize(forged).await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");

    // --- a target keeps at least one SCP; an attached SCP cannot be deleted
    let err = admin
        .detach_service_control_policy(pb::DetachServiceControlPolicyRequest {
            policy_id: "p-FullAWSAccess".into(),
            target_id: org.root_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_inline_policies_tags_boundaries_and_passwords_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bot-momentum"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"momentum-7"}}}]}"#;
    let inline = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["trading:PlaceOrder","trading:CancelOrder"],"Resource":"arn:aws:trading:*:111111111111:venue/*/instrument/BTC-*","Condition":{"IpAddress":{"aws:SourceIp":"10.20.0.0/16"}}}]}"#;

    // --- a bot role with a trust policy, an inline policy, a boundary and tags
    let role = admin
        .create_role(pb::CreateRoleRequest {
            role_name: "bot-momentum-btc".into(),
            path: "/bots/".into(),
            assume_role_policy_document: trust.into(),
            max_session_duration: 3600,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .role
        .unwrap();
    admin
        .put_role_policy(pb::PutRolePolicyRequest {
            role_name: "bot-momentum-btc".into(),
            policy_name: "btc-orders".into(),
            policy_document: inline.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let stored = admin
        .get_role_policy(pb::GetRolePolicyRequest {
            role_name: "bot-momentum-btc".into(),
            policy_name: "btc-orders".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        stored.policy_document, inline,
        "documents come back as written"
    );
    admin
        .put_role_permissions_boundary(pb::PutRolePermissionsBoundaryRequest {
            role_name: "bot-momentum-btc".into(),
            permissions_boundary: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .tag_role(pb::TagRoleRequest {
            role_name: "bot-momentum-btc".into(),
            tags: vec![pb::Tag {
                key: "strategy".into(),
                value: "momentum".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let tags = admin
        .list_role_tags(pb::ListRoleTagsRequest {
            role_name: "bot-momentum-btc".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .tags;
    assert_eq!(tags.len(), 1);

    // --- the boundary caps the inline grant: read-only boundary, so no orders
    let mut gateway = authz(&node, &root).await.unwrap();
    let order = |ip: &str| pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP".into(),
        context: ctx(&[("aws:SourceIp", ip)]),
        subject: principal("arn:aws:sts::111111111111:assumed-role/bot-momentum-btc/run-1"),
        ..Default::default()
    };
    let capped = gateway
        .authorize(order("10.20.3.7"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(capped.decision, pb::Decision::ImplicitDeny as i32);
    assert_eq!(
        capped.explanation.unwrap().reason,
        "permissions_boundary_not_allowed"
    );
    admin
        .delete_role_permissions_boundary(pb::DeleteRolePermissionsBoundaryRequest {
            role_name: "bot-momentum-btc".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let ok = gateway
        .authorize(order("10.20.3.7"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ok.decision,
        pb::Decision::Allowed as i32,
        "a session of the role, from the trading subnet"
    );
    assert_eq!(ok.principal_arn, role.arn);
    let outside = gateway
        .authorize(order("192.0.2.1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outside.decision, pb::Decision::ImplicitDeny as i32);

    // --- a role with policies cannot be deleted (AWS's DeleteConflict)
    let err = admin
        .delete_role(pb::DeleteRoleRequest {
            role_name: "bot-momentum-btc".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // --- without a policy of its own the account has AWS's default: 8 characters of three
    //     kinds
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let one_kind = admin
        .create_login_profile(pb::CreateLoginProfileRequest {
            user_name: "ops".into(),
            password: "abcdefghij".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(one_kind.code(), Code::InvalidArgument);
    assert!(
        one_kind.message().contains("PasswordPolicyViolation"),
        "{one_kind:?}"
    );

    // --- passwords follow the account password policy
    admin
        .update_account_password_policy(pb::UpdateAccountPasswordPolicyRequest {
            minimum_password_length: 14,
            require_numbers: true,
            ..Default::default()
        })
        .await
        .unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "risk-officer".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let weak = admin
        .create_login_profile(pb::CreateLoginProfileRequest {
            user_name: "risk-officer".into(),
            password: "short1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(weak.code(), Code::InvalidArgument);
    assert!(
        weak.message().contains("PasswordPolicyViolation"),
        "{}",
        weak.message()
    );
    assert!(
        !weak.message().contains("short1"),
        "a password never appears in an error"
    );
    admin
        .create_login_profile(pb::CreateLoginProfileRequest {
            user_name: "risk-officer".into(),
            password: "correct-horse-battery-9".into(),
            password_reset_required: true,
            ..Default::default()
        })
        .await
        .unwrap();
    let profile = admin
        .get_login_profile(pb::GetLoginProfileRequest {
            user_name: "risk-officer".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .login_profile
        .unwrap();
    assert!(profile.password_reset_required);

    // --- an oversized request is refused before anything is decoded
    let huge = admin
        .create_policy(pb::CreatePolicyRequest {
            policy_name: "huge".into(),
            policy_document: "x".repeat(5 * 1024 * 1024),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(huge.code(), Code::ResourceExhausted);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_calls_set_the_context_keys_aws_sets() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let tag = |key: &str, value: &str| pb::Tag {
        key: key.into(),
        value: value.into(),
    };
    let boundary = "arn:aws:iam::aws:policy/PowerUserAccess";
    // The delegated administrator of the delta desk: AWS's usual guardrails, each on a key
    // only the request can supply.
    let delegate = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"iam:CreateUser","Resource":"*",
              "Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}},
            {{"Effect":"Allow","Action":["iam:AttachUserPolicy","iam:PutUserPolicy"],"Resource":"*"}},
            {{"Effect":"Deny","Action":"iam:AttachUserPolicy","Resource":"*",
              "Condition":{{"ArnEquals":{{"iam:PolicyARN":"arn:aws:iam::aws:policy/AdministratorAccess"}}}}}},
            {{"Effect":"Deny","Action":"iam:PutUserPolicy","Resource":"*",
              "Condition":{{"StringNotEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}},
            {{"Effect":"Allow","Action":"iam:TagUser","Resource":"*",
              "Condition":{{"StringEquals":{{"aws:RequestTag/desk":"delta"}},
                           "ForAllValues:StringEquals":{{"aws:TagKeys":["desk"]}}}}}},
            {{"Effect":"Allow","Action":"iam:DeleteUser","Resource":"*",
              "Condition":{{"StringEquals":{{"iam:ResourceTag/desk":"delta"}}}}}},
            {{"Effect":"Allow","Action":"iam:DeleteRole","Resource":"*",
              "Condition":{{"StringEquals":{{"iam:PermissionsBoundary":"{boundary}"}}}}}}
        ]}}"#
    );
    let creds = user_with_policy(&node, &root, "desk-admin", "DeltaDeskAdmin", &delegate)
        .await
        .unwrap();
    let mut delegated = iam(&node, &creds).await.unwrap();
    fn denied<T: std::fmt::Debug>(r: Result<T, tonic::Status>, what: &str) {
        match r {
            Err(e) if e.code() == Code::PermissionDenied => {}
            other => panic!("{what}: expected PERMISSION_DENIED, got {other:?}"),
        }
    }
    let create = |name: &str, boundary: &str| pb::CreateUserRequest {
        user_name: name.into(),
        permissions_boundary: boundary.into(),
        ..Default::default()
    };

    // --- iam:PermissionsBoundary: a user only with the boundary
    denied(
        delegated.create_user(create("t-1", "")).await,
        "CreateUser without the boundary",
    );
    denied(
        delegated
            .create_user(create("t-1", "arn:aws:iam::aws:policy/IAMFullAccess"))
            .await,
        "CreateUser with another boundary",
    );
    delegated
        .create_user(create("t-1", boundary))
        .await
        .unwrap();
    // ... and tags given at creation need iam:TagUser (here: desk=delta only)
    let tagged = |desk: &str| pb::CreateUserRequest {
        tags: vec![tag("desk", desk)],
        ..create(&format!("t-{desk}"), boundary)
    };
    denied(
        delegated.create_user(tagged("gamma")).await,
        "CreateUser tagged for another desk",
    );
    delegated.create_user(tagged("delta")).await.unwrap();
    // ... and inline policies only on users that have it (the target's boundary)
    let inline = |user: &str| {
        pb::PutUserPolicyRequest {
        user_name: user.into(),
        policy_name: "Read".into(),
        policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"risk:GetLimits","Resource":"*"}]}"#.into(),
        ..Default::default()
    }
    };
    delegated.put_user_policy(inline("t-1")).await.unwrap();
    admin.create_user(create("outsider", "")).await.unwrap();
    denied(
        delegated.put_user_policy(inline("outsider")).await,
        "PutUserPolicy on a user without the boundary",
    );

    // --- iam:PolicyARN: any policy but AdministratorAccess
    let attach = |arn: &str| pb::AttachUserPolicyRequest {
        user_name: "t-1".into(),
        policy_arn: arn.into(),
        ..Default::default()
    };
    denied(
        delegated
            .attach_user_policy(attach("arn:aws:iam::aws:policy/AdministratorAccess"))
            .await,
        "attaching AdministratorAccess",
    );
    delegated
        .attach_user_policy(attach("arn:aws:iam::aws:policy/ReadOnlyAccess"))
        .await
        .unwrap();

    // --- aws:RequestTag and aws:TagKeys: only desk=delta
    let tag_user = |tags: Vec<pb::Tag>| pb::TagUserRequest {
        user_name: "t-1".into(),
        tags,
        ..Default::default()
    };
    denied(
        delegated
            .tag_user(tag_user(vec![tag("desk", "gamma")]))
            .await,
        "tagging another desk",
    );
    denied(
        delegated
            .tag_user(tag_user(vec![tag("desk", "delta"), tag("cost", "x")]))
            .await,
        "tagging another key",
    );
    delegated
        .tag_user(tag_user(vec![tag("desk", "delta")]))
        .await
        .unwrap();

    // --- aws:ResourceTag: only users of the desk may be deleted
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "t-2".into(),
            tags: vec![tag("desk", "gamma")],
            ..Default::default()
        })
        .await
        .unwrap();
    let delete = || pb::DeleteUserRequest {
        user_name: "t-2".into(),
        ..Default::default()
    };
    denied(
        delegated.delete_user(delete()).await,
        "deleting another desk's user",
    );
    admin
        .tag_user(pb::TagUserRequest {
            user_name: "t-2".into(),
            tags: vec![tag("desk", "delta")],
            ..Default::default()
        })
        .await
        .unwrap();
    delegated.delete_user(delete()).await.unwrap();

    // --- iam:PermissionsBoundary of the role deleted: only roles within the boundary
    for (role, with) in [("free", ""), ("bounded", boundary)] {
        admin
            .create_role(pb::CreateRoleRequest {
                role_name: role.into(),
                assume_role_policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#.into(),
                permissions_boundary: with.into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let delete_role = |role: &str| pb::DeleteRoleRequest {
        role_name: role.into(),
        ..Default::default()
    };
    denied(
        delegated.delete_role(delete_role("free")).await,
        "deleting a role without the boundary",
    );
    delegated.delete_role(delete_role("bounded")).await.unwrap();
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_body_that_is_not_one_grpc_message_is_invalid_argument() {
    use tower::ServiceExt;
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let host = node.client_addr.to_string();
    let path = "/iam.v1.Iam/CreateUser";
    let channel = iamd_tests::channel(&node).await.unwrap();
    // The body as sent, signed as it is: only the framing is wrong.
    let send = |body: &'static [u8]| {
        let (channel, root, host) = (channel.clone(), root.clone(), host.clone());
        async move {
            let headers = iam_api::signing::sign_headers(
                &root,
                &host,
                path,
                "application/grpc",
                &iam_api::signing::payload_sha256(body),
                std::time::SystemTime::now(),
            )
            .unwrap();
            let mut request = http::Request::builder()
                .method("POST")
                .uri(format!("http://{host}{path}"))
                .header("content-type", "application/grpc")
                .header("te", "trailers");
            for (name, value) in &headers {
                request = request.header(name.as_str(), value.as_str());
            }
            let request = request
                .body(tonic::body::Body::new(http_body_full(body)))
                .unwrap();
            let response = channel.oneshot(request).await.unwrap();
            let status = tonic::Status::from_header_map(response.headers());
            status.map(|s| (s.code(), s.message().to_owned()))
        }
    };
    // `CreateUserRequest { user_name: "ok" }` (field 2), framed right: created.
    let answer = send(b"\0\0\0\0\x04\x12\x02ok").await;
    assert!(answer.is_none(), "{answer:?}");
    for body in [
        &b""[..],
        b"\0\0\0",
        b"\0\0\0\0\x0a\x12\x02ok",
        b"\0\0\0\0\x03\x12\x02ok",
        b"\x01\0\0\0\x04\x12\x02ok",
        b"\x02\0\0\0\x04\x12\x02ok",
    ] {
        let (code, message) = send(body).await.expect("a status in the headers");
        assert_eq!(code, Code::InvalidArgument, "{body:?}: {message}");
        assert!(message.contains("not one gRPC message"), "{message}");
    }
    node.shutdown().await;
}

/// A body of `bytes`, in one data frame.
fn http_body_full(
    bytes: &'static [u8],
) -> impl http_body::Body<Data = prost::bytes::Bytes, Error = std::convert::Infallible> {
    http_body_util::Full::new(prost::bytes::Bytes::from_static(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_asks_with_its_clients_own_signatures() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let key = admin
        .create_access_key(pb::CreateAccessKeyRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .access_key
        .unwrap();
    let gateway_creds = iamd_tests::scenario::order_gateway(&node, &root)
        .await
        .unwrap();
    let mut gateway = authz(&node, &gateway_creds).await.unwrap();

    // What alice's client signed when it sent her order to the gateway, as the gateway
    // recomputed it (the canonical request's hash is the gateway's to check).
    let now = std::time::SystemTime::now();
    let amz_date = iam_policy::format_iso(
        i64::try_from(now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap(),
    )
    .replace(['-', ':'], "");
    let canonical = "POST\n/orders\n\nhost:gateway.trading.internal\n\nhost\nUNSIGNED-PAYLOAD";
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}/eu-west-1/trading/aws4_request\n{:x}",
        &amz_date[..8],
        sha2::Sha256::digest(canonical.as_bytes())
    );
    let in_tokyo = string_to_sign.replace("/eu-west-1/", "/ap-northeast-1/");
    let sign_in = |secret: &str, region: &str, text: &str| {
        let key = aws_sigv4::sign::v4::generate_signing_key(secret, now, region, "trading");
        aws_sigv4::sign::v4::calculate_signature(key, text.as_bytes())
    };
    let sign = |secret: &str| sign_in(secret, "eu-west-1", &string_to_sign);
    let signature = sign(&key.secret_access_key);
    let ask_signed = |text: &str,
                      access_key_id: &str,
                      signature: &str,
                      context: &[(&str, &str)]| pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP".into(),
        context: ctx(context),
        subject: Some(pb::authorize_request::Subject::Sigv4(pb::SigV4Signature {
            access_key_id: access_key_id.into(),
            string_to_sign: text.into(),
            signature: signature.into(),
            session_token: String::new(),
        })),
        ..Default::default()
    };
    let ask = |access_key_id: &str, signature: &str, context: &[(&str, &str)]| {
        ask_signed(&string_to_sign, access_key_id, signature, context)
    };
    let order = [
        ("aws:ResourceTag/desk", "delta"),
        ("aws:SourceIp", "10.20.3.7"),
    ];

    // --- her signature: decided as alice, who may trade her desk's instrument
    let ok = gateway
        .authorize(ask(&key.access_key_id, &signature, &order))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ok.decision, pb::Decision::Allowed as i32, "{ok:?}");
    assert_eq!(ok.principal_arn, "arn:aws:iam::111111111111:user/alice");

    // --- a signature by another secret, or an unknown key: denied, saying why
    let forged = gateway
        .authorize(ask(
            &key.access_key_id,
            &sign("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            &order,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(forged.decision, pb::Decision::ImplicitDeny as i32);
    assert_eq!(
        forged.explanation.unwrap().reason,
        "subject_signature_does_not_match"
    );
    let unknown = gateway
        .authorize(ask("AKIAIOSFODNN7EXAMPLE", &signature, &order))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        unknown.explanation.unwrap().reason,
        "subject_invalid_client_token_id"
    );

    // --- aws:RequestedRegion comes from her credential scope
    admin
        .put_user_policy(pb::PutUserPolicyRequest {
            user_name: "alice".into(),
            policy_name: "OnlyInTokyo".into(),
            policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"ap-northeast-1"}}}]}"#.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let elsewhere = gateway
        .authorize(ask(&key.access_key_id, &signature, &order))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        elsewhere.decision,
        pb::Decision::ExplicitDeny as i32,
        "signed for eu-west-1: {elsewhere:?}"
    );
    let tokyo = gateway
        .authorize(ask_signed(
            &in_tokyo,
            &key.access_key_id,
            &sign_in(&key.secret_access_key, "ap-northeast-1", &in_tokyo),
            &order,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        tokyo.decision,
        pb::Decision::Allowed as i32,
        "signed for ap-northeast-1: {tokyo:?}"
    );

    // --- the caller may not vouch for her session, nor spell one key two ways
    for context in [
        &[("aws:MultiFactorAuthPresent", "true")][..],
        &[("aws:SourceIp", "10.20.3.7"), ("AWS:SOURCEIP", "192.0.2.1")][..],
    ] {
        let err = gateway
            .authorize(ask(&key.access_key_id, &signature, context))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{context:?}: {err:?}");
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_checks_every_documented_limit() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut gateway = authz(&node, &root).await.unwrap();
    let ok = || pb::AuthorizeRequest {
        action: "trading:PlaceOrder".into(),
        resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance".into(),
        ..Default::default()
    };
    gateway.authorize(ok()).await.unwrap();
    let big_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"trading:PlaceOrder","Resource":"*","Condition":{{"StringEquals":{{"trading:Venue":[{}]}}}}}}]}}"#,
        vec!["\"binance-perpetual-futures\""; 800].join(",")
    );
    let cases: Vec<(&str, pb::AuthorizeRequest, Code, &str)> = vec![
        (
            "no service prefix",
            pb::AuthorizeRequest {
                action: "PlaceOrder".into(),
                ..ok()
            },
            Code::InvalidArgument,
            "action",
        ),
        (
            "action of 129 characters",
            pb::AuthorizeRequest {
                action: format!("trading:{}", "A".repeat(121)),
                ..ok()
            },
            Code::InvalidArgument,
            "action",
        ),
        (
            "resource of 2049 characters",
            pb::AuthorizeRequest {
                resource: format!(
                    "arn:aws:trading:eu-west-1:111111111111:{}",
                    "x".repeat(2010)
                ),
                ..ok()
            },
            Code::InvalidArgument,
            "resource",
        ),
        (
            "context key of 257 characters",
            pb::AuthorizeRequest {
                context: ctx(&[(&format!("trading:{}", "k".repeat(249)), "v")]),
                ..ok()
            },
            Code::InvalidArgument,
            "context",
        ),
        (
            "resource policy over 20480 characters",
            pb::AuthorizeRequest {
                resource_policy: big_policy,
                ..ok()
            },
            Code::ResourceExhausted,
            "resource_policy",
        ),
        (
            "unknown consistency",
            pb::AuthorizeRequest {
                consistency: 7,
                ..ok()
            },
            Code::InvalidArgument,
            "consistency",
        ),
    ];
    for (what, request, code, field) in cases {
        let err = gateway.authorize(request).await.unwrap_err();
        assert_eq!(err.code(), code, "{what}: {err:?}");
        assert!(
            err.details()
                .windows(field.len())
                .any(|w| w == field.as_bytes()),
            "{what}: the error names `{field}`: {err:?}"
        );
    }

    // --- BatchAuthorize: 1-100 items, and an item's error names the item
    let item = |action: &str| pb::AuthorizeItem {
        action: action.into(),
        resource: "arn:aws:trading:eu-west-1:111111111111:venue/binance".into(),
        ..Default::default()
    };
    let batch = |items: Vec<pb::AuthorizeItem>| pb::BatchAuthorizeRequest {
        items,
        ..Default::default()
    };
    let answer = gateway
        .batch_authorize(batch(vec![item("trading:PlaceOrder"); 100]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results.len(), 100);
    let over = gateway
        .batch_authorize(batch(vec![item("trading:PlaceOrder"); 101]))
        .await
        .unwrap_err();
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("LimitExceeded"), "{over:?}");
    let none = gateway.batch_authorize(batch(vec![])).await.unwrap_err();
    assert_eq!(none.code(), Code::InvalidArgument);
    let second = gateway
        .batch_authorize(batch(vec![item("trading:PlaceOrder"), item("PlaceOrder")]))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::InvalidArgument);
    assert!(
        second
            .details()
            .windows(15)
            .any(|w| w == b"items[1].action"),
        "{second:?}"
    );
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moving_or_renaming_a_user_needs_the_permission_on_the_new_arn_too() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "quant-1".into(),
            path: "/sandbox/".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let creds = user_with_policy(
        &node,
        &root,
        "mover",
        "Sandbox",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:UpdateUser","Resource":"arn:aws:iam::111111111111:user/sandbox/*"}]}"#,
    )
    .await
    .unwrap();
    let mut mover = iam(&node, &creds).await.unwrap();
    // --- a rename inside the sandbox: both ARNs are in it
    mover
        .update_user(pb::UpdateUserRequest {
            user_name: "quant-1".into(),
            new_user_name: "quant-2".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // --- a move out of it: the new ARN is not, so refused, and the user stays
    let err = mover
        .update_user(pb::UpdateUserRequest {
            user_name: "quant-2".into(),
            new_path: "/admins/".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains("user/admins/quant-2"), "{err:?}");
    let user = admin
        .get_user(pb::GetUserRequest {
            user_name: "quant-2".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(user.path, "/sandbox/");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_service_user_cannot_read_the_root_keys_last_use() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let creds = user_with_policy(
        &node,
        &root,
        "bob",
        "OwnKeys",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetAccessKeyLastUsed","Resource":"arn:aws:iam::111111111111:user/${aws:username}"}]}"#,
    )
    .await
    .unwrap();
    let mut bob = iam(&node, &creds).await.unwrap();
    let last_used = |id: &str| pb::GetAccessKeyLastUsedRequest {
        access_key_id: id.into(),
    };
    // His own key: allowed.
    bob.get_access_key_last_used(last_used(&creds.access_key_id))
        .await
        .unwrap();
    // The root's key is the root's (arn:aws:iam::111111111111:root), not his.
    let err = bob
        .get_access_key_last_used(last_used(&root.access_key_id))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    assert!(err.message().contains(":root`"), "{err:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_may_be_limited_to_clients_by_their_tags() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let alice = iamd_tests::scenario::trader(&node, &root).await.unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let bob = admin
        .create_user(pb::CreateUserRequest {
            user_name: "bob".into(),
            tags: vec![pb::Tag {
                key: "desk".into(),
                value: "gamma".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
        .arn;
    let creds = user_with_policy(
        &node,
        &root,
        "delta-gateway",
        "DeltaClients",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:AuthorizeOnBehalfOf","Resource":"arn:aws:iam::111111111111:user/*","Condition":{"StringEquals":{"aws:ResourceTag/desk":"delta"}}}]}"#,
    )
    .await
    .unwrap();
    let mut gateway = authz(&node, &creds).await.unwrap();
    let ask = |subject: &str| pb::AuthorizeRequest {
        action: "risk:GetLimits".into(),
        resource: "*".into(),
        subject: principal(subject),
        ..Default::default()
    };
    // alice is of the delta desk: the gateway may ask for her
    let answer = gateway.authorize(ask(&alice)).await.unwrap().into_inner();
    assert_eq!(answer.decision, pb::Decision::Allowed as i32, "{answer:?}");
    // bob is not
    let err = gateway.authorize(ask(&bob)).await.unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managed_policys_tags_are_its_resource_tags() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    for desk in ["delta", "gamma"] {
        admin
            .create_policy(pb::CreatePolicyRequest {
                policy_name: format!("{desk}-limits"),
                policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"risk:GetLimits","Resource":"*"}]}"#.into(),
                tags: vec![pb::Tag {
                    key: "desk".into(),
                    value: desk.into(),
                }],
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let creds = user_with_policy(
        &node,
        &root,
        "delta-lead",
        "DeltaPolicies",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetPolicy","iam:ListPolicyTags"],"Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/desk":"delta"}}}]}"#,
    )
    .await
    .unwrap();
    let mut lead = iam(&node, &creds).await.unwrap();
    let arn = |desk: &str| format!("arn:aws:iam::111111111111:policy/{desk}-limits");
    lead.get_policy(pb::GetPolicyRequest {
        policy_arn: arn("delta"),
    })
    .await
    .unwrap();
    lead.list_policy_tags(pb::ListPolicyTagsRequest {
        policy_arn: arn("delta"),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = lead
        .get_policy(pb::GetPolicyRequest {
            policy_arn: arn("gamma"),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let err = lead
        .list_policy_tags(pb::ListPolicyTagsRequest {
            policy_arn: arn("gamma"),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_name_is_invalid_argument_naming_its_field_on_every_kind_of_call() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let slash = "trader/1".to_owned();
    let long_user = "u".repeat(65);
    let long_group = "g".repeat(129);
    let mut errors: Vec<(&str, tonic::Status)> = Vec::new();
    let get_user = admin.get_user(pb::GetUserRequest {
        user_name: slash.clone(),
    });
    errors.push(("user_name", get_user.await.unwrap_err()));
    let delete_user = admin.delete_user(pb::DeleteUserRequest {
        user_name: long_user.clone(),
        ..Default::default()
    });
    errors.push(("user_name", delete_user.await.unwrap_err()));
    let rename = admin.update_user(pb::UpdateUserRequest {
        user_name: "alice".into(),
        new_user_name: "bob smith".into(),
        ..Default::default()
    });
    errors.push(("new_user_name", rename.await.unwrap_err()));
    let get_group = admin.get_group(pb::GetGroupRequest {
        group_name: long_group,
        ..Default::default()
    });
    errors.push(("group_name", get_group.await.unwrap_err()));
    let get_role = admin.get_role(pb::GetRoleRequest {
        role_name: "role*".into(),
    });
    errors.push(("role_name", get_role.await.unwrap_err()));
    let inline = admin.get_user_policy(pb::GetUserPolicyRequest {
        user_name: "alice".into(),
        policy_name: "no/such".into(),
    });
    errors.push(("policy_name", inline.await.unwrap_err()));
    let attached = admin.list_attached_role_policies(pb::ListAttachedRolePoliciesRequest {
        role_name: slash.clone(),
        ..Default::default()
    });
    errors.push(("role_name", attached.await.unwrap_err()));
    let keys = admin.list_access_keys(pb::ListAccessKeysRequest {
        user_name: slash.clone(),
        ..Default::default()
    });
    errors.push(("user_name", keys.await.unwrap_err()));
    let tags = admin.list_user_tags(pb::ListUserTagsRequest {
        user_name: slash.clone(),
        ..Default::default()
    });
    errors.push(("user_name", tags.await.unwrap_err()));
    let login = admin.get_login_profile(pb::GetLoginProfileRequest { user_name: slash });
    errors.push(("user_name", login.await.unwrap_err()));
    let listed = admin.list_users(pb::ListUsersRequest {
        path_prefix: "traders/".into(),
        ..Default::default()
    });
    errors.push(("path_prefix", listed.await.unwrap_err()));
    for (field, err) in errors {
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {err:?}");
    }
    // --- a well-formed name of nobody is still NoSuchEntity
    let missing = admin
        .get_user(pb::GetUserRequest {
            user_name: "nobody".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_ids_tag_keys_boundaries_and_passwords_are_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    admin
        .create_user(pb::CreateUserRequest {
            user_name: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut errors: Vec<(&str, tonic::Status)> = Vec::new();
    for key in ["", "cost*centre"] {
        let untag = admin.untag_user(pb::UntagUserRequest {
            user_name: "alice".into(),
            tag_keys: vec![key.into()],
            ..Default::default()
        });
        errors.push(("tag_keys", untag.await.unwrap_err()));
    }
    for version_id in ["v01", "v+1", "1"] {
        let version = admin.get_policy_version(pb::GetPolicyVersionRequest {
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
            version_id: version_id.into(),
        });
        errors.push(("version_id", version.await.unwrap_err()));
    }
    for version_id in ["v01", "v+2"] {
        let default = admin.set_default_policy_version(pb::SetDefaultPolicyVersionRequest {
            policy_arn: "arn:aws:iam::111111111111:policy/Traders".into(),
            version_id: version_id.into(),
            ..Default::default()
        });
        errors.push(("version_id", default.await.unwrap_err()));
        let delete = admin.delete_policy_version(pb::DeletePolicyVersionRequest {
            policy_arn: "arn:aws:iam::111111111111:policy/Traders".into(),
            version_id: version_id.into(),
            ..Default::default()
        });
        errors.push(("version_id", delete.await.unwrap_err()));
    }
    let delete_key = admin.delete_access_key(pb::DeleteAccessKeyRequest {
        user_name: "alice".into(),
        access_key_id: "not an id".into(),
        ..Default::default()
    });
    errors.push(("access_key_id", delete_key.await.unwrap_err()));
    let bounded = admin.create_user(pb::CreateUserRequest {
        user_name: "bob".into(),
        permissions_boundary: "TradersBoundary".into(),
        ..Default::default()
    });
    errors.push(("permissions_boundary", bounded.await.unwrap_err()));
    let password = admin.create_login_profile(pb::CreateLoginProfileRequest {
        user_name: "alice".into(),
        password: "Abcdef1!\u{1}xyz".into(),
        ..Default::default()
    });
    errors.push(("password", password.await.unwrap_err()));
    for (field, err) in errors {
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {err:?}");
    }
    // --- nothing was half-made: bob does not exist, alice has no password
    let bob = admin
        .get_user(pb::GetUserRequest {
            user_name: "bob".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(bob.code(), Code::NotFound);
    let profile = admin
        .get_login_profile(pb::GetLoginProfileRequest {
            user_name: "alice".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(profile.code(), Code::NotFound);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_conflicts_and_unknown_targets_answer_the_codes_aws_documents() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let org = admin
        .create_organization(pb::CreateOrganizationRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    let unit = |name: &str| pb::CreateOrganizationalUnitRequest {
        parent_id: org.root_id.clone(),
        name: name.into(),
        ..Default::default()
    };
    let desk = admin
        .create_organizational_unit(unit("Desks"))
        .await
        .unwrap()
        .into_inner()
        .organizational_unit
        .unwrap();
    let scp = |name: &str| {
        pb::CreateServiceControlPolicyRequest {
        name: name.into(),
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"trading:Withdraw","Resource":"*"}]}"#.into(),
        ..Default::default()
    }
    };
    let first = admin
        .create_service_control_policy(scp("NoWithdrawals"))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    let second = admin
        .create_service_control_policy(scp("NoWithdrawalsEither"))
        .await
        .unwrap()
        .into_inner()
        .policy
        .unwrap();
    let attach = pb::AttachServiceControlPolicyRequest {
        policy_id: first.id.clone(),
        target_id: desk.id.clone(),
        ..Default::default()
    };
    admin
        .attach_service_control_policy(attach.clone())
        .await
        .unwrap();
    let mut refused: Vec<(Code, &str, tonic::Status)> = Vec::new();
    let twin = admin.create_organizational_unit(unit("Desks"));
    refused.push((
        Code::AlreadyExists,
        "DuplicateOrganizationalUnitException",
        twin.await.unwrap_err(),
    ));
    let again = admin.attach_service_control_policy(attach);
    refused.push((
        Code::AlreadyExists,
        "DuplicatePolicyAttachmentException",
        again.await.unwrap_err(),
    ));
    let renamed = admin.update_service_control_policy(pb::UpdateServiceControlPolicyRequest {
        policy_id: second.id.clone(),
        name: Some("NoWithdrawals".into()),
        ..Default::default()
    });
    refused.push((
        Code::AlreadyExists,
        "NoWithdrawals",
        renamed.await.unwrap_err(),
    ));
    let stay = admin.move_account(pb::MoveAccountRequest {
        account_id: "111111111111".into(),
        source_parent_id: org.root_id.clone(),
        destination_parent_id: org.root_id.clone(),
        ..Default::default()
    });
    refused.push((
        Code::AlreadyExists,
        "DuplicateAccountException",
        stay.await.unwrap_err(),
    ));
    let detach = admin.detach_service_control_policy(pb::DetachServiceControlPolicyRequest {
        policy_id: second.id.clone(),
        target_id: desk.id.clone(),
        ..Default::default()
    });
    refused.push((
        Code::FailedPrecondition,
        "PolicyNotAttachedException",
        detach.await.unwrap_err(),
    ));
    let builtin = admin.delete_service_control_policy(pb::DeleteServiceControlPolicyRequest {
        policy_id: "p-FullAWSAccess".into(),
        ..Default::default()
    });
    refused.push((
        Code::FailedPrecondition,
        "ConstraintViolationException",
        builtin.await.unwrap_err(),
    ));
    let listed = admin.list_accounts(pb::ListAccountsRequest {
        parent_id: "ou-nope-12345678".into(),
        ..Default::default()
    });
    refused.push((
        Code::NotFound,
        "ParentNotFoundException",
        listed.await.unwrap_err(),
    ));
    let policies = admin.list_service_control_policies(pb::ListServiceControlPoliciesRequest {
        target_id: "999999999999".into(),
        ..Default::default()
    });
    refused.push((
        Code::NotFound,
        "TargetNotFoundException",
        policies.await.unwrap_err(),
    ));
    let aws_managed = admin.delete_policy(pb::DeletePolicyRequest {
        policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        ..Default::default()
    });
    refused.push((
        Code::FailedPrecondition,
        "UnmodifiableEntity",
        aws_managed.await.unwrap_err(),
    ));
    let tagged = admin.create_organizational_unit(pb::CreateOrganizationalUnitRequest {
        tags: vec![pb::Tag {
            key: "desk".into(),
            value: "delta".into(),
        }],
        ..unit("Tagged")
    });
    refused.push((Code::InvalidArgument, "tags", tagged.await.unwrap_err()));
    let mailed = admin.create_account(pb::CreateAccountRequest {
        account_name: "research".into(),
        email: "research".into(),
        ..Default::default()
    });
    refused.push((Code::InvalidArgument, "email", mailed.await.unwrap_err()));
    for (code, name, err) in refused {
        assert_eq!(err.code(), code, "{name}: {err:?}");
        assert!(err.message().contains(name), "{name}: {err:?}");
    }
    // --- nothing changed: one OU, the first SCP attached once, the second one's name kept
    let units = admin
        .list_organizational_units_for_parent(pb::ListOrganizationalUnitsForParentRequest {
            parent_id: org.root_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(units.organizational_units.len(), 1);
    let on_desk = admin
        .list_service_control_policies(pb::ListServiceControlPoliciesRequest {
            target_id: desk.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<&str> = on_desk.policies.iter().map(|p| p.name.as_str()).collect();
    assert!(names.contains(&"NoWithdrawals") && !names.contains(&"NoWithdrawalsEither"));
    node.shutdown().await;
}

/// Signs a call with `creds` and answers whether the node accepted the signature.
async fn root_key_works(node: &iamd::server::Running, creds: &SigningCredentials) -> bool {
    let mut client = iam(node, creds).await.unwrap();
    let answer = client.list_users(pb::ListUsersRequest::default()).await;
    answer.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_start_never_leaves_the_account_with_a_root_key_nobody_holds() {
    // --- credentials left from an earlier store: refused before anything is written
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("root-credentials");
    std::fs::write(&path, "[default]\naws_access_key_id = AKIAOLD\n").unwrap();
    let err = start(config(dir.path())).await.unwrap_err();
    assert!(err.to_string().contains("root-credentials"), "{err}");
    std::fs::remove_file(&path).unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let creds = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    assert!(root_key_works(&node, &creds).await);
    node.shutdown().await;

    // --- a start interrupted after the key was chosen: the next one uses that key
    let dir = tempfile::tempdir().unwrap();
    let chosen = iam_sts::secrets::new_access_key_id().unwrap();
    let secret = iam_sts::secrets::new_secret_access_key().unwrap();
    std::fs::write(
        dir.path().join("root-credentials.tmp"),
        format!(
            "[default]\naws_access_key_id = {chosen}\naws_secret_access_key = {}\n",
            secret.expose()
        ),
    )
    .unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let written = node.root_credentials.clone().unwrap();
    assert!(!dir.path().join("root-credentials.tmp").exists());
    let creds = read_credentials(&written).unwrap();
    assert_eq!(creds.access_key_id, chosen);
    assert!(root_key_works(&node, &creds).await);
    node.shutdown().await;

    // --- interrupted after the account was made but before its key: finished on restart
    let next = iam_sts::secrets::new_access_key_id().unwrap();
    let secret = iam_sts::secrets::new_secret_access_key().unwrap();
    std::fs::remove_file(&written).unwrap();
    std::fs::write(
        dir.path().join("root-credentials.tmp"),
        format!(
            "[default]\naws_access_key_id = {next}\naws_secret_access_key = {}\n",
            secret.expose()
        ),
    )
    .unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let creds = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    assert_eq!(creds.access_key_id, next);
    assert!(root_key_works(&node, &creds).await);
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_calls_are_authorized_on_the_policies_and_targets_they_name() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(config(dir.path())).await.unwrap();
    let root = read_credentials(node.root_credentials.as_ref().unwrap()).unwrap();
    let mut admin = iam(&node, &root).await.unwrap();
    let org = admin
        .create_organization(pb::CreateOrganizationRequest::default())
        .await
        .unwrap()
        .into_inner()
        .organization
        .unwrap();
    let desks = admin
        .create_organizational_unit(pb::CreateOrganizationalUnitRequest {
            parent_id: org.root_id.clone(),
            name: "Desks".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .organizational_unit
        .unwrap();
    let scp = |name: &str| {
        pb::CreateServiceControlPolicyRequest {
        name: name.into(),
        content: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"trading:Withdraw","Resource":"*"}]}"#.into(),
        ..Default::default()
    }
    };
    let mut policies = Vec::new();
    for name in ["DeskGuardrails", "RootGuardrails"] {
        let p = admin
            .create_service_control_policy(scp(name))
            .await
            .unwrap()
            .into_inner()
            .policy
            .unwrap();
        policies.push(p);
    }
    let (mine, other) = (&policies[0], &policies[1]);
    // --- a user may change and attach one SCP, and only to the desks' OU
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["organizations:UpdatePolicy","organizations:AttachPolicy","organizations:ListAccountsForParent"],"Resource":["{}","{}"]}}]}}"#,
        mine.arn, desks.arn
    );
    let creds = user_with_policy(&node, &root, "guardrails", "Guardrails", &doc)
        .await
        .unwrap();
    let mut user = iam(&node, &creds).await.unwrap();
    user.update_service_control_policy(pb::UpdateServiceControlPolicyRequest {
        policy_id: mine.id.clone(),
        description: Some("no withdrawals from the desks".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    user.attach_service_control_policy(pb::AttachServiceControlPolicyRequest {
        policy_id: mine.id.clone(),
        target_id: desks.id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    user.list_accounts(pb::ListAccountsRequest {
        parent_id: desks.id.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let denied = [
        user.list_accounts(pb::ListAccountsRequest::default())
            .await
            .unwrap_err(),
        user.update_service_control_policy(pb::UpdateServiceControlPolicyRequest {
            policy_id: other.id.clone(),
            description: Some("x".into()),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        user.attach_service_control_policy(pb::AttachServiceControlPolicyRequest {
            policy_id: mine.id.clone(),
            target_id: org.root_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        user.attach_service_control_policy(pb::AttachServiceControlPolicyRequest {
            policy_id: other.id.clone(),
            target_id: desks.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err(),
        // Creating a policy takes no resource: only `*` allows it.
        user.create_service_control_policy(scp("Third"))
            .await
            .unwrap_err(),
    ];
    for err in denied {
        assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    }
    node.shutdown().await;
}
