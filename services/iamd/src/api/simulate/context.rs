//! A simulation's context: AWS `ContextEntry` values converted to the engine's, after the
//! keys derived from the principal.

use std::sync::Arc;

use iam_api::v1 as pb;
use iam_policy::{Context, ContextValue};
use tonic::Status;

use crate::api::authorization::{MAX_CONTEXT_KEYS, MAX_CONTEXT_VALUES, MAX_VALUE_CHARS};
use crate::errors;

/// AWS `ContextEntry` values as the engine's: a `_LIST` type is multivalued, a scalar type
/// takes exactly one value, no type means one value single, several multivalued.
pub(super) fn context_entries(
    entries: &[pb::ContextEntry],
) -> Result<Vec<(&str, ContextValue)>, Status> {
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
        let ty = pb::ContextKeyType::try_from(e.context_key_type).map_err(|_| {
            errors::invalid(
                &field("context_key_type"),
                format!("unknown type {} of context key `{key}`", e.context_key_type),
            )
        })?;
        let value = context_value(key, &e.context_key_values, ty)
            .map_err(|why| errors::invalid(&field("context_key_values"), why))?;
        out.push((key, value));
    }
    Ok(out)
}

/// One entry's value, or why it is invalid.
fn context_value(
    key: &str,
    values: &[String],
    ty: pb::ContextKeyType,
) -> Result<ContextValue, String> {
    use pb::ContextKeyType as T;
    if values.len() > MAX_CONTEXT_VALUES {
        return Err(format!("`{key}` has more than {MAX_CONTEXT_VALUES} values"));
    }
    if values.iter().any(|v| v.chars().count() > MAX_VALUE_CHARS) {
        return Err(format!(
            "a value of `{key}` is longer than {MAX_VALUE_CHARS} characters"
        ));
    }
    let multi = match ty {
        T::Unspecified => values.len() != 1,
        T::StringList
        | T::NumericList
        | T::BooleanList
        | T::IpList
        | T::BinaryList
        | T::DateList => true,
        T::String | T::Numeric | T::Boolean | T::Ip | T::Binary | T::Date => false,
    };
    match (multi, values) {
        (true, _) => Ok(ContextValue::Multi(values.to_vec())),
        (false, [one]) => Ok(ContextValue::Single(one.clone())),
        (false, _) => Err(format!(
            "`{key}` of type {} takes exactly one value, not {}",
            ty.as_str_name(),
            values.len()
        )),
    }
}

/// The principal keys of an account root, which the engine would derive from its ARN.
pub(super) fn root_keys(arn: &str, account: &str) -> Arc<Context> {
    let mut ctx = Context::new();
    ctx.insert_single("aws:PrincipalArn", arn);
    ctx.insert_single("aws:PrincipalType", "Account");
    ctx.insert_single("aws:userid", account);
    Arc::new(ctx)
}

/// The simulation's context: the keys derived from the principal (`derived`), then the
/// entries, which win. Unlike `Authorize`, no time or transport keys are filled: as in AWS's
/// simulator, a key the request does not give is reported missing.
pub(super) fn simulation_context(
    derived: Arc<Context>,
    entries: &[(&str, ContextValue)],
) -> Context {
    let mut ctx = Context::on(derived);
    for (key, value) in entries {
        ctx.insert(key, value.clone());
    }
    ctx
}

#[cfg(test)]
mod tests {
    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;
    use iam_store::model::Tag;
    use pb::ContextKeyType as T;

    fn entry(key: &str, values: &[&str], ty: T) -> pb::ContextEntry {
        pb::ContextEntry {
            context_key_name: key.into(),
            context_key_values: values.iter().map(|v| (*v).to_owned()).collect(),
            context_key_type: ty as i32,
        }
    }

    fn field_of(entries: &[pb::ContextEntry]) -> String {
        let err = context_entries(entries).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        err.get_details_bad_request()
            .and_then(|b| b.field_violations.first().map(|v| v.field.clone()))
            .unwrap_or_default()
    }

    #[test]
    fn list_types_are_multivalued_and_scalars_single() {
        let entries = [
            entry("aws:SourceIp", &["10.0.0.1"], T::Ip),
            entry("aws:TagKeys", &["desk"], T::StringList),
            entry("trading:Venue", &["binance"], T::Unspecified),
            entry("trading:Venues", &["a", "b"], T::Unspecified),
        ];
        let got = context_entries(&entries).unwrap();
        let single = |s: &str| ContextValue::Single(s.into());
        let multi = |v: &[&str]| ContextValue::Multi(v.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(
            got,
            [
                ("aws:SourceIp", single("10.0.0.1")),
                ("aws:TagKeys", multi(&["desk"])),
                ("trading:Venue", single("binance")),
                ("trading:Venues", multi(&["a", "b"])),
            ]
        );
    }

    #[test]
    fn bad_entries_name_the_entry_and_field() {
        let two = entry("aws:SourceIp", &["10.0.0.1", "10.0.0.2"], T::Ip);
        assert_eq!(field_of(&[two]), "context_entries[0].context_key_values");
        let none = entry("aws:MultiFactorAuthPresent", &[], T::Boolean);
        assert_eq!(field_of(&[none]), "context_entries[0].context_key_values");
        let short = entry("a:b", &["x"], T::String);
        assert_eq!(field_of(&[short]), "context_entries[0].context_key_name");
        let dup = [
            entry("aws:SourceIp", &["10.0.0.1"], T::Ip),
            entry("AWS:SOURCEIP", &["10.0.0.2"], T::Ip),
        ];
        assert_eq!(field_of(&dup), "context_entries[1].context_key_name");
        let mut odd = entry("aws:SourceIp", &["10.0.0.1"], T::Ip);
        odd.context_key_type = 99;
        assert_eq!(field_of(&[odd]), "context_entries[0].context_key_type");
    }

    #[test]
    fn entries_win_over_derived_keys() {
        let tags = [Tag {
            key: "desk".into(),
            value: "delta".into(),
        }];
        let entries = [(
            "aws:PrincipalTag/desk",
            ContextValue::Single("gamma".into()),
        )];
        let ctx = simulation_context(iam_store::view::tag_context(&tags), &entries);
        assert_eq!(
            ctx.get("aws:principaltag/desk"),
            Some(&ContextValue::Single("gamma".into()))
        );
        assert_eq!(
            ctx.get("aws:PrincipalTagKeys"),
            Some(&ContextValue::Multi(vec!["desk".into()]))
        );
        let root = simulation_context(
            root_keys("arn:aws:iam::111111111111:root", "111111111111"),
            &[],
        );
        assert_eq!(
            root.get("aws:PrincipalType"),
            Some(&ContextValue::Single("Account".into()))
        );
        assert!(
            root.get("aws:CurrentTime").is_none(),
            "time keys are not filled"
        );
    }
}
