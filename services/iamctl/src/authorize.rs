//! `iamctl authorize`: one decision from iamd's `Authorize`, printed with its explanation
//! and the revision it was evaluated at.

use std::collections::HashMap;

use clap::Args;
use iam_api::v1 as pb;
use serde_json::Value;

use crate::client::{CliError, Ctx};
use crate::paramfile;

/// The flags of `authorize`.
#[derive(Debug, Args)]
pub(crate) struct AuthorizeArgs {
    /// The action, `service:ActionName` (`s3:GetObject`, `trading:PlaceOrder`).
    #[arg(long)]
    action: String,
    /// The resource ARN, or `*`.
    #[arg(long)]
    resource: String,
    /// The principal the decision is about (needs `iam:AuthorizeOnBehalfOf`); the caller
    /// itself when not given.
    #[arg(long)]
    principal_arn: Option<String>,
    /// A single-valued context key: `--context aws:SourceIp=10.0.0.1 …`.
    #[arg(long, num_args = 1.., value_name = "KEY=VALUE", value_parser = paramfile::context_value)]
    context: Vec<(String, String)>,
    /// A multivalued context key: `--context-list aws:TagKeys=a,b …` (`key=` for an empty
    /// set).
    #[arg(long, num_args = 1.., value_name = "KEY=V1,V2", value_parser = paramfile::context_list)]
    context_list: Vec<(String, Vec<String>)>,
    /// The resource's resource-based policy: JSON text or `file://policy.json`.
    #[arg(long, value_parser = paramfile::text)]
    resource_policy: Option<String>,
    /// The 12-digit account owning the resource, when the ARN does not say.
    #[arg(long)]
    resource_account: Option<String>,
    /// Read-your-writes: decide on a state at least this revision (a write's `Revision`).
    #[arg(long, default_value_t = 0)]
    min_revision: u64,
    /// Decide on every write committed before the call (a round trip to the leader).
    #[arg(long)]
    linearizable: bool,
}

/// Calls `Authorize`; the output has `Decision`, `Explanation` and `Revision`.
pub(crate) async fn run(args: AuthorizeArgs, ctx: &mut Ctx) -> Result<Value, CliError> {
    let request = pb::AuthorizeRequest {
        context: context(args.context, args.context_list)?,
        action: args.action,
        resource: args.resource,
        resource_policy: args.resource_policy.unwrap_or_default(),
        resource_account: args.resource_account.unwrap_or_default(),
        subject: args
            .principal_arn
            .map(pb::authorize_request::Subject::PrincipalArn),
        min_revision: args.min_revision,
        consistency: if args.linearizable {
            pb::Consistency::Linearizable
        } else {
            pb::Consistency::Local
        } as i32,
    };
    call!(ctx.authz, authorize, "Authorize", request)
}

/// The context map; a key given twice (ignoring case, as iamd compares keys) is a usage
/// error.
fn context(
    single: Vec<(String, String)>,
    lists: Vec<(String, Vec<String>)>,
) -> Result<HashMap<String, pb::ContextValue>, CliError> {
    use pb::context_value::Value as V;
    let entries = single
        .into_iter()
        .map(|(k, v)| (k, V::StringValue(v)))
        .chain(
            lists
                .into_iter()
                .map(|(k, values)| (k, V::StringList(pb::StringList { values }))),
        );
    let mut map = HashMap::new();
    for (key, value) in entries {
        if map.keys().any(|k: &String| k.eq_ignore_ascii_case(&key)) {
            return Err(CliError::Usage(format!(
                "context key `{key}` is given twice"
            )));
        }
        map.insert(key, pb::ContextValue { value: Some(value) });
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keys_are_single_or_lists_and_unique() {
        let map = context(
            vec![("aws:SourceIp".into(), "10.0.0.1".into())],
            vec![("aws:TagKeys".into(), vec![])],
        )
        .unwrap();
        assert_eq!(map.len(), 2);
        assert!(matches!(
            map["aws:TagKeys"].value,
            Some(pb::context_value::Value::StringList(_))
        ));
        let twice = context(
            vec![("aws:SourceIp".into(), "a".into())],
            vec![("AWS:sourceip".into(), vec!["b".into()])],
        );
        assert!(matches!(twice, Err(CliError::Usage(_))));
    }
}
