//! Replicated writes: one serde enum, separate from the wire types. Everything a command
//! needs that is not in the state (time, random ids, sealed secrets, password hashes) is
//! chosen by the proposer and carried in the command, so `apply` is deterministic.

use serde::{Deserialize, Serialize};

use crate::model::{KeyStatus, Millis, PasswordPolicy, Tag};

/// A write as proposed to Raft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Write {
    /// When the proposer received the request.
    pub at: Millis,
    /// The caller's idempotency key, already scoped to the caller by the proposer; a write
    /// whose key was applied before answers the earlier result without applying again.
    pub idempotency_key: Option<String>,
    /// With a key: a digest of the request that carried it (the proposer's choice, e.g. the
    /// SHA-256 of the request message). A later write with the same key and another digest
    /// is refused (`IdempotentParameterMismatch`) rather than answered the first result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_digest: Option<String>,
    pub op: Op,
}

/// Which kind of principal an operation targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

impl PrincipalKind {
    /// The API field naming an entity of this kind.
    pub fn field(self) -> &'static str {
        match self {
            PrincipalKind::User => "user_name",
            PrincipalKind::Group => "group_name",
            PrincipalKind::Role => "role_name",
        }
    }

    /// The entity kind in messages.
    pub fn noun(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::Role => "role",
        }
    }
}

/// Which kind of entity a tag operation targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Taggable {
    User,
    Role,
    Policy,
}

/// The operations. Every account-scoped operation names its account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op")]
pub enum Op {
    CreateAccount {
        account_id: String,
        name: String,
    },
    CreateUser {
        account: String,
        user_name: String,
        path: String,
        tags: Vec<Tag>,
        permissions_boundary: Option<String>,
    },
    UpdateUser {
        account: String,
        user_name: String,
        new_user_name: Option<String>,
        new_path: Option<String>,
    },
    DeleteUser {
        account: String,
        user_name: String,
    },
    CreateGroup {
        account: String,
        group_name: String,
        path: String,
    },
    UpdateGroup {
        account: String,
        group_name: String,
        new_group_name: Option<String>,
        new_path: Option<String>,
    },
    DeleteGroup {
        account: String,
        group_name: String,
    },
    AddUserToGroup {
        account: String,
        group_name: String,
        user_name: String,
    },
    RemoveUserFromGroup {
        account: String,
        group_name: String,
        user_name: String,
    },
    CreateRole {
        account: String,
        role_name: String,
        path: String,
        assume_role_policy_document: String,
        description: String,
        max_session_duration: u32,
        tags: Vec<Tag>,
        permissions_boundary: Option<String>,
    },
    UpdateRole {
        account: String,
        role_name: String,
        description: Option<String>,
        max_session_duration: Option<u32>,
    },
    UpdateAssumeRolePolicy {
        account: String,
        role_name: String,
        policy_document: String,
    },
    DeleteRole {
        account: String,
        role_name: String,
    },
    CreatePolicy {
        account: String,
        policy_name: String,
        path: String,
        policy_document: String,
        description: String,
        tags: Vec<Tag>,
    },
    DeletePolicy {
        account: String,
        policy_arn: String,
    },
    CreatePolicyVersion {
        account: String,
        policy_arn: String,
        policy_document: String,
        set_as_default: bool,
    },
    DeletePolicyVersion {
        account: String,
        policy_arn: String,
        version_id: String,
    },
    SetDefaultPolicyVersion {
        account: String,
        policy_arn: String,
        version_id: String,
    },
    PutInlinePolicy {
        account: String,
        kind: PrincipalKind,
        name: String,
        policy_name: String,
        policy_document: String,
    },
    DeleteInlinePolicy {
        account: String,
        kind: PrincipalKind,
        name: String,
        policy_name: String,
    },
    AttachPolicy {
        account: String,
        kind: PrincipalKind,
        name: String,
        policy_arn: String,
    },
    DetachPolicy {
        account: String,
        kind: PrincipalKind,
        name: String,
        policy_arn: String,
    },
    PutPermissionsBoundary {
        account: String,
        kind: PrincipalKind,
        name: String,
        permissions_boundary: String,
    },
    DeletePermissionsBoundary {
        account: String,
        kind: PrincipalKind,
        name: String,
    },
    Tag {
        account: String,
        target: Taggable,
        /// User or role name, or policy ARN.
        name: String,
        tags: Vec<Tag>,
    },
    Untag {
        account: String,
        target: Taggable,
        name: String,
        tag_keys: Vec<String>,
    },
    CreateAccessKey {
        account: String,
        /// `None` for the account root.
        user_name: Option<String>,
        access_key_id: String,
        sealed_secret: Vec<u8>,
    },
    UpdateAccessKey {
        account: String,
        user_name: Option<String>,
        access_key_id: String,
        status: KeyStatus,
    },
    DeleteAccessKey {
        account: String,
        user_name: Option<String>,
        access_key_id: String,
    },
    RecordAccessKeyUse {
        access_key_id: String,
        service_name: String,
        region: String,
    },
    CreateLoginProfile {
        account: String,
        user_name: String,
        password_hash: String,
        password_reset_required: bool,
    },
    UpdateLoginProfile {
        account: String,
        user_name: String,
        password_hash: Option<String>,
        password_reset_required: Option<bool>,
    },
    DeleteLoginProfile {
        account: String,
        user_name: String,
    },
    UpdateAccountPasswordPolicy {
        account: String,
        policy: PasswordPolicy,
    },
    DeleteAccountPasswordPolicy {
        account: String,
    },
    /// Makes `management_account` the management account of a new organization, with
    /// `FullAWSAccess` attached to the root.
    CreateOrganization {
        management_account: String,
    },
    /// Creates an account in the organization, under the root, with a role `role_name`
    /// that trusts the management account and has `AdministratorAccess`.
    CreateMemberAccount {
        account_id: String,
        name: String,
        role_name: String,
    },
    CreateOrganizationalUnit {
        parent_id: String,
        name: String,
    },
    DeleteOrganizationalUnit {
        ou_id: String,
    },
    MoveAccount {
        account_id: String,
        source_parent_id: String,
        destination_parent_id: String,
    },
    CreateServiceControlPolicy {
        name: String,
        description: String,
        content: String,
    },
    UpdateServiceControlPolicy {
        policy_id: String,
        name: Option<String>,
        description: Option<String>,
        content: Option<String>,
    },
    DeleteServiceControlPolicy {
        policy_id: String,
    },
    AttachServiceControlPolicy {
        policy_id: String,
        target_id: String,
    },
    DetachServiceControlPolicy {
        policy_id: String,
        target_id: String,
    },
}
