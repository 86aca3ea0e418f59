//! Keeps the authorization view up to date with the state, one applied batch at a time.

use std::sync::Arc;

use arc_swap::ArcSwap;
use iam_policy::{Context, ContextValue, Policy, PolicyKind, PolicySet};
use rustc_hash::FxHashMap;

use super::{AuthzView, KeyView, PrincipalKind, PrincipalView};
use crate::library;
use crate::model::{Account, Permissions, Tag};
use crate::state::{Changes, IamState};

/// Owns the compiled-policy caches and publishes new views.
#[derive(Debug)]
pub struct ViewBuilder {
    current: Arc<ArcSwap<AuthzView>>,
    /// Compiled managed policies: by `policy_id` (customer) or ARN (AWS managed), with the
    /// version compiled.
    managed: FxHashMap<String, (u32, Arc<Policy>)>,
}

impl ViewBuilder {
    /// A builder publishing into a fresh, empty view.
    pub fn new() -> Self {
        ViewBuilder {
            current: Arc::new(ArcSwap::from_pointee(AuthzView::default())),
            managed: FxHashMap::default(),
        }
    }

    /// The published view, for readers.
    pub fn handle(&self) -> Arc<ArcSwap<AuthzView>> {
        Arc::clone(&self.current)
    }

    /// Applies the changes the state recorded since the last update and publishes the view
    /// at `revision`.
    pub fn update(&mut self, state: &IamState, revision: u64) {
        let changes = state.take_changes();
        let mut view = AuthzView::clone(&self.current.load());
        view.revision = revision;
        if changes.all {
            self.managed.clear();
            view = self.rebuild_all(state, revision);
        } else {
            self.apply(&mut view, state, changes);
        }
        self.current.store(Arc::new(view));
    }

    fn rebuild_all(&mut self, state: &IamState, revision: u64) -> AuthzView {
        let mut view = AuthzView {
            revision,
            ..AuthzView::default()
        };
        for (id, account) in state.accounts() {
            view.principals.insert(
                AuthzView::principal_key(id, PrincipalKind::Root, ""),
                Arc::new(root_view(account)),
            );
            for name in account.users.keys() {
                self.put_user(&mut view, account, name);
            }
            for name in account.roles.keys() {
                self.put_role(&mut view, account, name);
            }
        }
        for key in state.access_keys.keys() {
            put_key(&mut view, state, key);
        }
        view.scps = Arc::new(scp_levels(state));
        view.orgs = Arc::new(org_keys(state));
        view
    }

    fn apply(&mut self, view: &mut AuthzView, state: &IamState, changes: Changes) {
        for arn in &changes.removed {
            if let Some(key) = view.principal_by_arn(arn).map(|p| {
                let kind = p.kind;
                AuthzView::principal_key(&p.account, kind, &p.name)
            }) {
                view.principals.remove(&key);
            }
        }
        for id in &changes.accounts {
            if let Some(account) = state.account(id) {
                view.principals.insert(
                    AuthzView::principal_key(id, PrincipalKind::Root, ""),
                    Arc::new(root_view(account)),
                );
            }
        }
        for (account, name) in &changes.users {
            match state.account(account) {
                Some(acct) if acct.users.contains_key(name) => self.put_user(view, acct, name),
                _ => view.principals.remove(&AuthzView::principal_key(
                    account,
                    PrincipalKind::User,
                    name,
                )),
            }
        }
        for (account, name) in &changes.roles {
            match state.account(account) {
                Some(acct) if acct.roles.contains_key(name) => self.put_role(view, acct, name),
                _ => view.principals.remove(&AuthzView::principal_key(
                    account,
                    PrincipalKind::Role,
                    name,
                )),
            }
        }
        for key in &changes.keys {
            put_key(view, state, key);
        }
        if changes.organization || !changes.accounts.is_empty() {
            view.scps = Arc::new(scp_levels(state));
            view.orgs = Arc::new(org_keys(state));
        }
    }

    fn put_user(&mut self, view: &mut AuthzView, account: &Account, name: &str) {
        let Some(user) = account.users.get(name) else {
            return;
        };
        let mut identity = PolicySet::default();
        self.add_permissions(
            &mut identity,
            account,
            &user.arn,
            &user.permissions,
            PolicyKind::UserInline,
        );
        for group in user.groups.iter().filter_map(|g| account.groups.get(g)) {
            self.add_permissions(
                &mut identity,
                account,
                &group.arn,
                &group.permissions,
                PolicyKind::GroupInline,
            );
        }
        let principal = PrincipalView {
            kind: PrincipalKind::User,
            arn: user.arn.clone(),
            account: account.account_id.clone(),
            name: user.name.clone(),
            unique_id: user.user_id.clone(),
            identity,
            boundary: self.boundary(account, user.boundary.as_deref()),
            tags: user.tags.clone(),
            tag_context: own_context(&user.tags, Some(&user.user_id)),
            trust: None,
            max_session_duration: 0,
        };
        let key = AuthzView::principal_key(&account.account_id, PrincipalKind::User, name);
        view.principals.insert(key, Arc::new(principal));
    }

    fn put_role(&mut self, view: &mut AuthzView, account: &Account, name: &str) {
        let Some(role) = account.roles.get(name) else {
            return;
        };
        let mut identity = PolicySet::default();
        self.add_permissions(
            &mut identity,
            account,
            &role.arn,
            &role.permissions,
            PolicyKind::RoleInline,
        );
        let principal = PrincipalView {
            kind: PrincipalKind::Role,
            arn: role.arn.clone(),
            account: account.account_id.clone(),
            name: role.name.clone(),
            unique_id: role.role_id.clone(),
            identity,
            boundary: self.boundary(account, role.boundary.as_deref()),
            tags: role.tags.clone(),
            tag_context: own_context(&role.tags, None),
            trust: compile(&role.assume_role_policy, PolicyKind::Trust).map(Arc::new),
            max_session_duration: role.max_session_duration,
        };
        let key = AuthzView::principal_key(&account.account_id, PrincipalKind::Role, name);
        view.principals.insert(key, Arc::new(principal));
    }

    fn add_permissions(
        &mut self,
        set: &mut PolicySet,
        account: &Account,
        owner_arn: &str,
        permissions: &Permissions,
        inline_kind: PolicyKind,
    ) {
        for (name, document) in &permissions.inline {
            if let Some(policy) = compile(document, inline_kind) {
                set.push(format!("{owner_arn}#{name}").into(), Arc::new(policy));
            }
        }
        for arn in &permissions.attached {
            if let Some(policy) = self.managed_policy(account, arn) {
                set.push(arn.as_str().into(), policy);
            }
        }
    }

    fn boundary(&mut self, account: &Account, arn: Option<&str>) -> Option<PolicySet> {
        let arn = arn?;
        let policy = self.managed_policy(account, arn)?;
        Some(PolicySet::new([(Arc::from(arn), policy)]))
    }

    /// The compiled default version of a managed policy (customer or AWS managed).
    fn managed_policy(&mut self, account: &Account, arn: &str) -> Option<Arc<Policy>> {
        let (cache_key, version, document) = match library::get(arn) {
            Some(p) => (arn.to_owned(), 0, p.document),
            None => {
                let name = arn.rsplit('/').next()?.to_ascii_lowercase();
                let p = account.policies.get(&name).filter(|p| p.arn == arn)?;
                let v = p.versions.get(&p.default_version)?;
                (p.policy_id.clone(), p.default_version, v.document.as_str())
            }
        };
        if let Some((v, compiled)) = self.managed.get(&cache_key) {
            if *v == version {
                return Some(Arc::clone(compiled));
            }
        }
        let compiled = Arc::new(compile(document, PolicyKind::Managed)?);
        self.managed
            .insert(cache_key, (version, Arc::clone(&compiled)));
        Some(compiled)
    }
}

impl Default for ViewBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// Compiles the SCP levels of every member account (each SCP compiled once).
fn scp_levels(state: &IamState) -> FxHashMap<String, Arc<Vec<PolicySet>>> {
    let mut out = FxHashMap::default();
    let Some(org) = state.organization() else {
        return out;
    };
    let compiled: FxHashMap<&str, Arc<Policy>> = org
        .policies
        .values()
        .filter_map(|p| {
            Some((
                p.id.as_str(),
                Arc::new(compile(&p.content, PolicyKind::Scp)?),
            ))
        })
        .collect();
    for account in org.account_parent.keys() {
        let Some(levels) = org.scp_levels(account) else {
            continue;
        };
        let sets = levels
            .iter()
            .map(|level| {
                PolicySet::new(level.iter().filter_map(|p| {
                    let policy = compiled.get(p.id.as_str())?;
                    Some((Arc::from(p.id.as_str()), Arc::clone(policy)))
                }))
            })
            .collect();
        out.insert(account.clone(), Arc::new(sets));
    }
    out
}

fn org_keys(state: &IamState) -> FxHashMap<String, super::OrgKeys> {
    let Some(org) = state.organization() else {
        return FxHashMap::default();
    };
    org.account_parent
        .keys()
        .filter_map(|account| {
            let path = org.path_of(account)?;
            Some((
                account.clone(),
                super::OrgKeys {
                    id: org.id.clone(),
                    path,
                },
            ))
        })
        .collect()
}

fn compile(document: &str, kind: PolicyKind) -> Option<Policy> {
    match Policy::parse(document, kind) {
        Ok(p) => Some(p),
        Err(error) => {
            // Documents are validated when written; this means the engine's rules changed.
            tracing::error!(%error, "stored policy no longer parses; it grants nothing");
            None
        }
    }
}

fn root_view(account: &Account) -> PrincipalView {
    PrincipalView {
        kind: PrincipalKind::Root,
        arn: format!("arn:aws:iam::{}:root", account.account_id),
        account: account.account_id.clone(),
        name: "root".into(),
        unique_id: account.account_id.clone(),
        identity: PolicySet::default(),
        boundary: None,
        tags: Vec::new(),
        tag_context: own_context(&[], None),
        trust: None,
        max_session_duration: 0,
    }
}

/// The context keys AWS derives from a principal's tags: `aws:PrincipalTag/KEY` for each
/// tag, and `aws:PrincipalTagKeys` when there is any.
pub fn tag_context(tags: &[Tag]) -> Arc<Context> {
    let mut ctx = Context::new();
    for tag in tags {
        ctx.insert_single(&format!("aws:PrincipalTag/{}", tag.key), tag.value.clone());
    }
    if !tags.is_empty() {
        ctx.insert(
            "aws:PrincipalTagKeys",
            ContextValue::Multi(tags.iter().map(|t| t.key.clone()).collect()),
        );
    }
    Arc::new(ctx)
}

/// A principal's own context keys beyond those the engine derives from its ARN: its
/// tags' ([`tag_context`]); `aws:userid` for a user, which AWS sets to its unique id
/// (`AIDA…`); and the two keys AWS puts in every signed request, `aws:PrincipalIsAWSService`
/// and `aws:ViaAWSService`, `false` for IAM principals asking themselves (a resource
/// server may say otherwise for the second).
fn own_context(tags: &[Tag], user_id: Option<&str>) -> Arc<Context> {
    let mut ctx = Arc::unwrap_or_clone(tag_context(tags));
    if let Some(id) = user_id {
        ctx.insert_single("aws:userid", id);
    }
    ctx.insert_single("aws:PrincipalIsAWSService", "false");
    ctx.insert_single("aws:ViaAWSService", "false");
    Arc::new(ctx)
}

fn put_key(view: &mut AuthzView, state: &IamState, id: &str) {
    let Some(k) = state.access_key(id) else {
        view.keys.remove(id);
        return;
    };
    let principal = match &k.user {
        Some(user) => AuthzView::principal_key(&k.account_id, PrincipalKind::User, user),
        None => AuthzView::principal_key(&k.account_id, PrincipalKind::Root, ""),
    };
    view.keys.insert(
        id.to_owned(),
        Arc::new(KeyView {
            access_key_id: k.access_key_id.clone(),
            account: k.account_id.clone(),
            principal,
            status: k.status,
            sealed_secret: k.sealed_secret.clone(),
            opened: Default::default(),
        }),
    );
}
