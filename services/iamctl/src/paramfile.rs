//! Parameter values as the AWS CLI takes them: `file://path` reads the value from a file,
//! tags in shorthand (`Key=k,Value=v`) or JSON, and `key=value` context entries.
//!
//! Each function here is a clap value parser, so a bad value is a usage error naming its
//! flag.

use std::path::PathBuf;

use iam_api::v1 as pb;
use serde_json::Value;

/// A value given as text or as `file://path` (relative to the working directory; `~/`
/// means the home directory). A trailing newline of a file is kept: JSON ignores it.
pub(crate) fn text(value: &str) -> Result<String, String> {
    let Some(path) = value.strip_prefix("file://") else {
        return Ok(value.to_owned());
    };
    let path = match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    };
    std::fs::read_to_string(&path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))
}

/// The tags of one `--tags` value: `Key=k,Value=v` (either order; a value may hold commas),
/// a JSON list `[{"Key": "k", "Value": "v"}, …]`, or `file://` holding that list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagSet(pub(crate) Vec<pb::Tag>);

impl TagSet {
    /// Every tag of every `--tags` value, in order.
    pub(crate) fn flatten(sets: Vec<TagSet>) -> Vec<pb::Tag> {
        sets.into_iter().flat_map(|s| s.0).collect()
    }
}

/// Clap value parser of [`TagSet`].
pub(crate) fn tags(value: &str) -> Result<TagSet, String> {
    let value = text(value)?;
    let trimmed = value.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        return json_tags(trimmed).map(TagSet);
    }
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for part in value.split(',') {
        match part.split_once('=') {
            Some((name @ ("Key" | "Value"), v)) => pairs.push((name, v.to_owned())),
            // A comma inside a value: the part continues the previous value.
            _ => match pairs.last_mut() {
                Some((name, previous)) if *name == "Value" => {
                    previous.push(',');
                    previous.push_str(part);
                }
                _ => return Err(format!("expected `Key=k,Value=v`, found `{value}`")),
            },
        }
    }
    let find = |wanted: &str| {
        pairs
            .iter()
            .rev()
            .find(|(name, _)| *name == wanted)
            .map(|(_, v)| v.clone())
    };
    let (key, val) = (find("Key"), find("Value"));
    let key = key.ok_or_else(|| format!("tag `{value}` has no `Key=`"))?;
    Ok(TagSet(vec![pb::Tag {
        key,
        value: val.unwrap_or_default(),
    }]))
}

fn json_tags(text: &str) -> Result<Vec<pb::Tag>, String> {
    let parsed: Value =
        serde_json::from_str(text).map_err(|e| format!("tags are not valid JSON: {e}"))?;
    let items = match parsed {
        Value::Array(items) => items,
        single @ Value::Object(_) => vec![single],
        _ => return Err("tags must be a JSON list of {\"Key\", \"Value\"}".to_owned()),
    };
    items
        .iter()
        .map(|item| {
            let field = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
            Ok(pb::Tag {
                key: field("Key").ok_or("every tag needs a string `Key`")?,
                value: field("Value").unwrap_or_default(),
            })
        })
        .collect()
}

/// Clap value parser of `--context key=value`: a single-valued context key.
pub(crate) fn context_value(value: &str) -> Result<(String, String), String> {
    let (key, v) = value
        .split_once('=')
        .ok_or_else(|| format!("expected `key=value`, found `{value}`"))?;
    if key.is_empty() {
        return Err(format!("empty context key in `{value}`"));
    }
    Ok((key.to_owned(), v.to_owned()))
}

/// Clap value parser of `--context-list key=v1,v2`: a multivalued key; `key=` is a present
/// but empty set.
pub(crate) fn context_list(value: &str) -> Result<(String, Vec<String>), String> {
    let (key, values) = context_value(value)?;
    let values = match values.as_str() {
        "" => Vec::new(),
        list => list.split(',').map(str::to_owned).collect(),
    };
    Ok((key, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> pb::Tag {
        pb::Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    fn temp_file(name: &str, contents: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("iamctl-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn file_values_are_read_from_the_file() {
        let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let path = temp_file("policy.json", doc);
        assert_eq!(text(&format!("file://{}", path.display())).unwrap(), doc);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn plain_values_are_kept() {
        assert_eq!(text(r#"{"a":1}"#).unwrap(), r#"{"a":1}"#);
        assert_eq!(text("fileless").unwrap(), "fileless");
    }

    #[test]
    fn a_missing_file_is_an_error_naming_it() {
        let err = text("file:///no/such/iamctl/file.json").unwrap_err();
        assert!(err.contains("`/no/such/iamctl/file.json`"), "{err}");
    }

    #[test]
    fn tags_in_shorthand() {
        assert_eq!(
            tags("Key=desk,Value=fx").unwrap().0,
            vec![tag("desk", "fx")]
        );
        assert_eq!(
            tags("Value=fx,Key=desk").unwrap().0,
            vec![tag("desk", "fx")]
        );
        assert_eq!(
            tags("Key=k,Value=a,b=c").unwrap().0,
            vec![tag("k", "a,b=c")]
        );
        assert_eq!(tags("Key=k").unwrap().0, vec![tag("k", "")]);
        assert!(tags("desk=fx").is_err());
    }

    #[test]
    fn tags_in_json_and_from_files() {
        let json = r#"[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]"#;
        assert_eq!(tags(json).unwrap().0, vec![tag("a", "1"), tag("b", "2")]);
        let path = temp_file("tags.json", json);
        let from_file = tags(&format!("file://{}", path.display())).unwrap();
        assert_eq!(from_file.0.len(), 2);
        std::fs::remove_file(&path).unwrap();
        assert!(tags(r#"[{"Value":"1"}]"#).is_err());
    }

    #[test]
    fn context_entries() {
        assert_eq!(
            context_value("aws:SourceIp=10.0.0.1").unwrap(),
            ("aws:SourceIp".to_owned(), "10.0.0.1".to_owned())
        );
        assert_eq!(
            context_list("aws:TagKeys=a,b").unwrap().1,
            vec!["a".to_owned(), "b".to_owned()]
        );
        assert!(context_list("aws:TagKeys=").unwrap().1.is_empty());
        assert!(context_value("novalue").is_err());
    }
}
