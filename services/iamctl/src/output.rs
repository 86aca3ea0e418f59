//! Printing a rendered response: pretty JSON (four spaces, as the AWS CLI), or a simple
//! aligned table.
//!
//! A table shows each top-level list as rows (the scalar fields of its items as columns);
//! entities (a response without a list, or the `Group` beside the members of `get-group`)
//! are shown as `field  value` rows, nested fields flattened with dots (`User.UserName`).

use std::io::Write;

use clap::ValueEnum;
use serde_json::{Map, Value};

use crate::client::CliError;

/// The output format, `--output`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Pretty-printed JSON.
    #[default]
    Json,
    /// Aligned columns.
    Table,
}

/// Writes `value` to standard output; a closed pipe is not an error.
pub(crate) fn print(value: &Value, format: Format) -> Result<(), CliError> {
    let text = match format {
        Format::Json => json(value)?,
        Format::Table => table(value),
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Internal(format!("cannot write the output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Pretty JSON with the AWS CLI's four-space indent. Pretty JSON never has a newline
/// inside a string (it is escaped), so doubling each line's leading spaces is exact.
fn json(value: &Value) -> Result<String, CliError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| CliError::Internal(e.to_string()))?;
    let lines: Vec<String> = text
        .lines()
        .map(|line| {
            let body = line.trim_start_matches(' ');
            let indent = line.len() - body.len();
            format!("{}{body}", " ".repeat(indent * 2))
        })
        .collect();
    Ok(lines.join("\n"))
}

/// The table form of a response.
pub(crate) fn table(value: &Value) -> String {
    let Value::Object(fields) = value else {
        return cell(value);
    };
    let lists: Vec<(&String, &Vec<Value>)> = fields
        .iter()
        .filter_map(|(k, v)| v.as_array().map(|a| (k, a)))
        .collect();
    if lists.is_empty() {
        let mut rows = Vec::new();
        flatten("", value, &mut rows);
        return align(&["Field".to_owned(), "Value".to_owned()], &rows);
    }
    // Entities and single values beside the lists (the `Group` of `get-group`, the node
    // fields of `cluster status`) first, as one block of field/value rows; `NextToken`,
    // which says where the lists go on, last.
    let mut blocks = Vec::new();
    let mut entity_rows = Vec::new();
    for (key, v) in fields {
        if !v.is_array() && key != "NextToken" {
            flatten(key, v, &mut entity_rows);
        }
    }
    if !entity_rows.is_empty() {
        blocks.push(align(
            &["Field".to_owned(), "Value".to_owned()],
            &entity_rows,
        ));
    }
    for (name, items) in &lists {
        if items.is_empty() {
            blocks.push(format!("{name}: (none)"));
            continue;
        }
        let block = rows_of(name, items);
        blocks.push(if lists.len() > 1 {
            format!("{name}\n{block}")
        } else {
            block
        });
    }
    if let Some(token) = fields.get("NextToken") {
        blocks.push(format!("NextToken: {}", cell(token)));
    }
    blocks.join("\n\n")
}

/// One list as rows: objects give a column per scalar field, scalars one column.
fn rows_of(name: &str, items: &[Value]) -> String {
    let mut columns: Vec<String> = Vec::new();
    for item in items {
        if let Value::Object(fields) = item {
            for (key, v) in fields {
                if !v.is_object() && !v.is_array() && !columns.contains(key) {
                    columns.push(key.clone());
                }
            }
        }
    }
    if columns.is_empty() {
        let rows = items.iter().map(|v| vec![cell(v)]).collect::<Vec<_>>();
        return align(&[name.to_owned()], &rows);
    }
    let empty = Map::new();
    let rows = items
        .iter()
        .map(|item| {
            let fields = item.as_object().unwrap_or(&empty);
            columns
                .iter()
                .map(|c| fields.get(c).map(cell).unwrap_or_default())
                .collect()
        })
        .collect::<Vec<_>>();
    align(&columns, &rows)
}

fn flatten(prefix: &str, value: &Value, rows: &mut Vec<Vec<String>>) {
    let join = |key: &str| match prefix {
        "" => key.to_owned(),
        p => format!("{p}.{key}"),
    };
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                flatten(&join(key), v, rows);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&join(&i.to_string()), v, rows);
            }
        }
        scalar => rows.push(vec![prefix.to_owned(), cell(scalar)]),
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn align(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, c) in widths.iter_mut().zip(row) {
            *width = (*width).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    let mut out = vec![line(header), line(&rule)];
    out.extend(rows.iter().map(|r| line(r)));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_list_becomes_columns() {
        let value = json!({"Users": [
            {"UserName": "alice", "Arn": "arn:aws:iam::1:user/alice", "Tags": []},
            {"UserName": "bob", "Arn": "arn:aws:iam::1:user/bob"}
        ]});
        assert_eq!(
            table(&value),
            "UserName  Arn\n\
             --------  -------------------------\n\
             alice     arn:aws:iam::1:user/alice\n\
             bob       arn:aws:iam::1:user/bob"
        );
    }

    #[test]
    fn a_list_of_names_and_a_next_token() {
        let value = json!({"PolicyNames": ["a", "bb"], "NextToken": "m"});
        assert_eq!(
            table(&value),
            "PolicyNames\n-----------\na\nbb\n\nNextToken: m"
        );
    }

    #[test]
    fn an_entity_beside_a_list_comes_first() {
        let value = json!({"Group": {"GroupName": "desk"}, "Users": [{"UserName": "alice"}]});
        assert_eq!(
            table(&value),
            "Field            Value\n\
             ---------------  -----\n\
             Group.GroupName  desk\n\
             \n\
             UserName\n\
             --------\n\
             alice"
        );
    }

    #[test]
    fn single_values_beside_a_list_are_one_field_value_block() {
        let value = json!({
            "NodeId": 1, "Role": "Leader", "Members": [{"NodeId": 1}], "Learners": []
        });
        assert_eq!(
            table(&value),
            "Field   Value\n\
             ------  ------\n\
             NodeId  1\n\
             Role    Leader\n\
             \n\
             Members\n\
             NodeId\n\
             ------\n\
             1\n\
             \n\
             Learners: (none)"
        );
    }

    #[test]
    fn a_single_entity_becomes_field_value_rows() {
        let value = json!({"User": {"UserName": "alice", "Tags": [{"Key": "k", "Value": "v"}]}});
        assert_eq!(
            table(&value),
            "Field              Value\n\
             -----------------  -----\n\
             User.UserName      alice\n\
             User.Tags.0.Key    k\n\
             User.Tags.0.Value  v"
        );
    }

    #[test]
    fn json_is_indented_by_four() {
        assert_eq!(json(&json!({"A": 1})).unwrap(), "{\n    \"A\": 1\n}");
    }
}
