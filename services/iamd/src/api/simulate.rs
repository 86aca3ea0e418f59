//! `SimulatePrincipalPolicy` and `SimulateCustomPolicy`: AWS's policy simulator, answered
//! from this node's memory by the policy engine. One result per action and resource pair,
//! actions in the order given, then resources; paged by the position of the next pair.

use std::sync::Arc;

use iam_api::v1 as pb;
use iam_policy::{
    Context, ContextValue, Decision, DecisionKind, Effect, Hit, Policies, Policy, PolicyKind,
    PolicySet, PolicyType, Request as EngineRequest, evaluate,
};
use iam_store::model::{Account, Tag};
use iam_store::view::PrincipalKind;
use iam_store::{IamState, library};
use tonic::{Code, Request, Status};

use super::authorization::{MAX_CONTEXT_KEYS, MAX_CONTEXT_VALUES, MAX_VALUE_CHARS, explanation};
use super::{DEFAULT_MAX_ITEMS, MAX_MAX_ITEMS, caller, required};
use crate::errors;
use crate::node::Node;

/// Actions of one simulation.
pub const MAX_ACTIONS: usize = 100;
/// Resources of one simulation.
pub const MAX_RESOURCES: usize = 100;
/// Action and resource pairs of one simulation.
pub const MAX_PAIRS: usize = 1_000;
/// Identity-based input policies.
pub const MAX_INPUT_POLICIES: usize = 10;
/// Characters of an action name.
const MAX_ACTION_CHARS: usize = 128;
/// Characters of a resource ARN.
const MAX_RESOURCE_CHARS: usize = 2_048;

/// AWS's labels of the policies a simulation request carries.
const INPUT_LABEL: &str = "PolicyInputList";
const BOUNDARY_LABEL: &str = "PermissionsBoundaryPolicyInputList";
const RESOURCE_LABEL: &str = "ResourcePolicy";

/// Simulates the policies of a stored user, group or role.
pub async fn simulate_principal_policy(
    node: &Node,
    req: Request<pb::SimulatePrincipalPolicyRequest>,
) -> Result<pb::SimulatePrincipalPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    let source = SourceArn::parse(required("policy_source_arn", &r.policy_source_arn)?)?;
    let grid = Grid::new(&r.action_names, &r.resource_arns, &r.marker, r.max_items)?;
    let owner = resource_owner(&r.resource_owner)?;
    let inputs = Inputs::parse(
        &r.policy_input_list,
        &r.permissions_boundary_policy_input_list,
        &r.resource_policy,
    )?;
    let entries = context_entries(&r.context_entries)?;
    node.authorize(&c, "iam:SimulatePrincipalPolicy", source.arn)?;
    if source.account != c.principal.account {
        return Err(no_such_source(source.arn));
    }
    if r.min_revision > 0 {
        node.wait_revision(r.min_revision).await?;
    }
    let view = node.view.load();
    let subject = match source.kind {
        SourceKind::User | SourceKind::Role => view
            .principal_by_arn(source.arn)
            .filter(|p| matches!(p.kind, PrincipalKind::User | PrincipalKind::Role))
            .map(|p| Subject {
                arn: p.arn.clone(),
                account: p.account.clone(),
                identity: p.identity.clone(),
                boundary: p.boundary.clone(),
                tags: p.tags.clone(),
            }),
        SourceKind::Group => group_subject(node, &source).await?,
    }
    .ok_or_else(|| no_such_source(source.arn))?;
    let mut identity = subject.identity;
    for (label, policy) in inputs.identity {
        identity.push(label, policy);
    }
    let context = simulation_context(tag_keys(&subject.tags), &entries);
    let sim = Simulation {
        principal: &subject.arn,
        account: &subject.account,
        owner,
        context: &context,
        policies: Policies {
            identity: Some(&identity),
            resource: inputs.resource.as_ref(),
            boundary: inputs.boundary.as_ref().or(subject.boundary.as_ref()),
            scps: view.scps(&subject.account),
            ..Policies::default()
        },
    };
    Ok(pb::SimulatePrincipalPolicyResponse {
        evaluation_results: sim.run(&grid),
        revision: view.revision,
        is_truncated: grid.is_truncated(),
        marker: grid.next_marker(),
    })
}

/// Simulates policies given in the request only.
pub async fn simulate_custom_policy(
    node: &Node,
    req: Request<pb::SimulateCustomPolicyRequest>,
) -> Result<pb::SimulateCustomPolicyResponse, Status> {
    let c = caller(&req)?;
    let r = req.into_inner();
    if r.policy_input_list.is_empty() {
        return Err(errors::invalid(
            "policy_input_list",
            format!("`policy_input_list` must hold 1 to {MAX_INPUT_POLICIES} policies"),
        ));
    }
    let grid = Grid::new(&r.action_names, &r.resource_arns, &r.marker, r.max_items)?;
    let owner = resource_owner(&r.resource_owner)?;
    let inputs = Inputs::parse(
        &r.policy_input_list,
        &r.permissions_boundary_policy_input_list,
        &r.resource_policy,
    )?;
    let entries = context_entries(&r.context_entries)?;
    let (principal, account) = if r.caller_arn.is_empty() {
        (c.principal.arn.as_str(), c.principal.account.as_str())
    } else {
        (r.caller_arn.as_str(), caller_arn_account(&r.caller_arn)?)
    };
    node.authorize(&c, "iam:SimulateCustomPolicy", "*")?;
    let identity = PolicySet::new(inputs.identity);
    // The engine gives an account root every identity-side permission; a simulation
    // evaluates the given policies only, so a root caller is simulated as an anonymous
    // principal of its account that carries the root's principal keys.
    let is_root = r.caller_arn.is_empty() && c.principal.kind == PrincipalKind::Root;
    let derived = if is_root {
        root_keys(principal, account)
    } else {
        Vec::new()
    };
    let context = simulation_context(derived, &entries);
    let sim = Simulation {
        principal: if is_root { "" } else { principal },
        account,
        owner,
        context: &context,
        policies: Policies {
            identity: Some(&identity),
            resource: inputs.resource.as_ref(),
            boundary: inputs.boundary.as_ref(),
            ..Policies::default()
        },
    };
    Ok(pb::SimulateCustomPolicyResponse {
        evaluation_results: sim.run(&grid),
        is_truncated: grid.is_truncated(),
        marker: grid.next_marker(),
    })
}

/// What `policy_source_arn` names: `arn:PARTITION:iam::ACCOUNT:{user,group,role}/PATH/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceArn<'a> {
    arn: &'a str,
    kind: SourceKind,
    account: &'a str,
    name: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SourceKind {
    User,
    Group,
    Role,
}

impl<'a> SourceArn<'a> {
    fn parse(arn: &'a str) -> Result<Self, Status> {
        let parsed = arn_parts(arn).and_then(|(service, account, resource)| {
            let (kind, path) = resource.split_once('/')?;
            let kind = match (service, kind) {
                ("iam", "user") => SourceKind::User,
                ("iam", "group") => SourceKind::Group,
                ("iam", "role") => SourceKind::Role,
                _ => return None,
            };
            let name = path.rsplit('/').next().filter(|n| !n.is_empty())?;
            Some(SourceArn {
                arn,
                kind,
                account,
                name,
            })
        });
        parsed.ok_or_else(|| {
            errors::invalid(
                "policy_source_arn",
                format!("`{arn}` is not the ARN of a user, group or role"),
            )
        })
    }
}

/// The service, account and resource of an ARN with a 12-digit account.
fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(_), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!partition.is_empty() && is_account_id(account)).then_some((service, account, resource))
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account of `caller_arn`: a user, role or assumed-role ARN.
fn caller_arn_account(arn: &str) -> Result<&str, Status> {
    arn_parts(arn)
        .filter(|(service, _, resource)| {
            let kind = resource.split_once('/').map(|(k, rest)| (k, !rest.is_empty()));
            matches!(
                (*service, kind),
                ("iam", Some(("user" | "role", true))) | ("sts", Some(("assumed-role", true)))
            )
        })
        .map(|(_, account, _)| account)
        .ok_or_else(|| {
            errors::invalid(
                "caller_arn",
                format!("`{arn}` is not the ARN of a user, role or assumed role"),
            )
        })
}

/// `resource_owner`: empty, or a 12-digit account.
fn resource_owner(owner: &str) -> Result<Option<&str>, Status> {
    match owner {
        "" => Ok(None),
        id if is_account_id(id) => Ok(Some(id)),
        other => Err(errors::invalid(
            "resource_owner",
            format!("`{other}` is not a 12-digit account id"),
        )),
    }
}

fn no_such_source(arn: &str) -> Status {
    errors::status(
        Code::NotFound,
        "NoSuchEntity",
        &format!("the principal `{arn}` cannot be found"),
        Some("policy_source_arn"),
    )
}

/// The principal whose stored policies are simulated.
#[derive(Debug)]
struct Subject {
    arn: String,
    account: String,
    identity: PolicySet,
    boundary: Option<PolicySet>,
    tags: Vec<Tag>,
}

/// A group's own policies, read from the state and compiled as the view compiles a user's.
async fn group_subject(node: &Node, source: &SourceArn<'_>) -> Result<Option<Subject>, Status> {
    let (arn, account, name) = (
        source.arn.to_owned(),
        source.account.to_owned(),
        source.name.to_ascii_lowercase(),
    );
    let docs = node
        .read(move |s| group_documents(s, &account, &name, &arn))
        .await?;
    Ok(docs.map(|docs| Subject {
        arn: source.arn.to_owned(),
        account: source.account.to_owned(),
        identity: PolicySet::new(docs.into_iter().filter_map(compile_stored)),
        boundary: None,
        tags: Vec::new(),
    }))
}

/// Labelled policy documents of a group: inline ones as `GROUP_ARN#NAME` (group inline
/// kind), attached ones by ARN (managed kind); `None` when no group has this exact ARN.
fn group_documents(
    s: &IamState,
    account: &str,
    name: &str,
    arn: &str,
) -> Option<Vec<(String, String, PolicyKind)>> {
    let acct = s.account(account)?;
    let group = acct.groups.get(name).filter(|g| g.arn == arn)?;
    let inline = group
        .permissions
        .inline
        .iter()
        .map(|(n, doc)| (format!("{arn}#{n}"), doc.clone(), PolicyKind::GroupInline));
    let attached = group.permissions.attached.iter().filter_map(|p| {
        Some((
            p.clone(),
            managed_document(acct, p)?,
            PolicyKind::Managed,
        ))
    });
    Some(inline.chain(attached).collect())
}

/// The default version of a managed policy (AWS managed or of the account).
fn managed_document(acct: &Account, arn: &str) -> Option<String> {
    if let Some(p) = library::get(arn) {
        return Some(p.document.to_owned());
    }
    let name = arn.rsplit('/').next()?.to_ascii_lowercase();
    let p = acct.policies.get(&name).filter(|p| p.arn == arn)?;
    p.versions.get(&p.default_version).map(|v| v.document.clone())
}

fn compile_stored((label, doc, kind): (String, String, PolicyKind)) -> Option<(Arc<str>, Arc<Policy>)> {
    match Policy::parse(&doc, kind) {
        Ok(p) => Some((label.into(), Arc::new(p))),
        Err(error) => {
            // Documents are validated when written; as in the view, such a policy grants
            // nothing.
            tracing::error!(%error, policy = %label, "stored policy no longer parses");
            None
        }
    }
}

/// The policies a request carries, compiled and labelled as AWS labels them.
#[derive(Debug, Default)]
struct Inputs {
    identity: Vec<(Arc<str>, Arc<Policy>)>,
    boundary: Option<PolicySet>,
    resource: Option<PolicySet>,
}

impl Inputs {
    fn parse(identity: &[String], boundary: &[String], resource: &str) -> Result<Self, Status> {
        if identity.len() > MAX_INPUT_POLICIES {
            return Err(errors::invalid(
                "policy_input_list",
                format!("`policy_input_list` holds at most {MAX_INPUT_POLICIES} policies"),
            ));
        }
        if boundary.len() > 1 {
            return Err(errors::invalid(
                "permissions_boundary_policy_input_list",
                "`permissions_boundary_policy_input_list` holds at most 1 policy",
            ));
        }
        let identity = labelled("policy_input_list", INPUT_LABEL, identity)?;
        let boundary = labelled(
            "permissions_boundary_policy_input_list",
            BOUNDARY_LABEL,
            boundary,
        )?;
        let resource = match resource {
            "" => None,
            text => Some(PolicySet::new([(
                Arc::from(RESOURCE_LABEL),
                Arc::new(parse_input(text, PolicyKind::Resource, "resource_policy")?),
            )])),
        };
        Ok(Inputs {
            identity,
            boundary: (!boundary.is_empty()).then(|| PolicySet::new(boundary)),
            resource,
        })
    }
}

/// Parses `field[i]` as identity-based policies labelled `LABEL.N` (N from 1).
fn labelled(
    field: &str,
    label: &str,
    texts: &[String],
) -> Result<Vec<(Arc<str>, Arc<Policy>)>, Status> {
    (1..)
        .zip(texts)
        .map(|(n, text)| {
            let policy = parse_input(text, PolicyKind::Managed, &format!("{field}[{}]", n - 1))?;
            Ok((Arc::from(format!("{label}.{n}")), Arc::new(policy)))
        })
        .collect()
}

/// `MalformedPolicyDocument` (INVALID_ARGUMENT) naming the field, its index, and the JSON
/// path of the problem.
fn parse_input(text: &str, kind: PolicyKind, field: &str) -> Result<Policy, Status> {
    Policy::parse(text, kind).map_err(|e| {
        errors::status(
            Code::InvalidArgument,
            e.code,
            &format!("`{field}`: {} (at `{}`)", e.message, e.path),
            Some(field),
        )
    })
}

/// The action and resource pairs of a simulation and the page of them to answer.
#[derive(Debug)]
struct Grid<'a> {
    actions: &'a [String],
    resources: Vec<&'a str>,
    start: usize,
    len: usize,
    total: usize,
}

impl<'a> Grid<'a> {
    fn new(
        actions: &'a [String],
        resources: &'a [String],
        marker: &str,
        max_items: i32,
    ) -> Result<Self, Status> {
        check_names("action_names", actions, 1, MAX_ACTIONS, check_action)?;
        check_names("resource_arns", resources, 0, MAX_RESOURCES, check_resource)?;
        let resources: Vec<&str> = if resources.is_empty() {
            vec!["*"]
        } else {
            resources.iter().map(String::as_str).collect()
        };
        let total = actions.len().saturating_mul(resources.len());
        if total > MAX_PAIRS {
            return Err(errors::status(
                Code::ResourceExhausted,
                "LimitExceeded",
                &format!(
                    "{total} action and resource pairs, more than the {MAX_PAIRS} allowed; \
                     simulate fewer `action_names` or `resource_arns`"
                ),
                None,
            ));
        }
        let max = page_size(max_items)?;
        let start = match marker {
            "" => 0,
            m => m
                .parse::<usize>()
                .ok()
                .filter(|s| *s < total)
                .ok_or_else(|| errors::invalid("marker", format!("`{m}` is not a marker of this simulation")))?,
        };
        let len = total.saturating_sub(start).min(max);
        Ok(Grid {
            actions,
            resources,
            start,
            len,
            total,
        })
    }

    /// The pairs of this page, actions in order, then resources.
    fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.actions
            .iter()
            .flat_map(|a| self.resources.iter().map(move |r| (a.as_str(), *r)))
            .skip(self.start)
            .take(self.len)
    }

    fn is_truncated(&self) -> bool {
        self.start.saturating_add(self.len) < self.total
    }

    fn next_marker(&self) -> String {
        if self.is_truncated() {
            self.start.saturating_add(self.len).to_string()
        } else {
            String::new()
        }
    }
}

fn page_size(max_items: i32) -> Result<usize, Status> {
    match usize::try_from(max_items) {
        Ok(0) => Ok(DEFAULT_MAX_ITEMS),
        Ok(n) if n <= MAX_MAX_ITEMS => Ok(n),
        _ => Err(errors::invalid(
            "max_items",
            format!("`max_items` must be between 1 and {MAX_MAX_ITEMS}"),
        )),
    }
}

/// Checks the count of a list field and each of its items.
fn check_names(
    field: &str,
    items: &[String],
    min: usize,
    max: usize,
    check: fn(&str) -> Result<(), String>,
) -> Result<(), Status> {
    if items.len() < min || items.len() > max {
        return Err(errors::invalid(
            field,
            format!("`{field}` must hold {min} to {max} items, not {}", items.len()),
        ));
    }
    for (i, item) in items.iter().enumerate() {
        check(item).map_err(|why| errors::invalid(&format!("{field}[{i}]"), why))?;
    }
    Ok(())
}

fn check_action(action: &str) -> Result<(), String> {
    let ok = action.chars().count() <= MAX_ACTION_CHARS
        && action
            .split_once(':')
            .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty());
    ok.then_some(())
        .ok_or_else(|| format!("action `{action}` is not `service:ActionName`"))
}

fn check_resource(resource: &str) -> Result<(), String> {
    let n = resource.chars().count();
    (n > 0 && n <= MAX_RESOURCE_CHARS)
        .then_some(())
        .ok_or_else(|| format!("a resource must be 1 to {MAX_RESOURCE_CHARS} characters"))
}

/// AWS `ContextEntry` values as the engine's: a `_LIST` type is multivalued, a scalar type
/// takes exactly one value, no type means one value single, several multivalued.
fn context_entries(entries: &[pb::ContextEntry]) -> Result<Vec<(&str, ContextValue)>, Status> {
    if entries.len() > MAX_CONTEXT_KEYS {
        return Err(errors::invalid(
            "context_entries",
            format!("`context_entries` holds at most {MAX_CONTEXT_KEYS} keys"),
        ));
    }
    let mut out: Vec<(&str, ContextValue)> = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let key = e.context_key_name.as_str();
        let field = |f: &str| format!("context_entries[{i}].{f}");
        let n = key.chars().count();
        if !(5..=256).contains(&n) {
            return Err(errors::invalid(
                &field("context_key_name"),
                format!("context key `{key}` must be 5 to 256 characters"),
            ));
        }
        if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(errors::invalid(
                &field("context_key_name"),
                format!("context key `{key}` is given more than once"),
            ));
        }
        let value = context_value(e).map_err(|why| {
            let f = if why.starts_with("unknown") { "context_key_type" } else { "context_key_values" };
            errors::invalid(&field(f), why)
        })?;
        out.push((key, value));
    }
    Ok(out)
}

/// One entry's value, or why it is invalid.
fn context_value(e: &pb::ContextEntry) -> Result<ContextValue, String> {
    use pb::ContextKeyType as T;
    let key = &e.context_key_name;
    let values = &e.context_key_values;
    if values.len() > MAX_CONTEXT_VALUES {
        return Err(format!("`{key}` has more than {MAX_CONTEXT_VALUES} values"));
    }
    if values.iter().any(|v| v.chars().count() > MAX_VALUE_CHARS) {
        return Err(format!(
            "a value of `{key}` is longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    let ty = T::try_from(e.context_key_type)
        .map_err(|_| format!("unknown context key type {} of `{key}`", e.context_key_type))?;
    let multi = match ty {
        T::Unspecified => values.len() != 1,
        T::StringList | T::NumericList | T::BooleanList | T::IpList | T::BinaryList
        | T::DateList => true,
        T::String | T::Numeric | T::Boolean | T::Ip | T::Binary | T::Date => false,
    };
    match (multi, values.as_slice()) {
        (true, _) => Ok(ContextValue::Multi(values.clone())),
        (false, [one]) => Ok(ContextValue::Single(one.clone())),
        (false, _) => Err(format!(
            "`{key}` of type {} takes exactly one value, not {}",
            ty.as_str_name(),
            values.len()
        )),
    }
}

/// The keys derived from a principal's tags, as `Authorize` derives them.
fn tag_keys(tags: &[Tag]) -> Vec<(String, ContextValue)> {
    let mut keys: Vec<(String, ContextValue)> = tags
        .iter()
        .map(|t| {
            (
                format!("aws:PrincipalTag/{}", t.key),
                ContextValue::Single(t.value.clone()),
            )
        })
        .collect();
    if !tags.is_empty() {
        keys.push((
            "aws:PrincipalTagKeys".into(),
            ContextValue::Multi(tags.iter().map(|t| t.key.clone()).collect()),
        ));
    }
    keys
}

/// The principal keys of an account root, which the engine would derive from its ARN.
fn root_keys(arn: &str, account: &str) -> Vec<(String, ContextValue)> {
    [
        ("aws:PrincipalArn", arn),
        ("aws:PrincipalType", "Account"),
        ("aws:userid", account),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), ContextValue::Single(v.to_owned())))
    .collect()
}

/// The simulation's context: the keys derived from the principal, then the entries, which
/// win. Unlike `Authorize`, no time or transport keys are filled: as in AWS's simulator, a
/// key the request does not give is reported missing.
fn simulation_context(
    derived: Vec<(String, ContextValue)>,
    entries: &[(&str, ContextValue)],
) -> Context {
    let mut ctx = Context::new();
    for (key, value) in derived {
        ctx.insert(&key, value);
    }
    for (key, value) in entries {
        ctx.insert(key, value.clone());
    }
    ctx
}

/// One simulation: who, the policies in force, and the context of every pair.
#[derive(Debug)]
struct Simulation<'a> {
    principal: &'a str,
    account: &'a str,
    owner: Option<&'a str>,
    context: &'a Context,
    policies: Policies<'a>,
}

impl Simulation<'_> {
    fn run(&self, grid: &Grid<'_>) -> Vec<pb::EvaluationResult> {
        grid.pairs().map(|(a, r)| self.result(a, r)).collect()
    }

    fn result(&self, action: &str, resource: &str) -> pb::EvaluationResult {
        let resource_account = self.owner.unwrap_or_else(|| {
            arn_parts(resource).map_or(self.account, |(_, account, _)| account)
        });
        let req = EngineRequest::new(
            self.principal,
            self.account,
            resource_account,
            action,
            resource,
            self.context,
        );
        let d = evaluate(&self.policies, &req);
        pb::EvaluationResult {
            eval_action_name: action.to_owned(),
            eval_resource_name: resource.to_owned(),
            eval_decision: decision(d.kind) as i32,
            matched_statements: d.applicable().iter().map(statement).collect(),
            missing_context_values: d
                .missing_context_keys()
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            allowed_by_organizations: self.allowed_by_organizations(&d),
            allowed_by_permissions_boundary: self.policies.boundary.map(|_| {
                allows(&d, |t| t == PolicyType::PermissionsBoundary)
            }),
            explanation: Some(explanation(&d)),
        }
    }

    /// Every SCP level has an applicable Allow and no SCP denies; `None` without SCPs.
    fn allowed_by_organizations(&self, d: &Decision<'_>) -> Option<bool> {
        let levels = self.policies.scps.len();
        (levels > 0).then(|| {
            (0..levels).all(|level| {
                let level = u32::try_from(level).unwrap_or(u32::MAX);
                d.applicable()
                    .iter()
                    .any(|h| h.policy_type == PolicyType::Scp(level) && h.effect == Effect::Allow)
            }) && allows(d, |t| matches!(t, PolicyType::Scp(_)))
        })
    }
}

/// An applicable Allow of the policy types `of`, and no applicable Deny among them.
fn allows(d: &Decision<'_>, of: impl Fn(PolicyType) -> bool) -> bool {
    let hits = || d.applicable().iter().filter(|h| of(h.policy_type));
    hits().any(|h| h.effect == Effect::Allow) && !hits().any(|h| h.effect == Effect::Deny)
}

fn decision(k: DecisionKind) -> pb::Decision {
    match k {
        DecisionKind::Allowed => pb::Decision::Allowed,
        DecisionKind::ExplicitDeny => pb::Decision::ExplicitDeny,
        DecisionKind::ImplicitDeny => pb::Decision::ImplicitDeny,
    }
}

/// A statement that applied, on the wire.
fn statement(h: &Hit<'_>) -> pb::DecidingStatement {
    let (ty, level) = match h.policy_type {
        PolicyType::Scp(level) => (pb::PolicyType::Scp, level),
        PolicyType::Resource => (pb::PolicyType::Resource, 0),
        PolicyType::Identity => (pb::PolicyType::Identity, 0),
        PolicyType::PermissionsBoundary => (pb::PolicyType::PermissionsBoundary, 0),
        PolicyType::Session => (pb::PolicyType::Session, 0),
    };
    pb::DecidingStatement {
        policy_type: ty as i32,
        scp_level: level,
        policy_id: h.policy_id.to_owned(),
        statement_index: u32::try_from(h.statement_index).unwrap_or(u32::MAX),
        sid: h.sid.unwrap_or_default().to_owned(),
        effect: match h.effect {
            Effect::Allow => pb::Effect::Allow as i32,
            Effect::Deny => pb::Effect::Deny as i32,
        },
    }
}
