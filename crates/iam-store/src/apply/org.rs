//! The organization: its root, organizational units, member accounts and service control
//! policies (SCPs).

use std::collections::{BTreeMap, BTreeSet};

use iam_policy::PolicyKind;

use crate::command::{Op, PrincipalKind};
use crate::error::{ErrorCode, StoreError, StoreResult};
use crate::model::{Organization, OrganizationalUnit, ServiceControlPolicy};
use crate::state::{IamState, Outcome};
use crate::validate::{self, quota};

use super::check_document;

/// The id of the AWS managed SCP that allows everything.
pub const FULL_AWS_ACCESS: &str = "p-FullAWSAccess";
const FULL_AWS_ACCESS_DOC: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

fn no_org() -> StoreError {
    StoreError::new(
        ErrorCode::ConstraintViolation,
        "AWSOrganizationsNotInUseException: the store has no organization",
    )
}

impl IamState {
    fn org_mut(&mut self) -> StoreResult<&mut Organization> {
        self.organization.as_mut().ok_or_else(no_org)
    }

    fn org_ref(&self) -> StoreResult<&Organization> {
        self.organization.as_ref().ok_or_else(no_org)
    }

    fn org_changed(&self) {
        self.record(|c| c.organization = true);
    }

    pub(crate) fn apply_org(&mut self, op: &Op, at: i64) -> StoreResult<Outcome> {
        match op {
            Op::CreateOrganization { management_account } => {
                self.create_org(management_account, at)
            }
            Op::CreateMemberAccount {
                account_id,
                name,
                role_name,
            } => self.create_member_account(account_id, name, role_name, at),
            Op::CreateOrganizationalUnit { parent_id, name } => {
                validate::description("name", name, 128)?;
                if name.is_empty() {
                    return Err(StoreError::invalid("name", "`name` is required"));
                }
                let org = self.org_ref()?;
                if !org.is_parent(parent_id) {
                    return Err(StoreError::no_such("parent", "parent_id", parent_id));
                }
                if org.units.len() >= quota::ORGANIZATIONAL_UNITS {
                    return Err(StoreError::limit(
                        "parent_id",
                        "organizational units",
                        quota::ORGANIZATIONAL_UNITS,
                    ));
                }
                if org.depth(parent_id) + 1 > quota::OU_DEPTH {
                    return Err(StoreError::limit(
                        "parent_id",
                        "nesting depth of organizational units",
                        quota::OU_DEPTH,
                    ));
                }
                let root_part = org.root_id.trim_start_matches("r-").to_owned();
                let id = self.new_org_id(&format!("ou-{root_part}-"), 8);
                let unit = OrganizationalUnit {
                    id: id.clone(),
                    name: name.clone(),
                    parent_id: parent_id.clone(),
                    create_date: at,
                };
                let org = self.org_mut()?;
                org.units.insert(id.clone(), unit.clone());
                org.attachments
                    .insert(id, BTreeSet::from([FULL_AWS_ACCESS.to_owned()]));
                self.org_changed();
                Ok(Outcome::OrganizationalUnit(Box::new(unit)))
            }
            Op::DeleteOrganizationalUnit { ou_id } => {
                let org = self.org_ref()?;
                if !org.units.contains_key(ou_id) {
                    return Err(StoreError::no_such(
                        "organizational unit",
                        "organizational_unit_id",
                        ou_id,
                    ));
                }
                let has_children = org.units.values().any(|u| &u.parent_id == ou_id)
                    || org.account_parent.values().any(|p| p == ou_id);
                if has_children {
                    return Err(StoreError::field(
                        ErrorCode::DeleteConflict,
                        "organizational_unit_id",
                        format!(
                            "OrganizationalUnitNotEmptyException: `{ou_id}` still has accounts or units"
                        ),
                    ));
                }
                let org = self.org_mut()?;
                org.units.remove(ou_id);
                org.attachments.remove(ou_id);
                self.org_changed();
                Ok(Outcome::Done)
            }
            Op::MoveAccount {
                account_id,
                source_parent_id,
                destination_parent_id,
            } => {
                let org = self.org_ref()?;
                match org.account_parent.get(account_id) {
                    None => return Err(StoreError::no_such("account", "account_id", account_id)),
                    Some(p) if p != source_parent_id => {
                        return Err(StoreError::field(
                            ErrorCode::NoSuchEntity,
                            "source_parent_id",
                            format!(
                                "SourceParentNotFoundException: `{account_id}` is not under `{source_parent_id}`"
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                if !org.is_parent(destination_parent_id) {
                    return Err(StoreError::no_such(
                        "parent",
                        "destination_parent_id",
                        destination_parent_id,
                    ));
                }
                if source_parent_id == destination_parent_id {
                    return Err(StoreError::field(
                        ErrorCode::EntityAlreadyExists,
                        "destination_parent_id",
                        format!(
                            "DuplicateAccountException: `{account_id}` is already under `{destination_parent_id}`"
                        ),
                    ));
                }
                self.org_mut()?
                    .account_parent
                    .insert(account_id.clone(), destination_parent_id.clone());
                self.org_changed();
                Ok(Outcome::Done)
            }
            _ => self.apply_scp(op),
        }
    }

    fn create_org(&mut self, management_account: &str, at: i64) -> StoreResult<Outcome> {
        self.account_ref(management_account)?;
        if self.organization.is_some() {
            return Err(StoreError::new(
                ErrorCode::EntityAlreadyExists,
                "AlreadyInOrganizationException: an organization exists",
            ));
        }
        let id = self.new_org_id("o-", 10);
        let root_id = self.new_org_id("r-", 4);
        let full = ServiceControlPolicy {
            id: FULL_AWS_ACCESS.into(),
            name: "FullAWSAccess".into(),
            description: "Allows access to every operation".into(),
            content: FULL_AWS_ACCESS_DOC.into(),
            aws_managed: true,
        };
        let mut account_parent = BTreeMap::new();
        for account in self.accounts.keys() {
            account_parent.insert(account.clone(), root_id.clone());
        }
        let mut attachments = BTreeMap::new();
        for target in account_parent.keys().chain(std::iter::once(&root_id)) {
            attachments.insert(target.clone(), BTreeSet::from([FULL_AWS_ACCESS.to_owned()]));
        }
        let org = Organization {
            id,
            root_id,
            management_account: management_account.to_owned(),
            create_date: at,
            units: BTreeMap::new(),
            account_parent,
            policies: BTreeMap::from([(FULL_AWS_ACCESS.to_owned(), full)]),
            attachments,
        };
        self.organization = Some(org.clone());
        self.org_changed();
        Ok(Outcome::Organization(Box::new(org)))
    }

    fn create_member_account(
        &mut self,
        id: &str,
        name: &str,
        role_name: &str,
        at: i64,
    ) -> StoreResult<Outcome> {
        let org = self.org_ref()?;
        let (management, root_id) = (org.management_account.clone(), org.root_id.clone());
        validate::name("role_name", role_name, 64)?;
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{management}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        );
        let Outcome::Account(account) = self.create_account(id, name, at)? else {
            return Err(StoreError::invalid(
                "account_id",
                "account creation answered no account",
            ));
        };
        // Checked above and on an empty account: these cannot fail but for a bug, and a
        // failure would leave the account without its role, so it is reported.
        self.dispatch_role(id, role_name, &trust, at)?;
        let org = self.org_mut()?;
        org.account_parent.insert(id.to_owned(), root_id);
        org.attachments
            .insert(id.to_owned(), BTreeSet::from([FULL_AWS_ACCESS.to_owned()]));
        self.org_changed();
        Ok(Outcome::MemberAccount {
            account,
            role_arn: format!("arn:aws:iam::{id}:role/{role_name}"),
        })
    }

    fn dispatch_role(
        &mut self,
        account: &str,
        role_name: &str,
        trust: &str,
        at: i64,
    ) -> StoreResult<()> {
        self.apply_role(
            &Op::CreateRole {
                account: account.to_owned(),
                role_name: role_name.to_owned(),
                path: "/".into(),
                assume_role_policy_document: trust.to_owned(),
                description: "Lets the management account administer this account".into(),
                max_session_duration: 3_600,
                tags: Vec::new(),
                permissions_boundary: None,
            },
            at,
        )?;
        self.apply_permissions(&Op::AttachPolicy {
            account: account.to_owned(),
            kind: PrincipalKind::Role,
            name: role_name.to_owned(),
            policy_arn: "arn:aws:iam::aws:policy/AdministratorAccess".into(),
        })?;
        Ok(())
    }

    fn apply_scp(&mut self, op: &Op) -> StoreResult<Outcome> {
        match op {
            Op::CreateServiceControlPolicy {
                name,
                description,
                content,
            } => {
                validate::name("name", name, 128)?;
                validate::description("description", description, 512)?;
                check_document("content", content, PolicyKind::Scp)?;
                let org = self.org_ref()?;
                if org.policies.values().any(|p| p.name == *name) {
                    return Err(StoreError::exists("policy", "name", name));
                }
                if org.policies.len() >= quota::SCPS {
                    return Err(StoreError::limit(
                        "name",
                        "service control policies",
                        quota::SCPS,
                    ));
                }
                let policy = ServiceControlPolicy {
                    id: self.new_org_id("p-", 8),
                    name: name.clone(),
                    description: description.clone(),
                    content: content.clone(),
                    aws_managed: false,
                };
                self.org_mut()?
                    .policies
                    .insert(policy.id.clone(), policy.clone());
                Ok(Outcome::ServiceControlPolicy(Box::new(policy)))
            }
            Op::UpdateServiceControlPolicy {
                policy_id,
                name,
                description,
                content,
            } => {
                if let Some(n) = name {
                    validate::name("name", n, 128)?;
                }
                if let Some(d) = description {
                    validate::description("description", d, 512)?;
                }
                if let Some(c) = content {
                    check_document("content", c, PolicyKind::Scp)?;
                }
                let p = self.custom_scp(policy_id)?;
                if let Some(n) = name {
                    p.name = n.clone();
                }
                if let Some(d) = description {
                    p.description = d.clone();
                }
                if let Some(c) = content {
                    p.content = c.clone();
                }
                let p = p.clone();
                self.org_changed();
                Ok(Outcome::ServiceControlPolicy(Box::new(p)))
            }
            Op::DeleteServiceControlPolicy { policy_id } => {
                self.custom_scp(policy_id)?;
                let org = self.org_ref()?;
                if org.attachments.values().any(|ids| ids.contains(policy_id)) {
                    return Err(StoreError::field(
                        ErrorCode::DeleteConflict,
                        "policy_id",
                        format!("PolicyInUseException: `{policy_id}` is attached"),
                    ));
                }
                self.org_mut()?.policies.remove(policy_id);
                Ok(Outcome::Done)
            }
            Op::AttachServiceControlPolicy {
                policy_id,
                target_id,
            } => {
                let org = self.org_ref()?;
                self.check_target(org, policy_id, target_id)?;
                let attached = org.attachments.get(target_id);
                if attached.is_some_and(|ids| ids.contains(policy_id)) {
                    return Err(StoreError::field(
                        ErrorCode::EntityAlreadyExists,
                        "policy_id",
                        format!(
                            "DuplicatePolicyAttachmentException: `{policy_id}` is already attached to `{target_id}`"
                        ),
                    ));
                }
                let attached = attached.map_or(0, BTreeSet::len);
                if attached >= quota::SCPS_PER_TARGET {
                    return Err(StoreError::limit(
                        "target_id",
                        "policies attached to a target",
                        quota::SCPS_PER_TARGET,
                    ));
                }
                self.org_mut()?
                    .attachments
                    .entry(target_id.clone())
                    .or_default()
                    .insert(policy_id.clone());
                self.org_changed();
                Ok(Outcome::Done)
            }
            Op::DetachServiceControlPolicy {
                policy_id,
                target_id,
            } => {
                let org = self.org_ref()?;
                self.check_target(org, policy_id, target_id)?;
                let attached = org.attachments.get(target_id);
                if !attached.is_some_and(|ids| ids.contains(policy_id)) {
                    return Err(StoreError::field(
                        ErrorCode::ConstraintViolation,
                        "policy_id",
                        format!(
                            "PolicyNotAttachedException: `{policy_id}` is not attached to `{target_id}`"
                        ),
                    ));
                }
                if attached.is_some_and(|ids| ids.len() == 1) {
                    return Err(StoreError::field(
                        ErrorCode::ConstraintViolation,
                        "policy_id",
                        "ConstraintViolationException: a target must keep at least one service control policy",
                    ));
                }
                if let Some(ids) = self.org_mut()?.attachments.get_mut(target_id) {
                    ids.remove(policy_id);
                }
                self.org_changed();
                Ok(Outcome::Done)
            }
            _ => Err(StoreError::invalid("op", "not an organization operation")),
        }
    }

    fn custom_scp(&mut self, policy_id: &str) -> StoreResult<&mut ServiceControlPolicy> {
        let p = self
            .org_mut()?
            .policies
            .get_mut(policy_id)
            .ok_or_else(|| StoreError::no_such("policy", "policy_id", policy_id))?;
        if p.aws_managed {
            return Err(StoreError::field(
                ErrorCode::ConstraintViolation,
                "policy_id",
                format!(
                    "ConstraintViolationException: `{policy_id}` is managed by AWS and cannot be changed"
                ),
            ));
        }
        Ok(p)
    }

    fn check_target(
        &self,
        org: &Organization,
        policy_id: &str,
        target_id: &str,
    ) -> StoreResult<()> {
        if !org.policies.contains_key(policy_id) {
            return Err(StoreError::no_such("policy", "policy_id", policy_id));
        }
        if !org.is_target(target_id) {
            return Err(StoreError::no_such("target", "target_id", target_id));
        }
        Ok(())
    }
}
