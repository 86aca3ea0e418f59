//! The request side of a simulation, checked and compiled: the source and caller ARNs, the
//! input policies (labelled as AWS labels them), and the action and resource pairs with
//! the page of them to answer.

use std::sync::Arc;

use iam_policy::{Policy, PolicyKind, PolicySet};
use tonic::{Code, Status};

use crate::api::{DEFAULT_MAX_ITEMS, MAX_MAX_ITEMS};
use crate::errors;

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

/// What `policy_source_arn` names: `arn:PARTITION:iam::ACCOUNT:{user,group,role}/PATH/NAME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SourceArn<'a> {
    pub(super) arn: &'a str,
    pub(super) kind: SourceKind,
    pub(super) account: &'a str,
    pub(super) name: &'a str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SourceKind {
    User,
    Group,
    Role,
}

impl<'a> SourceArn<'a> {
    pub(super) fn parse(arn: &'a str) -> Result<Self, Status> {
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
pub(crate) fn arn_parts(arn: &str) -> Option<(&str, &str, &str)> {
    let iam_policy::ArnFields {
        partition,
        service,
        account,
        resource,
        ..
    } = iam_policy::arn_fields(arn)?;
    (!partition.is_empty() && is_account_id(account)).then_some((service, account, resource))
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account of `caller_arn`: a user, role or assumed-role ARN.
pub(super) fn caller_arn_account(arn: &str) -> Result<&str, Status> {
    arn_parts(arn)
        .filter(|(service, _, resource)| {
            let kind = resource
                .split_once('/')
                .map(|(k, rest)| (k, !rest.is_empty()));
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
pub(super) fn resource_owner(owner: &str) -> Result<Option<&str>, Status> {
    match owner {
        "" => Ok(None),
        id if is_account_id(id) => Ok(Some(id)),
        other => Err(errors::invalid(
            "resource_owner",
            format!("`{other}` is not a 12-digit account id"),
        )),
    }
}

/// A compiled policy and its label in explanations.
pub(super) type Labelled = (Arc<str>, Arc<Policy>);

/// The policies a request carries, compiled and labelled as AWS labels them.
#[derive(Debug, Default)]
pub(super) struct Inputs {
    pub(super) identity: Vec<Labelled>,
    pub(super) boundary: Option<PolicySet>,
    pub(super) resource: Option<PolicySet>,
}

impl Inputs {
    pub(super) fn parse(
        identity: &[String],
        boundary: &[String],
        resource: &str,
    ) -> Result<Self, Status> {
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
fn labelled(field: &str, label: &str, texts: &[String]) -> Result<Vec<Labelled>, Status> {
    (1..)
        .zip(texts)
        .map(|(n, text)| {
            let policy = parse_input(text, PolicyKind::Managed, &format!("{field}[{}]", n - 1))?;
            Ok((Arc::from(format!("{label}.{n}")), Arc::new(policy)))
        })
        .collect()
}

/// The largest policy a simulation takes, in non-whitespace characters (AWS's simulator's).
pub const MAX_SIMULATED_POLICY_CHARS: usize = 131_072;

/// `MalformedPolicyDocument` (INVALID_ARGUMENT) naming the field, its index, and the JSON
/// path of the problem.
fn parse_input(text: &str, kind: PolicyKind, field: &str) -> Result<Policy, Status> {
    // AWS's simulator takes policies of up to 131,072 characters, whatever their kind.
    let size = iam_policy::policy_size(text);
    if size > MAX_SIMULATED_POLICY_CHARS {
        return Err(errors::status(
            Code::ResourceExhausted,
            "LimitExceeded",
            &format!(
                "`{field}` has {size} non-whitespace characters, more than the \
                 {MAX_SIMULATED_POLICY_CHARS} the simulator takes"
            ),
            Some(field),
        ));
    }
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
pub(super) struct Grid<'a> {
    actions: &'a [String],
    resources: Vec<&'a str>,
    start: usize,
    len: usize,
    total: usize,
}

impl<'a> Grid<'a> {
    pub(super) fn new(
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
                .ok_or_else(|| {
                    errors::invalid(
                        "marker",
                        format!("`{m}` is not a marker of this simulation"),
                    )
                })?,
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
    pub(super) fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.actions
            .iter()
            .flat_map(|a| self.resources.iter().map(move |r| (a.as_str(), *r)))
            .skip(self.start)
            .take(self.len)
    }

    pub(super) fn is_truncated(&self) -> bool {
        self.start.saturating_add(self.len) < self.total
    }

    pub(super) fn next_marker(&self) -> String {
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
            format!(
                "`{field}` must hold {min} to {max} items, not {}",
                items.len()
            ),
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

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    const ALLOW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

    fn field(s: &Status) -> String {
        s.get_details_bad_request()
            .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
            .unwrap_or_default()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn source_arns_name_users_groups_and_roles() {
        let user = SourceArn::parse("arn:aws:iam::111111111111:user/traders/alice").unwrap();
        assert_eq!(
            (user.kind, user.account, user.name),
            (SourceKind::User, "111111111111", "alice")
        );
        let group = SourceArn::parse("arn:aws:iam::111111111111:group/traders").unwrap();
        assert_eq!((group.kind, group.name), (SourceKind::Group, "traders"));
        let role = SourceArn::parse("arn:aws:iam::111111111111:role/ops/Admin").unwrap();
        assert_eq!((role.kind, role.name), (SourceKind::Role, "Admin"));
        for bad in [
            "arn:aws:iam::111111111111:root",
            "arn:aws:sts::111111111111:assumed-role/Admin/s",
            "arn:aws:iam::11111:user/alice",
            "arn:aws:iam::111111111111:user/",
            "alice",
        ] {
            let err = SourceArn::parse(bad).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
            assert_eq!(field(&err), "policy_source_arn");
        }
    }

    #[test]
    fn caller_arns_are_users_roles_or_sessions() {
        for (arn, account) in [
            ("arn:aws:iam::111111111111:user/alice", "111111111111"),
            ("arn:aws:iam::222222222222:role/Admin", "222222222222"),
            (
                "arn:aws:sts::333333333333:assumed-role/Admin/s",
                "333333333333",
            ),
        ] {
            assert_eq!(caller_arn_account(arn).unwrap(), account);
        }
        let err = caller_arn_account("arn:aws:iam::111111111111:root").unwrap_err();
        assert_eq!(field(&err), "caller_arn");
        assert_eq!(field(&resource_owner("12").unwrap_err()), "resource_owner");
        assert_eq!(resource_owner("").unwrap(), None);
    }

    #[test]
    fn input_policies_get_aws_labels() {
        let identity = strings(&[ALLOW, ALLOW]);
        let inputs = Inputs::parse(&identity, &strings(&[ALLOW]), "").unwrap();
        let labels: Vec<&str> = inputs.identity.iter().map(|(l, _)| &**l).collect();
        assert_eq!(labels, ["PolicyInputList.1", "PolicyInputList.2"]);
        assert!(inputs.boundary.is_some());
        assert!(inputs.resource.is_none());
    }

    #[test]
    fn a_malformed_input_policy_names_its_field_and_index() {
        let identity = strings(&[ALLOW, r#"{"Statement":[{"Effect":"Maybe"}]}"#]);
        let err = Inputs::parse(&identity, &[], "").unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(field(&err), "policy_input_list[1]");
        let info = err.get_details_error_info().unwrap();
        assert_eq!(info.reason, "MalformedPolicyDocument");
        assert!(
            err.message().contains("`policy_input_list[1]`"),
            "{}",
            err.message()
        );

        let err = Inputs::parse(&[], &strings(&["{"]), "").unwrap_err();
        assert_eq!(field(&err), "permissions_boundary_policy_input_list[0]");
        let err = Inputs::parse(&[], &[], ALLOW).unwrap_err();
        assert_eq!(
            field(&err),
            "resource_policy",
            "a resource policy needs a principal"
        );
        let eleven = vec![ALLOW.to_owned(); 11];
        assert_eq!(
            field(&Inputs::parse(&eleven, &[], "").unwrap_err()),
            "policy_input_list"
        );
    }

    #[test]
    fn pairs_go_action_by_action_and_default_to_any_resource() {
        let actions = strings(&["s3:GetObject", "s3:PutObject"]);
        let grid = Grid::new(&actions, &[], "", 0).unwrap();
        let pairs: Vec<_> = grid.pairs().collect();
        assert_eq!(pairs, [("s3:GetObject", "*"), ("s3:PutObject", "*")]);
        assert!(!grid.is_truncated());
        assert_eq!(grid.next_marker(), "");

        let resources = strings(&["arn:aws:s3:::a", "arn:aws:s3:::b"]);
        let first = Grid::new(&actions, &resources, "", 3).unwrap();
        assert_eq!(first.pairs().count(), 3);
        assert!(first.is_truncated());
        let marker = first.next_marker();
        let rest = Grid::new(&actions, &resources, &marker, 3).unwrap();
        let pairs: Vec<_> = rest.pairs().collect();
        assert_eq!(pairs, [("s3:PutObject", "arn:aws:s3:::b")]);
        assert!(!rest.is_truncated());
    }

    #[test]
    fn grid_limits_name_the_field() {
        let one = strings(&["s3:GetObject"]);
        let err = Grid::new(&[], &[], "", 0).unwrap_err();
        assert_eq!(field(&err), "action_names");
        let many: Vec<String> = (0..=MAX_ACTIONS).map(|i| format!("s3:A{i}")).collect();
        assert_eq!(
            field(&Grid::new(&many, &[], "", 0).unwrap_err()),
            "action_names"
        );
        let bad = strings(&["s3:GetObject", "GetObject"]);
        assert_eq!(
            field(&Grid::new(&bad, &[], "", 0).unwrap_err()),
            "action_names[1]"
        );
        let empty = strings(&[""]);
        assert_eq!(
            field(&Grid::new(&one, &empty, "", 0).unwrap_err()),
            "resource_arns[0]"
        );
        assert_eq!(field(&Grid::new(&one, &[], "7", 0).unwrap_err()), "marker");
        assert_eq!(
            field(&Grid::new(&one, &[], "", 1_001).unwrap_err()),
            "max_items"
        );

        let actions: Vec<String> = (0..40).map(|i| format!("s3:A{i}")).collect();
        let resources: Vec<String> = (0..30).map(|i| format!("arn:aws:s3:::b{i}")).collect();
        let err = Grid::new(&actions, &resources, "", 0).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        assert!(
            err.message().starts_with("LimitExceeded: 1200"),
            "{}",
            err.message()
        );
    }
}
