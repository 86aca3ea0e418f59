//! The replicated state and its deterministic `apply`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::command::{Op, Write};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::machine::Machine;
use crate::model::{AccessKey, Account, Group, ManagedPolicy, Role, User};

/// How many idempotency keys are remembered (the oldest are forgotten first).
pub const IDEMPOTENCY_KEYS: usize = 100_000;

/// What a successful write produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The change is made; nothing to return.
    Done,
    Account(Box<Account>),
    User(Box<User>),
    Group(Box<Group>),
    Role(Box<Role>),
    Policy(Box<ManagedPolicy>),
    /// A new policy version: its id (`v3`) and whether it is the default.
    PolicyVersion {
        version_id: String,
        is_default: bool,
    },
    AccessKey(Box<AccessKey>),
    Organization(Box<crate::model::Organization>),
    OrganizationalUnit(Box<crate::model::OrganizationalUnit>),
    ServiceControlPolicy(Box<crate::model::ServiceControlPolicy>),
    /// A member account and the role through which the management account administers it.
    MemberAccount {
        account: Box<Account>,
        role_arn: String,
    },
}

/// The answer to a write: the revision it was applied at and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub revision: u64,
    pub result: Result<Outcome, StoreError>,
}

impl Default for Response {
    fn default() -> Self {
        Response {
            revision: 0,
            result: Ok(Outcome::Done),
        }
    }
}

/// What changed in the last applied writes, for the incremental authorization view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Every principal must be rebuilt (after a snapshot install).
    pub all: bool,
    /// `(account, lowercased user name)`
    pub users: BTreeSet<(String, String)>,
    /// `(account, lowercased role name)`
    pub roles: BTreeSet<(String, String)>,
    /// Users or roles removed (their view entries go away): ARNs.
    pub removed: BTreeSet<String>,
    /// Access key ids added, changed or removed.
    pub keys: BTreeSet<String>,
    /// Accounts created.
    pub accounts: BTreeSet<String>,
    /// The organization changed: every account's SCP levels are recomputed.
    pub organization: bool,
}

/// Change tracking lives beside the state but is neither replicated nor compared.
#[derive(Debug, Default)]
struct ChangeCell(Mutex<Changes>);

impl ChangeCell {
    fn everything() -> Self {
        ChangeCell(Mutex::new(Changes {
            all: true,
            ..Changes::default()
        }))
    }
}

impl Clone for ChangeCell {
    fn clone(&self) -> Self {
        ChangeCell::default()
    }
}

impl PartialEq for ChangeCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The whole identity store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IamState {
    pub(crate) accounts: BTreeMap<String, Account>,
    pub(crate) access_keys: BTreeMap<String, AccessKey>,
    /// Source of unique ids (`AIDA…`); advances with every id handed out.
    pub(crate) next_id: u64,
    pub(crate) organization: Option<crate::model::Organization>,
    idempotency: BTreeMap<String, Response>,
    /// The request digest each remembered key came with (keys remembered before digests
    /// were kept, or proposed without one, have none and match any request).
    #[serde(default)]
    idempotency_digests: BTreeMap<String, String>,
    idempotency_order: VecDeque<String>,
    /// A state read from a snapshot reports every principal as changed, so the
    /// authorization view is rebuilt whole from it.
    #[serde(skip, default = "ChangeCell::everything")]
    changes: ChangeCell,
}

impl Machine for IamState {
    type Command = Write;
    type Response = Response;

    fn apply(&mut self, write: &Write, revision: u64) -> Response {
        if let Some(key) = &write.idempotency_key {
            if let Some(earlier) = self.idempotency.get(key) {
                let remembered = self.idempotency_digests.get(key);
                return match (remembered, &write.request_digest) {
                    (Some(was), Some(now)) if was != now => Response {
                        revision,
                        result: Err(StoreError::field(
                            ErrorCode::IdempotentParameterMismatch,
                            "idempotency_key",
                            "this idempotency key was used with a different request; \
                             use a new key for a new request",
                        )),
                    },
                    _ => earlier.clone(),
                };
            }
        }
        // Each operation checks everything before it changes anything, so a refused write
        // leaves the state untouched.
        let result = self.dispatch(&write.op, write.at);
        let response = Response { revision, result };
        // Only a change made is remembered: a refused write changed nothing, and its retry
        // (the user it needed now created, the conflict gone) is tried again.
        if let (Some(key), true) = (&write.idempotency_key, response.result.is_ok()) {
            self.remember(key.clone(), write.request_digest.clone(), response.clone());
        }
        response
    }
}

impl IamState {
    /// Takes the changes recorded since the last call.
    pub fn take_changes(&self) -> Changes {
        match self.changes.0.lock() {
            Ok(mut guard) => std::mem::take(&mut *guard),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// Marks every principal for rebuild (after a snapshot is installed).
    pub fn mark_all_changed(&self) {
        self.record(|c| c.all = true);
    }

    pub(crate) fn record(&self, f: impl FnOnce(&mut Changes)) {
        match self.changes.0.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The accounts, by id.
    pub fn accounts(&self) -> &BTreeMap<String, Account> {
        &self.accounts
    }

    /// One account.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// The organization, if one exists.
    pub fn organization(&self) -> Option<&crate::model::Organization> {
        self.organization.as_ref()
    }

    /// An access key by id.
    pub fn access_key(&self, id: &str) -> Option<&AccessKey> {
        self.access_keys.get(id)
    }

    fn remember(&mut self, key: String, digest: Option<String>, response: Response) {
        self.idempotency.insert(key.clone(), response);
        if let Some(digest) = digest {
            self.idempotency_digests.insert(key.clone(), digest);
        }
        self.idempotency_order.push_back(key);
        while self.idempotency_order.len() > IDEMPOTENCY_KEYS {
            if let Some(old) = self.idempotency_order.pop_front() {
                self.idempotency.remove(&old);
                self.idempotency_digests.remove(&old);
            }
        }
    }

    /// A fresh lowercase id of `len` characters after `prefix` (`o-`, `r-`, `p-`, …).
    pub(crate) fn new_org_id(&mut self, prefix: &str, len: usize) -> String {
        const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        self.next_id += 1;
        let mut a = splitmix(self.next_id);
        let mut out = String::from(prefix);
        for _ in 0..len {
            let index = (a % 36) as usize;
            a /= 36;
            out.push(char::from(*ALPHABET.get(index).unwrap_or(&b'a')));
        }
        out
    }

    /// A fresh unique id: the prefix (`AIDA`, `AGPA`, `AROA`, `ANPA`) and 17 characters.
    pub(crate) fn new_id(&mut self, prefix: &str) -> String {
        const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        self.next_id += 1;
        let mut a = splitmix(self.next_id);
        let mut b = splitmix(a);
        let mut out = String::with_capacity(prefix.len() + 17);
        out.push_str(prefix);
        for i in 0..17 {
            let source = if i < 12 { &mut a } else { &mut b };
            let index = (*source & 31) as usize;
            *source >>= 5;
            out.push(char::from(*ALPHABET.get(index).unwrap_or(&b'A')));
        }
        out
    }

    pub(crate) fn account_mut(&mut self, id: &str) -> StoreResult<&mut Account> {
        self.accounts
            .get_mut(id)
            .ok_or_else(|| StoreError::no_such("account", "account_id", id))
    }

    pub(crate) fn account_ref(&self, id: &str) -> StoreResult<&Account> {
        self.accounts
            .get(id)
            .ok_or_else(|| StoreError::no_such("account", "account_id", id))
    }

    fn dispatch(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        use Op as O;
        match op {
            O::CreateAccount { account_id, name } => self.create_account(account_id, name, at),
            O::CreateUser { .. } | O::UpdateUser { .. } | O::DeleteUser { .. } => {
                self.apply_user(op, at)
            }
            O::CreateGroup { .. }
            | O::UpdateGroup { .. }
            | O::DeleteGroup { .. }
            | O::AddUserToGroup { .. }
            | O::RemoveUserFromGroup { .. } => self.apply_group(op, at),
            O::CreateRole { .. }
            | O::UpdateRole { .. }
            | O::UpdateAssumeRolePolicy { .. }
            | O::DeleteRole { .. } => self.apply_role(op, at),
            O::CreatePolicy { .. }
            | O::DeletePolicy { .. }
            | O::CreatePolicyVersion { .. }
            | O::DeletePolicyVersion { .. }
            | O::SetDefaultPolicyVersion { .. } => self.apply_managed(op, at),
            O::PutInlinePolicy { .. }
            | O::DeleteInlinePolicy { .. }
            | O::AttachPolicy { .. }
            | O::DetachPolicy { .. }
            | O::PutPermissionsBoundary { .. }
            | O::DeletePermissionsBoundary { .. } => self.apply_permissions(op),
            O::Tag { .. } | O::Untag { .. } => self.apply_tags(op),
            O::CreateAccessKey { .. }
            | O::UpdateAccessKey { .. }
            | O::DeleteAccessKey { .. }
            | O::RecordAccessKeyUse { .. } => self.apply_access_key(op, at),
            O::CreateLoginProfile { .. }
            | O::UpdateLoginProfile { .. }
            | O::DeleteLoginProfile { .. }
            | O::UpdateAccountPasswordPolicy { .. }
            | O::DeleteAccountPasswordPolicy { .. } => self.apply_login(op, at),
            O::CreateOrganization { .. }
            | O::CreateMemberAccount { .. }
            | O::CreateOrganizationalUnit { .. }
            | O::DeleteOrganizationalUnit { .. }
            | O::MoveAccount { .. }
            | O::CreateServiceControlPolicy { .. }
            | O::UpdateServiceControlPolicy { .. }
            | O::DeleteServiceControlPolicy { .. }
            | O::AttachServiceControlPolicy { .. }
            | O::DetachServiceControlPolicy { .. } => self.apply_org(op, at),
        }
    }

    pub(crate) fn create_account(&mut self, id: &str, name: &str, at: i64) -> StoreResult<Outcome> {
        crate::validate::account_id("account_id", id)?;
        crate::validate::description("account_name", name, 50)?;
        if name.is_empty() {
            return Err(StoreError::invalid(
                "account_name",
                "`account_name` is required",
            ));
        }
        if self.accounts.contains_key(id) {
            return Err(StoreError::exists("account", "account_id", id));
        }
        if self.accounts.len() >= crate::validate::quota::ACCOUNTS {
            return Err(StoreError::limit(
                "account_id",
                "accounts",
                crate::validate::quota::ACCOUNTS,
            ));
        }
        let account = Account {
            account_id: id.to_owned(),
            name: name.to_owned(),
            create_date: at,
            root_access_keys: Vec::new(),
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            roles: BTreeMap::new(),
            policies: BTreeMap::new(),
            password_policy: None,
        };
        self.accounts.insert(id.to_owned(), account.clone());
        self.record(|c| {
            c.accounts.insert(id.to_owned());
        });
        Ok(Outcome::Account(Box::new(account)))
    }
}

/// SplitMix64: a bijective scramble, so distinct counters give distinct ids.
fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `DeleteConflict` with a message.
pub(crate) fn conflict(field: &str, message: impl Into<String>) -> StoreError {
    StoreError::field(ErrorCode::DeleteConflict, field, message)
}

/// Shared handle used by the authorization view to read the state.
pub type SharedState = Arc<IamState>;
