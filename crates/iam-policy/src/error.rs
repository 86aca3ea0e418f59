//! Errors of policy documents: what is wrong, and where.

use std::fmt;

/// A policy document that AWS would refuse, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The AWS error code: `MalformedPolicyDocument` or `LimitExceeded`.
    pub code: &'static str,
    /// The JSON path of the offending element, such as `$.Statement[1].Effect`.
    pub path: String,
    /// What is wrong, in lowercase words, with user input in backticks.
    pub message: String,
}

impl PolicyError {
    pub(crate) fn malformed(path: &Path<'_>, message: impl Into<String>) -> Self {
        PolicyError {
            code: "MalformedPolicyDocument",
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (at `{}`)", self.code, self.message, self.path)
    }
}

impl std::error::Error for PolicyError {}

/// A JSON path, built as a linked list on the stack while a document is walked.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => {
                let plain = key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if plain {
                    write!(f, "{parent}.{key}")
                } else {
                    write!(f, "{parent}[{key:?}]")
                }
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_like_json_paths() {
        let root = Path::Root;
        let st = root.key("Statement");
        let first = st.index(0);
        let cond = first.key("Condition");
        let op = cond.key("StringEquals");
        let key = op.key("aws:username");
        assert_eq!(
            key.to_string(),
            "$.Statement[0].Condition.StringEquals[\"aws:username\"]"
        );
    }
}
