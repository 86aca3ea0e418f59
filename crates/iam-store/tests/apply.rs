//! The identity store's `apply`: AWS's rules, quotas and errors, determinism, idempotency.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use iam_store::model::Tag;
use iam_store::{ErrorCode, IamState, Machine, Op, Outcome, PrincipalKind, Taggable, Write};

const ACCT: &str = "111111111111";
const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"trading:*","Resource":"*"}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:user/bot-momentum"},"Action":"sts:AssumeRole"}]}"#;

struct Store {
    state: IamState,
    revision: u64,
}

impl Store {
    fn new() -> Self {
        let mut s = Store {
            state: IamState::default(),
            revision: 0,
        };
        s.ok(Op::CreateAccount {
            account_id: ACCT.into(),
            name: "prod-trading".into(),
        });
        s
    }

    fn run(&mut self, op: Op, key: Option<&str>) -> Result<Outcome, iam_store::StoreError> {
        self.run_digest(op, key, None)
    }

    /// A write whose idempotency key came with a request of digest `digest`.
    fn run_digest(
        &mut self,
        op: Op,
        key: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Outcome, iam_store::StoreError> {
        self.revision += 1;
        let write = Write {
            at: 1_795_953_600_000 + self.revision as i64,
            idempotency_key: key.map(str::to_owned),
            request_digest: digest.map(str::to_owned),
            op,
        };
        self.state.apply(&write, self.revision).result
    }

    fn ok(&mut self, op: Op) -> Outcome {
        let desc = format!("{op:?}");
        self.run(op, None).unwrap_or_else(|e| panic!("{desc}: {e}"))
    }

    fn err(&mut self, op: Op) -> ErrorCode {
        let before = self.state.clone();
        let code = self.run(op, None).expect_err("refused").code;
        assert_eq!(self.state, before, "a refused write changes nothing");
        code
    }
}

fn user(name: &str) -> Op {
    Op::CreateUser {
        account: ACCT.into(),
        user_name: name.into(),
        path: "/".into(),
        tags: vec![],
        permissions_boundary: None,
    }
}

fn policy(name: &str) -> Op {
    Op::CreatePolicy {
        account: ACCT.into(),
        policy_name: name.into(),
        path: "/".into(),
        policy_document: DOC.into(),
        description: String::new(),
        tags: vec![],
    }
}

fn policy_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCT}:policy/{name}")
}

#[test]
fn user_names_are_unique_without_regard_to_case() {
    let mut s = Store::new();
    let Outcome::User(alice) = s.ok(user("alice")) else {
        panic!("a user")
    };
    assert_eq!(alice.arn, "arn:aws:iam::111111111111:user/alice");
    assert!(alice.user_id.starts_with("AIDA") && alice.user_id.len() == 21);
    assert_eq!(s.err(user("ALICE")), ErrorCode::EntityAlreadyExists);
    assert_eq!(s.err(user("bad name")), ErrorCode::InvalidInput);
}

#[test]
fn deleting_a_user_with_attachments_is_a_conflict() {
    let mut s = Store::new();
    s.ok(user("alice"));
    s.ok(policy("Trading"));
    s.ok(Op::AttachPolicy {
        account: ACCT.into(),
        kind: PrincipalKind::User,
        name: "alice".into(),
        policy_arn: policy_arn("Trading"),
    });
    let del = || Op::DeleteUser {
        account: ACCT.into(),
        user_name: "alice".into(),
    };
    assert_eq!(s.err(del()), ErrorCode::DeleteConflict);
    assert_eq!(
        s.err(Op::DeletePolicy {
            account: ACCT.into(),
            policy_arn: policy_arn("Trading"),
        }),
        ErrorCode::DeleteConflict
    );
    s.ok(Op::DetachPolicy {
        account: ACCT.into(),
        kind: PrincipalKind::User,
        name: "alice".into(),
        policy_arn: policy_arn("Trading"),
    });
    s.ok(del());
    s.ok(Op::DeletePolicy {
        account: ACCT.into(),
        policy_arn: policy_arn("Trading"),
    });
}

#[test]
fn a_policy_keeps_at_most_five_versions_and_its_default() {
    let mut s = Store::new();
    s.ok(policy("Trading"));
    let version = |set_as_default| Op::CreatePolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Trading"),
        policy_document: DOC.into(),
        set_as_default,
    };
    for _ in 0..4 {
        s.ok(version(false));
    }
    assert_eq!(s.err(version(true)), ErrorCode::LimitExceeded);
    let delete = |v: &str| Op::DeletePolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Trading"),
        version_id: v.into(),
    };
    assert_eq!(s.err(delete("v1")), ErrorCode::DeleteConflict);
    s.ok(Op::SetDefaultPolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Trading"),
        version_id: "v3".into(),
    });
    s.ok(delete("v1"));
    assert_eq!(s.err(delete("v9")), ErrorCode::NoSuchEntity);
    let Outcome::PolicyVersion {
        version_id,
        is_default,
    } = s.ok(version(true))
    else {
        panic!("a version")
    };
    assert_eq!((version_id.as_str(), is_default), ("v6", true));
}

#[test]
fn quotas_are_enforced() {
    let mut s = Store::new();
    s.ok(user("alice"));
    for i in 0..10 {
        s.ok(Op::CreateGroup {
            account: ACCT.into(),
            group_name: format!("g{i}"),
            path: "/".into(),
        });
        s.ok(Op::AddUserToGroup {
            account: ACCT.into(),
            group_name: format!("g{i}"),
            user_name: "alice".into(),
        });
    }
    s.ok(Op::CreateGroup {
        account: ACCT.into(),
        group_name: "g10".into(),
        path: "/".into(),
    });
    let add = Op::AddUserToGroup {
        account: ACCT.into(),
        group_name: "g10".into(),
        user_name: "alice".into(),
    };
    assert_eq!(s.err(add), ErrorCode::LimitExceeded);
    for i in 0..2 {
        s.ok(Op::CreateAccessKey {
            account: ACCT.into(),
            user_name: Some("alice".into()),
            access_key_id: format!("AKIAEXAMPLE00000000{i}"),
            sealed_secret: vec![1, 2, 3],
        });
    }
    let third = Op::CreateAccessKey {
        account: ACCT.into(),
        user_name: Some("alice".into()),
        access_key_id: "AKIAEXAMPLE000000002".into(),
        sealed_secret: vec![],
    };
    assert_eq!(s.err(third), ErrorCode::LimitExceeded);
}

#[test]
fn roles_validate_their_trust_policy_and_session_duration() {
    let mut s = Store::new();
    let role = |doc: &str, max| Op::CreateRole {
        account: ACCT.into(),
        role_name: "bot-momentum-btc".into(),
        path: "/bots/".into(),
        assume_role_policy_document: doc.into(),
        description: "momentum bot".into(),
        max_session_duration: max,
        tags: vec![],
        permissions_boundary: Some("arn:aws:iam::aws:policy/PowerUserAccess".into()),
    };
    assert_eq!(s.err(role(DOC, 3600)), ErrorCode::MalformedPolicyDocument);
    assert_eq!(s.err(role(TRUST, 60)), ErrorCode::InvalidInput);
    let Outcome::Role(r) = s.ok(role(TRUST, 3600)) else {
        panic!("a role")
    };
    assert_eq!(
        r.arn,
        "arn:aws:iam::111111111111:role/bots/bot-momentum-btc"
    );
    assert!(r.role_id.starts_with("AROA"));
}

#[test]
fn tags_merge_and_stay_within_limits() {
    let mut s = Store::new();
    s.ok(user("alice"));
    let tag = |k: &str, v: &str| Tag {
        key: k.into(),
        value: v.into(),
    };
    s.ok(Op::Tag {
        account: ACCT.into(),
        target: Taggable::User,
        name: "alice".into(),
        tags: vec![tag("desk", "delta")],
    });
    s.ok(Op::Tag {
        account: ACCT.into(),
        target: Taggable::User,
        name: "alice".into(),
        tags: vec![tag("Desk", "gamma")],
    });
    let tags = &s.state.account(ACCT).unwrap().users["alice"].tags;
    assert_eq!(tags, &vec![tag("Desk", "gamma")]);
}

#[test]
fn a_retried_write_is_applied_once() {
    let mut s = Store::new();
    let first = s.run(user("alice"), Some("alice-key-1"));
    let again = s.run(user("alice"), Some("alice-key-1"));
    assert_eq!(first, again, "the retry answers the first result");
    assert_eq!(
        s.run(user("alice"), Some("other")).unwrap_err().code,
        ErrorCode::EntityAlreadyExists
    );
}

#[test]
fn a_refused_write_is_tried_again_when_retried() {
    let mut s = Store::new();
    let attach = || Op::AttachPolicy {
        account: ACCT.into(),
        kind: PrincipalKind::User,
        name: "alice".into(),
        policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
    };
    let first = s.run_digest(attach(), Some("k"), Some("digest-a"));
    assert_eq!(first.unwrap_err().code, ErrorCode::NoSuchEntity);
    s.ok(user("alice"));
    assert!(s.run_digest(attach(), Some("k"), Some("digest-a")).is_ok());
    let attached = &s.state.account(ACCT).unwrap().users["alice"]
        .permissions
        .attached;
    assert_eq!(attached.len(), 1);
}

#[test]
fn a_key_reused_for_another_request_is_refused_and_applies_nothing() {
    let mut s = Store::new();
    let first = s.run_digest(user("alice"), Some("k"), Some("digest-a"));
    assert!(first.is_ok());
    // The same request again: the first result.
    assert_eq!(
        s.run_digest(user("alice"), Some("k"), Some("digest-a")),
        first
    );
    // Another request under the same key: refused, whatever the operation, and not applied.
    let before = s.state.clone();
    for op in [user("bob"), policy("Desk")] {
        let err = s.run_digest(op, Some("k"), Some("digest-b")).unwrap_err();
        assert_eq!(err.code, ErrorCode::IdempotentParameterMismatch);
        assert_eq!(err.field.as_deref(), Some("idempotency_key"));
    }
    assert_eq!(s.state, before, "nothing applied");
    assert!(!s.state.account(ACCT).unwrap().users.contains_key("bob"));
}

#[test]
fn apply_is_deterministic() {
    let run = || {
        let mut s = Store::new();
        s.ok(user("alice"));
        s.ok(policy("Trading"));
        s.ok(Op::CreateGroup {
            account: ACCT.into(),
            group_name: "traders".into(),
            path: "/".into(),
        });
        s.state
    };
    assert_eq!(run(), run());
    let json = serde_json::to_string(&run()).unwrap();
    let back: IamState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, run(), "the state survives a snapshot round trip");
}

#[test]
fn the_view_follows_group_and_policy_changes_incrementally() {
    use iam_policy::{Context, Policies, Request, evaluate};
    use iam_store::view::ViewBuilder;

    let mut s = Store::new();
    let mut builder = ViewBuilder::new();
    let handle = builder.handle();
    s.ok(user("alice"));
    s.ok(policy("Trading"));
    s.ok(Op::CreateGroup {
        account: ACCT.into(),
        group_name: "traders".into(),
        path: "/".into(),
    });
    s.ok(Op::AttachPolicy {
        account: ACCT.into(),
        kind: PrincipalKind::Group,
        name: "traders".into(),
        policy_arn: policy_arn("Trading"),
    });
    builder.update(&s.state, s.revision);
    let allowed = |view: &iam_store::view::AuthzView| {
        let alice = view
            .principal_by_arn("arn:aws:iam::111111111111:user/alice")
            .expect("alice is in the view");
        let ctx = Context::new();
        let req = Request::new(
            &alice.arn,
            ACCT,
            ACCT,
            "trading:PlaceOrder",
            "arn:aws:trading:eu-west-1:111111111111:venue/binance/instrument/BTC-PERP",
            &ctx,
        );
        let policies = Policies {
            identity: Some(&alice.identity),
            boundary: alice.boundary.as_ref(),
            ..Policies::default()
        };
        evaluate(&policies, &req).is_allowed()
    };
    let before = handle.load_full();
    assert!(!allowed(&before), "not yet a member");

    s.ok(Op::AddUserToGroup {
        account: ACCT.into(),
        group_name: "traders".into(),
        user_name: "alice".into(),
    });
    builder.update(&s.state, s.revision);
    let after = handle.load_full();
    assert!(allowed(&after), "membership grants the group's policy");
    assert!(!allowed(&before), "an older view is immutable");
    assert_eq!(after.revision, s.revision);

    s.ok(Op::CreatePolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Trading"),
        policy_document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"marketdata:*","Resource":"*"}]}"#.into(),
        set_as_default: true,
    });
    builder.update(&s.state, s.revision);
    assert!(
        !allowed(&handle.load_full()),
        "the new default version no longer grants trading"
    );
}

#[test]
fn a_state_restored_from_a_snapshot_rebuilds_the_whole_view() {
    use iam_store::view::ViewBuilder;

    let mut s = Store::new();
    s.ok(user("alice"));
    s.ok(Op::CreateRole {
        account: ACCT.into(),
        role_name: "bot".into(),
        path: "/".into(),
        assume_role_policy_document: TRUST.into(),
        description: String::new(),
        max_session_duration: 3600,
        tags: vec![],
        permissions_boundary: None,
    });
    // --- what a restarted node or a follower installing a snapshot has: the state alone
    let snapshot = serde_json::to_string(&s.state).unwrap();
    let restored: IamState = serde_json::from_str(&snapshot).unwrap();
    let mut builder = ViewBuilder::new();
    builder.update(&restored, s.revision);
    let view = builder.handle().load_full();
    assert!(
        view.principal_by_arn("arn:aws:iam::111111111111:user/alice")
            .is_some()
    );
    assert!(
        view.principal_by_arn("arn:aws:iam::111111111111:role/bot")
            .is_some()
    );
    assert!(
        view.principal_by_arn("arn:aws:iam::111111111111:root")
            .is_some()
    );
}

#[test]
fn scp_levels_follow_the_tree_and_skip_the_management_account() {
    let mut s = Store::new();
    let Outcome::Organization(org) = s.ok(Op::CreateOrganization {
        management_account: ACCT.into(),
    }) else {
        panic!("an organization")
    };
    let Outcome::MemberAccount { role_arn, .. } = s.ok(Op::CreateMemberAccount {
        account_id: "222222222222".into(),
        name: "research".into(),
        role_name: "OrganizationAccountAccessRole".into(),
    }) else {
        panic!("a member account")
    };
    assert_eq!(
        role_arn,
        "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole"
    );
    let Outcome::OrganizationalUnit(ou) = s.ok(Op::CreateOrganizationalUnit {
        parent_id: org.root_id.clone(),
        name: "Research".into(),
    }) else {
        panic!("an OU")
    };
    s.ok(Op::MoveAccount {
        account_id: "222222222222".into(),
        source_parent_id: org.root_id.clone(),
        destination_parent_id: ou.id.clone(),
    });
    let levels = s
        .state
        .organization()
        .unwrap()
        .scp_levels("222222222222")
        .unwrap();
    assert_eq!(levels.len(), 3, "root, OU, account");
    assert!(
        levels
            .iter()
            .all(|l| l.iter().any(|p| p.id == "p-FullAWSAccess"))
    );
    assert!(
        s.state.organization().unwrap().scp_levels(ACCT).is_none(),
        "SCPs never limit the management account"
    );

    // --- an OU with an account cannot be deleted; a second organization cannot be created
    let del = Op::DeleteOrganizationalUnit {
        ou_id: ou.id.clone(),
    };
    assert_eq!(s.err(del), ErrorCode::DeleteConflict);
    let again = Op::CreateOrganization {
        management_account: ACCT.into(),
    };
    assert_eq!(s.err(again), ErrorCode::EntityAlreadyExists);
    let bad = Op::CreateServiceControlPolicy {
        name: "Bad".into(),
        description: String::new(),
        content: r#"{"Statement":{"Effect":"Permit","Action":"*","Resource":"*"}}"#.into(),
    };
    assert_eq!(s.err(bad), ErrorCode::MalformedPolicyDocument);
}

#[test]
fn principals_are_found_by_their_exact_arn_whatever_the_case_of_their_name() {
    use iam_store::view::ViewBuilder;

    let mut s = Store::new();
    s.ok(Op::CreateUser {
        account: ACCT.into(),
        user_name: "Alice.Trader".into(),
        path: "/desk/delta/".into(),
        tags: vec![],
        permissions_boundary: None,
    });
    s.ok(Op::CreateRole {
        account: ACCT.into(),
        role_name: "OrderGateway".into(),
        path: "/".into(),
        assume_role_policy_document: TRUST.into(),
        description: String::new(),
        max_session_duration: 3600,
        tags: vec![],
        permissions_boundary: None,
    });
    let mut builder = ViewBuilder::new();
    builder.update(&s.state, s.revision);
    let view = builder.handle().load_full();
    let found = |arn: &str| view.principal_by_arn(arn).map(|p| p.arn.clone());
    let alice = "arn:aws:iam::111111111111:user/desk/delta/Alice.Trader";
    assert_eq!(found(alice).as_deref(), Some(alice));
    // The name is unique ignoring case, but an ARN names it exactly, path included.
    assert_eq!(
        found("arn:aws:iam::111111111111:user/desk/delta/alice.trader"),
        None
    );
    assert_eq!(found("arn:aws:iam::111111111111:user/Alice.Trader"), None);
    let role = "arn:aws:iam::111111111111:role/OrderGateway";
    assert_eq!(found(role).as_deref(), Some(role));
    assert_eq!(
        found("arn:aws:sts::111111111111:assumed-role/OrderGateway/session-1").as_deref(),
        Some(role)
    );
    assert_eq!(
        found("arn:aws:iam::111111111111:root").as_deref(),
        Some("arn:aws:iam::111111111111:root")
    );
    for missing in [
        "arn:aws:iam::222222222222:root",
        "arn:aws:iam::111111111111:user/bob",
        "arn:aws:iam::111111111111:role/OrderGateway/extra",
        "arn:aws:iam::111111111111:group/traders",
        "arn:aws:iam::111111111111:rootx",
        "arn:aws:sts::111111111111:federated-user/x",
        "not an arn",
    ] {
        assert_eq!(found(missing), None, "{missing}");
    }
    // Parts too long for the key buffer name no principal (names are at most 64
    // characters): looked up on the heap instead, and not found.
    let long = format!("arn:aws:iam::{}:user/{}", "1".repeat(100), "x".repeat(100));
    assert_eq!(found(&long), None);
}

#[test]
fn principals_carry_their_organization_and_its_path_as_the_tree_changes() {
    use iam_store::view::{OrgKeys, ViewBuilder};

    let mut s = Store::new();
    let mut builder = ViewBuilder::new();
    builder.update(&s.state, s.revision);
    assert_eq!(builder.handle().load_full().org_keys(ACCT), None);
    let Outcome::Organization(org) = s.ok(Op::CreateOrganization {
        management_account: ACCT.into(),
    }) else {
        panic!("an organization")
    };
    s.ok(Op::CreateMemberAccount {
        account_id: "222222222222".into(),
        name: "research".into(),
        role_name: "OrganizationAccountAccessRole".into(),
    });
    let Outcome::OrganizationalUnit(ou) = s.ok(Op::CreateOrganizationalUnit {
        parent_id: org.root_id.clone(),
        name: "Research".into(),
    }) else {
        panic!("an OU")
    };
    let Outcome::OrganizationalUnit(lab) = s.ok(Op::CreateOrganizationalUnit {
        parent_id: ou.id.clone(),
        name: "Lab".into(),
    }) else {
        panic!("an OU")
    };
    builder.update(&s.state, s.revision);
    let at_root = format!("{}/{}/", org.id, org.root_id);
    let keys = |path: &str| OrgKeys {
        id: org.id.clone(),
        path: path.to_owned(),
    };
    let view = builder.handle().load_full();
    assert_eq!(view.org_keys(ACCT), Some(&keys(&at_root)), "management too");
    assert_eq!(view.org_keys("222222222222"), Some(&keys(&at_root)));
    // --- moved two levels down: the view follows, incrementally
    s.ok(Op::MoveAccount {
        account_id: "222222222222".into(),
        source_parent_id: org.root_id.clone(),
        destination_parent_id: lab.id.clone(),
    });
    builder.update(&s.state, s.revision);
    let deep = format!("{}/{}/{}/{}/", org.id, org.root_id, ou.id, lab.id);
    let view = builder.handle().load_full();
    assert_eq!(view.org_keys("222222222222"), Some(&keys(&deep)));
    assert_eq!(
        s.state.organization().unwrap().path_of("222222222222"),
        Some(deep)
    );
    assert_eq!(view.org_keys("999999999999"), None);
}

#[test]
fn removing_a_user_that_is_not_a_member_succeeds_and_changes_nothing() {
    let mut s = Store::new();
    s.ok(user("alice"));
    s.ok(Op::CreateGroup {
        account: ACCT.into(),
        group_name: "traders".into(),
        path: "/".into(),
    });
    let remove = || Op::RemoveUserFromGroup {
        account: ACCT.into(),
        group_name: "traders".into(),
        user_name: "alice".into(),
    };
    let before = s.state.clone();
    assert!(matches!(s.ok(remove()), Outcome::Done));
    assert_eq!(s.state, before);
    // An unknown user or group is still NoSuchEntity.
    let ghost = Op::RemoveUserFromGroup {
        account: ACCT.into(),
        group_name: "traders".into(),
        user_name: "bob".into(),
    };
    assert_eq!(s.err(ghost), ErrorCode::NoSuchEntity);
}

#[test]
fn a_policys_update_date_is_when_its_newest_version_was_created() {
    let mut s = Store::new();
    s.ok(policy("Traders"));
    let updated = |s: &Store| s.state.account(ACCT).unwrap().policies["traders"].last_updated();
    let created = updated(&s);
    // A version that does not become the default is still the newest (AWS's UpdateDate).
    s.ok(Op::CreatePolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Traders"),
        policy_document: DOC.into(),
        set_as_default: false,
    });
    let after = updated(&s);
    assert!(after > created, "{after} > {created}");
    // Making an older version the default creates none.
    s.ok(Op::SetDefaultPolicyVersion {
        account: ACCT.into(),
        policy_arn: policy_arn("Traders"),
        version_id: "v1".into(),
    });
    assert_eq!(updated(&s), after);
}
