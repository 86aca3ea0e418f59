//! The entities of the identity store. Names are unique per account without regard to case:
//! maps are keyed by the lowercased name and the entity keeps the name as created.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, chosen by the proposer of a command.
pub type Millis = i64;

/// A key/value tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// 1–128 characters, unique per entity without regard to case.
    pub key: String,
    /// 0–256 characters.
    pub value: String,
}

/// The policies of a principal or group: inline documents and attached managed policies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Inline policies by name (case-sensitive, as AWS keys them).
    pub inline: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    pub attached: BTreeSet<String>,
}

/// An IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub path: String,
    pub user_id: String,
    pub arn: String,
    pub create_date: Millis,
    pub tags: Vec<Tag>,
    pub permissions: Permissions,
    /// ARN of the managed policy used as permissions boundary.
    pub boundary: Option<String>,
    /// Lowercased names of the groups the user belongs to.
    pub groups: BTreeSet<String>,
    /// Access key ids of the user.
    pub access_keys: Vec<String>,
    pub login_profile: Option<LoginProfile>,
    /// Serial numbers of the MFA devices enabled for the user.
    pub mfa_devices: Vec<String>,
}

/// A user's console password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginProfile {
    /// Argon2id PHC string; never the password itself.
    pub password_hash: String,
    pub create_date: Millis,
    pub password_reset_required: bool,
}

/// An IAM group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub name: String,
    pub path: String,
    pub group_id: String,
    pub arn: String,
    pub create_date: Millis,
    pub permissions: Permissions,
    /// Lowercased names of the member users.
    pub members: BTreeSet<String>,
}

/// An IAM role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    pub path: String,
    pub role_id: String,
    pub arn: String,
    pub create_date: Millis,
    pub description: String,
    /// The trust policy document.
    pub assume_role_policy: String,
    /// 3,600–43,200 seconds.
    pub max_session_duration: u32,
    pub tags: Vec<Tag>,
    pub permissions: Permissions,
    pub boundary: Option<String>,
}

impl ManagedPolicy {
    /// AWS's `UpdateDate`: when the newest version kept was created, whether or not it is
    /// the default (the creation date while there is one version). Derived when read, so
    /// the replicated state and `apply` stay as they were.
    pub fn last_updated(&self) -> Millis {
        self.versions
            .values()
            .map(|v| v.create_date)
            .max()
            .unwrap_or(self.update_date)
            .max(self.update_date)
    }
}

/// A customer managed policy and its versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    pub policy_id: String,
    pub arn: String,
    pub description: String,
    pub create_date: Millis,
    pub update_date: Millis,
    /// `v1`, `v2`, … : the version in force.
    pub default_version: u32,
    /// The version number the next `CreatePolicyVersion` gets.
    pub next_version: u32,
    /// At most 5 kept.
    pub versions: BTreeMap<u32, PolicyVersion>,
    pub tags: Vec<Tag>,
    /// Attachments to users, groups and roles, and use as a permissions boundary.
    pub attachment_count: u32,
    pub boundary_usage_count: u32,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub document: String,
    pub create_date: Millis,
}

/// Active or Inactive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// A long-term access key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: String,
    /// The owning user's lowercased name; `None` for the account root.
    pub user: Option<String>,
    /// The secret, sealed under the cluster key (never the plain secret).
    pub sealed_secret: Vec<u8>,
    pub status: KeyStatus,
    pub create_date: Millis,
    pub last_used: Option<KeyLastUsed>,
}

/// When and where an access key was last used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLastUsed {
    pub date: Millis,
    pub service_name: String,
    pub region: String,
}

/// The account password policy (AWS's fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    /// 0 = passwords never expire.
    pub max_password_age: u32,
    /// 0 = no reuse prevention.
    pub password_reuse_prevention: u32,
    pub hard_expiry: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 8,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            max_password_age: 0,
            password_reuse_prevention: 0,
            hard_expiry: false,
        }
    }
}

/// An account: its root user and its IAM entities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub account_id: String,
    pub name: String,
    pub create_date: Millis,
    /// Access key ids of the root user.
    pub root_access_keys: Vec<String>,
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
    pub roles: BTreeMap<String, Role>,
    /// Customer managed policies, keyed by lowercased name.
    pub policies: BTreeMap<String, ManagedPolicy>,
    pub password_policy: Option<PasswordPolicy>,
}

/// The organization: a root, organizational units, the accounts' places in the tree, and
/// service control policies with their attachments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-` and 10 characters.
    pub id: String,
    /// `r-` and 4 characters.
    pub root_id: String,
    pub management_account: String,
    pub create_date: Millis,
    /// Organizational units by id (`ou-ROOT-xxxxxxxx`).
    pub units: BTreeMap<String, OrganizationalUnit>,
    /// The parent (root or OU id) of every member account.
    pub account_parent: BTreeMap<String, String>,
    /// Service control policies by id (`p-xxxxxxxx`; `p-FullAWSAccess` is AWS managed).
    pub policies: BTreeMap<String, ServiceControlPolicy>,
    /// Policy ids attached to each target (root, OU or account id).
    pub attachments: BTreeMap<String, BTreeSet<String>>,
}

/// An organizational unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationalUnit {
    pub id: String,
    pub name: String,
    pub parent_id: String,
    pub create_date: Millis,
}

/// A service control policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceControlPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub content: String,
    pub aws_managed: bool,
}

impl Organization {
    /// The levels of SCPs that apply to an account, root first: the policies attached to
    /// the root, to each OU down to the account, and to the account. `None` for the
    /// management account and for accounts outside the organization (no SCP applies).
    pub fn scp_levels(&self, account: &str) -> Option<Vec<Vec<&ServiceControlPolicy>>> {
        if account == self.management_account {
            return None;
        }
        let mut chain = vec![account.to_owned()];
        let mut parent = self.account_parent.get(account)?.clone();
        while parent != self.root_id {
            chain.push(parent.clone());
            parent = self.units.get(&parent)?.parent_id.clone();
        }
        chain.push(self.root_id.clone());
        chain.reverse();
        Some(
            chain
                .iter()
                .map(|target| {
                    self.attachments
                        .get(target)
                        .map(|ids| ids.iter().filter_map(|id| self.policies.get(id)).collect())
                        .unwrap_or_default()
                })
                .collect(),
        )
    }

    /// The account's `aws:PrincipalOrgPaths` entry: the organization, its root and each
    /// OU down to the account's parent, each followed by `/`
    /// (`o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/`). `None` outside the organization.
    pub fn path_of(&self, account: &str) -> Option<String> {
        let mut chain = Vec::new();
        let mut parent = self.account_parent.get(account)?;
        while *parent != self.root_id {
            chain.push(parent.as_str());
            parent = &self.units.get(parent)?.parent_id;
        }
        let mut path = format!("{}/{}/", self.id, self.root_id);
        for unit in chain.iter().rev() {
            path.push_str(unit);
            path.push('/');
        }
        Some(path)
    }

    /// True when `id` is the root or an OU of the organization.
    pub fn is_parent(&self, id: &str) -> bool {
        id == self.root_id || self.units.contains_key(id)
    }

    /// Whether `id` is something a service control policy attaches to: the root, an OU or
    /// an account.
    pub fn is_target(&self, id: &str) -> bool {
        self.is_parent(id) || self.account_parent.contains_key(id)
    }

    /// Depth of an OU below the root (1 for a child of the root).
    pub fn depth(&self, id: &str) -> usize {
        let mut depth = 0;
        let mut current = self.units.get(id);
        while let Some(unit) = current {
            depth += 1;
            current = self.units.get(&unit.parent_id);
        }
        depth
    }
}
