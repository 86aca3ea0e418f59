//! Strings of the policy language: literal text, `*`/`?` wildcards and `${…}` policy variables.
//!
//! A [`Template`] is parsed once when a policy is compiled. Text that holds no variable is
//! matched directly; text with variables is resolved against the request first, and the
//! resolved value is literal (a `*` inside a variable's value is not a wildcard).

use std::borrow::Cow;

use crate::context::{Lookup, Request};

/// One piece of a parsed string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// Literal text (already lowercased when the template is case-insensitive).
    Lit(Box<str>),
    /// `*`: any run of characters, including none, `:` and `/`.
    Star,
    /// `?`: exactly one character.
    Quest,
    /// `${key}` or `${key, 'default'}`.
    Var(Variable),
}

/// A policy variable: a context key (lowercased) and an optional default value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Variable {
    pub(crate) key: Box<str>,
    pub(crate) default: Option<Box<str>>,
}

/// Why a template could not be resolved for a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unresolved {
    /// A variable has no value and no default: positive matches fail, negated ones succeed.
    Missing,
    /// A variable names a multivalued key, which cannot be substituted: an evaluation error.
    Multivalued,
}

/// How a template is parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Syntax {
    /// `*` and `?` are wildcards (Resource, Action, `StringLike`, `ArnLike`).
    pub(crate) wildcards: bool,
    /// `${…}` is a variable (policy `Version` 2012-10-17 only).
    pub(crate) variables: bool,
    /// Compare without regard to case: literal text is lowercased.
    pub(crate) ignore_case: bool,
}

/// A parsed string of the policy language, prepared for matching.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
    shape: Shape,
    ignore_case: bool,
}

/// Fast paths for the common shapes of a variable-free pattern.
#[derive(Debug, Clone)]
enum Shape {
    /// `*`: matches everything.
    Any,
    /// No wildcard: equality.
    Exact(Box<str>),
    /// `prefix*`: a prefix test.
    Prefix(Box<str>),
    /// A lone variable: equality with its value.
    Variable(Variable),
    /// Anything else, or anything with a variable: the general matcher.
    General,
}

impl Template {
    /// Parses `text`. Never fails: an unterminated `${` is literal text.
    pub(crate) fn parse(text: &str, syntax: Syntax) -> Self {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if syntax.variables && rest.starts_with("${") {
                if let Some(end) = rest.find('}') {
                    let inner = rest.get(2..end).unwrap_or_default();
                    match inner {
                        "*" | "?" | "$" => lit.push_str(inner),
                        _ => {
                            flush(&mut pieces, &mut lit, syntax.ignore_case);
                            pieces.push(Piece::Var(parse_variable(inner)));
                        }
                    }
                    rest = rest.get(end + 1..).unwrap_or_default();
                    continue;
                }
            }
            match c {
                '*' if syntax.wildcards => {
                    flush(&mut pieces, &mut lit, syntax.ignore_case);
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                }
                '?' if syntax.wildcards => {
                    flush(&mut pieces, &mut lit, syntax.ignore_case);
                    pieces.push(Piece::Quest);
                }
                _ => lit.push(c),
            }
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
        flush(&mut pieces, &mut lit, syntax.ignore_case);
        let shape = shape_of(&pieces);
        Template {
            pieces,
            shape,
            ignore_case: syntax.ignore_case,
        }
    }

    /// True when the template holds at least one variable.
    pub(crate) fn has_variables(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Var(_)))
    }

    /// The variables of the template.
    #[cfg(test)]
    pub(crate) fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Var(v) => Some(v),
            _ => None,
        })
    }

    /// True when the template has a wildcard outside its variables.
    #[cfg(test)]
    pub(crate) fn has_wildcards(&self) -> bool {
        self.pieces
            .iter()
            .any(|p| matches!(p, Piece::Star | Piece::Quest))
    }

    /// The literal text before the first wildcard or variable.
    pub(crate) fn literal_prefix(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Lit(s)) => s,
            _ => "",
        }
    }

    /// The parsed pieces.
    pub(crate) fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// Matches `text` (already lowercased by the caller when the template ignores case).
    pub(crate) fn matches(&self, text: &str, req: &Request<'_>) -> Result<bool, Unresolved> {
        match &self.shape {
            Shape::Any => Ok(true),
            Shape::Exact(lit) => Ok(**lit == *text),
            Shape::Prefix(lit) => Ok(text.starts_with(&**lit)),
            Shape::Variable(var) => match self.variable_value_ref(var, req)? {
                Cow::Borrowed(value) => Ok(value == text),
                Cow::Owned(value) => Ok(value == text),
            },
            Shape::General => {
                if self.has_variables() {
                    let resolved = self.resolve_pieces(req)?;
                    Ok(glob(&resolved, text))
                } else {
                    Ok(glob(&self.pieces, text))
                }
            }
        }
    }

    /// Replaces each variable by a literal piece holding its value.
    pub(crate) fn resolve_pieces(&self, req: &Request<'_>) -> Result<Vec<Piece>, Unresolved> {
        let mut out = Vec::with_capacity(self.pieces.len());
        for piece in &self.pieces {
            match piece {
                Piece::Var(v) => out.push(Piece::Lit(self.variable_value(v, req)?.into())),
                other => out.push(other.clone()),
            }
        }
        Ok(out)
    }

    fn variable_value(&self, var: &Variable, req: &Request<'_>) -> Result<String, Unresolved> {
        self.variable_value_ref(var, req).map(Cow::into_owned)
    }

    /// The value of a variable, lowercased when the template ignores case.
    fn variable_value_ref<'r>(
        &'r self,
        var: &'r Variable,
        req: &'r Request<'_>,
    ) -> Result<Cow<'r, str>, Unresolved> {
        let value = match req.lookup(&var.key) {
            Lookup::Single(v) => v,
            Lookup::Multi(_) => return Err(Unresolved::Multivalued),
            Lookup::Absent => match &var.default {
                Some(d) => d,
                None => return Err(Unresolved::Missing),
            },
        };
        Ok(if self.ignore_case {
            Cow::Owned(value.to_lowercase())
        } else {
            Cow::Borrowed(value)
        })
    }
}

fn parse_variable(inner: &str) -> Variable {
    // `${key}` or `${key, 'default value'}`
    if let Some((key, default)) = inner.split_once(',') {
        let default = default.trim();
        let default = default
            .strip_prefix('\'')
            .and_then(|d| d.strip_suffix('\''))
            .unwrap_or(default);
        Variable {
            key: key.trim().to_ascii_lowercase().into(),
            default: Some(default.into()),
        }
    } else {
        Variable {
            key: inner.trim().to_ascii_lowercase().into(),
            default: None,
        }
    }
}

fn flush(pieces: &mut Vec<Piece>, lit: &mut String, ignore_case: bool) {
    if lit.is_empty() {
        return;
    }
    let text = if ignore_case {
        lit.to_lowercase()
    } else {
        std::mem::take(lit)
    };
    lit.clear();
    pieces.push(Piece::Lit(text.into()));
}

fn shape_of(pieces: &[Piece]) -> Shape {
    match pieces {
        [] => Shape::Exact("".into()),
        [Piece::Star] => Shape::Any,
        [Piece::Lit(s)] => Shape::Exact(s.clone()),
        [Piece::Lit(s), Piece::Star] => Shape::Prefix(s.clone()),
        [Piece::Var(v)] => Shape::Variable(v.clone()),
        _ => Shape::General,
    }
}

/// Glob matching of `text` against pieces holding no variable (a `Var` matches nothing).
///
/// The pattern is split at its stars into segments; the first segment must match at the
/// start, the last at the end, and every segment between them is matched at its leftmost
/// position, which is optimal for `*`-only separators.
pub(crate) fn glob(pieces: &[Piece], text: &str) -> bool {
    let mut segments = pieces.split(|p| *p == Piece::Star);
    let Some(first) = segments.next() else {
        return text.is_empty();
    };
    let starred = pieces.contains(&Piece::Star);
    if !starred {
        return match_segment_at(first, text) == Some(text.len());
    }
    let Some(mut pos) = match_segment_at(first, text) else {
        return false;
    };
    let mut middle: Vec<&[Piece]> = segments.collect();
    let last = middle.pop().unwrap_or_default();
    for seg in middle {
        if seg.is_empty() {
            continue;
        }
        match find_segment(seg, text, pos) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    // The last segment must end exactly at the end of the text.
    let Some(tail) = text.get(pos..) else {
        return false;
    };
    let needed = segment_chars(last);
    let available = tail.chars().count();
    if available < needed {
        return false;
    }
    let skip = tail
        .char_indices()
        .nth(available - needed)
        .map_or(tail.len(), |(i, _)| i);
    match tail.get(skip..) {
        Some(end) => match_segment_at(last, end) == Some(end.len()),
        None => false,
    }
}

/// Matches a star-free segment at the start of `text`; returns the byte length consumed.
fn match_segment_at(seg: &[Piece], text: &str) -> Option<usize> {
    let mut pos = 0;
    for piece in seg {
        let rest = text.get(pos..)?;
        match piece {
            Piece::Lit(s) => {
                if !rest.starts_with(&**s) {
                    return None;
                }
                pos += s.len();
            }
            Piece::Quest => pos += rest.chars().next()?.len_utf8(),
            Piece::Star | Piece::Var(_) => return None,
        }
    }
    Some(pos)
}

/// Finds the leftmost match of a segment at or after `from`; returns the end offset.
fn find_segment(seg: &[Piece], text: &str, from: usize) -> Option<usize> {
    let mut start = from;
    loop {
        let rest = text.get(start..)?;
        if let Some(Piece::Lit(s)) = seg.first() {
            // Jump to the next occurrence of the leading literal.
            start += rest.find(&**s)?;
        }
        let rest = text.get(start..)?;
        if let Some(len) = match_segment_at(seg, rest) {
            return Some(start + len);
        }
        start += rest.chars().next()?.len_utf8();
    }
}

fn segment_chars(seg: &[Piece]) -> usize {
    seg.iter()
        .map(|p| match p {
            Piece::Lit(s) => s.chars().count(),
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WILD: Syntax = Syntax {
        wildcards: true,
        variables: true,
        ignore_case: false,
    };

    fn m(pattern: &str, text: &str) -> bool {
        let t = Template::parse(pattern, WILD);
        glob(t.pieces(), text)
    }

    #[test]
    fn star_spans_colons_and_slashes() {
        assert!(m("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(m(
            "arn:aws:trading:*",
            "arn:aws:trading:eu-west-1:1:venue/x"
        ));
        assert!(m("*", ""));
        assert!(m("a*b*c", "abc"));
        assert!(m("a*b*c", "axxbyyc"));
        assert!(!m("a*b*c", "axxbyy"));
        assert!(m("*c", "abcc"));
        assert!(!m("a*", "b"));
    }

    #[test]
    fn question_is_one_character() {
        assert!(m("s3:Get?bject", "s3:GetObject"));
        assert!(!m("s3:Get?bject", "s3:GetObbject"));
        assert!(m("a?", "aé"));
        assert!(m("*?", "x"));
        assert!(!m("*??", "x"));
        assert!(m("?*?", "xy"));
    }

    #[test]
    fn literal_star_in_text_needs_a_pattern_wildcard() {
        assert!(!m("arn:aws:s3:::b/a", "arn:aws:s3:::b/*"));
        assert!(m("arn:aws:s3:::b/*", "arn:aws:s3:::b/*"));
    }

    #[test]
    fn escapes_are_literal() {
        let t = Template::parse("a/${*}/${?}/${$}", WILD);
        assert!(!t.has_wildcards());
        assert!(glob(t.pieces(), "a/*/?/$"));
        assert!(!glob(t.pieces(), "a/x/y/$"));
    }

    #[test]
    fn variable_with_default() {
        let t = Template::parse("x/${aws:PrincipalTag/team, 'none'}/y", WILD);
        let vars: Vec<_> = t.variables().collect();
        assert_eq!(vars.len(), 1);
        assert_eq!(&*vars[0].key, "aws:principaltag/team");
        assert_eq!(vars[0].default.as_deref(), Some("none"));
    }

    #[test]
    fn unterminated_variable_is_literal() {
        let t = Template::parse("a${b", WILD);
        assert!(!t.has_variables());
        assert!(glob(t.pieces(), "a${b"));
    }
}
