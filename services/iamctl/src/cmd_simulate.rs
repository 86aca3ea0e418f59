//! The policy simulator, as `aws iam` has it: `simulate-principal-policy` (a principal's own
//! policies, optionally with more) and `simulate-custom-policy` (policies given in full).
//! Both answer one result per action and resource, with the statements that decided it.

use clap::{Args, Subcommand};
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paging::PageArgs;
use crate::paramfile;

/// What both simulations take besides the policies.
#[derive(Debug, Args)]
pub(crate) struct Request {
    /// The actions to simulate (`trading:PlaceOrder` …), one or more.
    #[arg(long, num_args = 1.., required = true)]
    action_names: Vec<String>,
    /// The resources to simulate them on; `*` when none is given.
    #[arg(long, num_args = 1..)]
    resource_arns: Vec<String>,
    /// The resources' resource-based policy: JSON text or `file://policy.json`.
    #[arg(long, value_parser = paramfile::text)]
    resource_policy: Option<String>,
    /// The account that owns the resources (12 digits).
    #[arg(long)]
    resource_owner: Option<String>,
    /// Condition keys, in the AWS CLI's shorthand:
    /// `ContextKeyName=aws:SourceIp,ContextKeyValues=10.20.3.7,ContextKeyType=ip`
    /// (several values separated by commas); repeat for each key.
    #[arg(long, num_args = 1.., value_parser = context_entry)]
    context_entries: Vec<pb::ContextEntry>,
    /// Permissions boundaries to simulate with: JSON text or `file://policy.json`, each.
    #[arg(long, num_args = 1.., value_parser = paramfile::text)]
    permissions_boundary_policy_input_list: Vec<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// The simulator commands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimulateCommand {
    /// Simulates requests by a user, group or role with its policies (its groups', its
    /// permissions boundary), plus any given.
    SimulatePrincipalPolicy {
        /// The ARN of the user, group or role.
        #[arg(long)]
        policy_source_arn: String,
        /// Identity policies to add to the principal's: JSON text or `file://…`, each.
        #[arg(long, num_args = 1.., value_parser = paramfile::text)]
        policy_input_list: Vec<String>,
        #[command(flatten)]
        request: Request,
    },
    /// Simulates requests against the identity policies given, as if they were a
    /// principal's only ones.
    SimulateCustomPolicy {
        /// The identity policies: JSON text or `file://…`, each; one or more.
        #[arg(long, num_args = 1.., required = true, value_parser = paramfile::text)]
        policy_input_list: Vec<String>,
        /// The ARN of the principal the requests come from (for `aws:username` …, and the
        /// resource policy's `Principal`).
        #[arg(long)]
        caller_arn: Option<String>,
        #[command(flatten)]
        request: Request,
    },
}

impl SimulateCommand {
    pub(crate) async fn run(self, ctx: &mut Ctx) -> Result<Value, CliError> {
        let authz = &mut ctx.authz;
        match self {
            SimulateCommand::SimulatePrincipalPolicy {
                policy_source_arn,
                policy_input_list,
                request: r,
            } => list!(
                authz,
                &r.page,
                simulate_principal_policy,
                "SimulatePrincipalPolicy",
                |marker, max_items| pb::SimulatePrincipalPolicyRequest {
                    policy_source_arn: policy_source_arn.clone(),
                    policy_input_list: policy_input_list.clone(),
                    permissions_boundary_policy_input_list: r
                        .permissions_boundary_policy_input_list
                        .clone(),
                    action_names: r.action_names.clone(),
                    resource_arns: r.resource_arns.clone(),
                    resource_policy: r.resource_policy.clone().unwrap_or_default(),
                    resource_owner: r.resource_owner.clone().unwrap_or_default(),
                    context_entries: r.context_entries.clone(),
                    min_revision: 0,
                    marker,
                    max_items,
                }
            ),
            SimulateCommand::SimulateCustomPolicy {
                policy_input_list,
                caller_arn,
                request: r,
            } => list!(
                authz,
                &r.page,
                simulate_custom_policy,
                "SimulateCustomPolicy",
                |marker, max_items| pb::SimulateCustomPolicyRequest {
                    policy_input_list: policy_input_list.clone(),
                    permissions_boundary_policy_input_list: r
                        .permissions_boundary_policy_input_list
                        .clone(),
                    action_names: r.action_names.clone(),
                    resource_arns: r.resource_arns.clone(),
                    resource_policy: r.resource_policy.clone().unwrap_or_default(),
                    resource_owner: r.resource_owner.clone().unwrap_or_default(),
                    caller_arn: caller_arn.clone().unwrap_or_default(),
                    context_entries: r.context_entries.clone(),
                    marker,
                    max_items,
                }
            ),
        }
    }
}

/// Clap value parser of one `--context-entries` value in the AWS CLI's shorthand:
/// `ContextKeyName=k,ContextKeyValues=v1,v2,ContextKeyType=stringList` (any order; values
/// run until the next `ContextKey…=`).
pub(crate) fn context_entry(value: &str) -> Result<pb::ContextEntry, String> {
    let mut entry = pb::ContextEntry::default();
    let (mut name, mut kind) = (None, None);
    let mut in_values = false;
    for part in value.split(',') {
        if let Some(n) = part.strip_prefix("ContextKeyName=") {
            name = Some(n.to_owned());
            in_values = false;
        } else if let Some(t) = part.strip_prefix("ContextKeyType=") {
            kind = Some(context_key_type(t)?);
            in_values = false;
        } else if let Some(v) = part.strip_prefix("ContextKeyValues=") {
            entry.context_key_values.push(v.to_owned());
            in_values = true;
        } else if in_values {
            entry.context_key_values.push(part.to_owned());
        } else {
            return Err(format!(
                "`{part}` is not ContextKeyName=…, ContextKeyValues=… or ContextKeyType=…"
            ));
        }
    }
    entry.context_key_name = name.ok_or("a context entry needs ContextKeyName=…")?;
    if entry.context_key_values.is_empty() {
        return Err("a context entry needs ContextKeyValues=…".into());
    }
    entry.context_key_type = kind.unwrap_or(pb::ContextKeyType::Unspecified) as i32;
    Ok(entry)
}

/// AWS's names of the context key types (`string`, `stringList`, `ip`, …).
fn context_key_type(name: &str) -> Result<pb::ContextKeyType, String> {
    use pb::ContextKeyType as T;
    Ok(match name.to_ascii_lowercase().as_str() {
        "string" => T::String,
        "stringlist" => T::StringList,
        "numeric" => T::Numeric,
        "numericlist" => T::NumericList,
        "boolean" => T::Boolean,
        "booleanlist" => T::BooleanList,
        "ip" => T::Ip,
        "iplist" => T::IpList,
        "binary" => T::Binary,
        "binarylist" => T::BinaryList,
        "date" => T::Date,
        "datelist" => T::DateList,
        _ => {
            return Err(format!(
                "ContextKeyType `{name}` is not one of string, stringList, numeric, \
                 numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, \
                 dateList"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_entries_take_the_aws_cli_shorthand() {
        let e = context_entry(
            "ContextKeyName=aws:SourceIp,ContextKeyValues=10.20.3.7,ContextKeyType=ip",
        )
        .unwrap();
        assert_eq!(e.context_key_name, "aws:SourceIp");
        assert_eq!(e.context_key_values, ["10.20.3.7"]);
        assert_eq!(e.context_key_type, pb::ContextKeyType::Ip as i32);
        let many = context_entry(
            "ContextKeyType=stringList,ContextKeyName=aws:TagKeys,ContextKeyValues=desk,team",
        )
        .unwrap();
        assert_eq!(many.context_key_values, ["desk", "team"]);
        assert_eq!(many.context_key_type, pb::ContextKeyType::StringList as i32);
        for bad in [
            "ContextKeyValues=x",
            "ContextKeyName=k",
            "ContextKeyName=k,ContextKeyValues=v,ContextKeyType=money",
            "k=v",
        ] {
            assert!(context_entry(bad).is_err(), "{bad}");
        }
    }
}
