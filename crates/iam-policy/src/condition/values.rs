//! The policy side of a condition, parsed for its operator, and the per-value comparison.

use std::net::IpAddr;

use base64::Engine as _;
use ipnet::IpNet;

use super::operator::{Cmp, StrOp};
use crate::context::Request;
use crate::date::{self, Instant};
use crate::pattern::{Piece, Template, Unresolved, glob};

/// The values of one condition key, typed by the operator family.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    Str(StrOp, Vec<Template>),
    Numeric(Cmp, Vec<f64>),
    Date(Cmp, Vec<Instant>),
    Bool(Vec<bool>),
    Binary(Vec<Vec<u8>>),
    Ip(Vec<IpNet>),
    Arn(Vec<Template>),
    /// `true` means "the key must be absent".
    Null(Vec<bool>),
}

impl Values {
    /// True when the context `value` matches any policy value (positive form). A variable
    /// without a value makes that policy value match nothing.
    pub(crate) fn matches(&self, value: &str, req: &Request<'_>) -> Result<bool, Unresolved> {
        match self {
            Values::Str(op, templates) => {
                let lowered;
                let value = if *op == StrOp::EqualsIgnoreCase {
                    lowered = value.to_lowercase();
                    lowered.as_str()
                } else {
                    value
                };
                any_template(templates, |t| t.matches(value, req))
            }
            Values::Numeric(cmp, numbers) => {
                Ok(parse_number(value).is_some_and(|v| numbers.iter().any(|n| cmp.holds(v, *n))))
            }
            Values::Date(cmp, dates) => {
                Ok(date::parse(value).is_some_and(|v| dates.iter().any(|d| cmp.holds(v, *d))))
            }
            Values::Bool(bools) => Ok(parse_bool(value).is_some_and(|v| bools.contains(&v))),
            Values::Binary(blobs) => Ok(decode_base64(value).is_some_and(|v| blobs.contains(&v))),
            Values::Ip(nets) => {
                Ok(parse_ip(value).is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))))
            }
            Values::Arn(templates) => any_template(templates, |t| arn_matches(t, value, req)),
            Values::Null(_) => Ok(false),
        }
    }
}

fn any_template(
    templates: &[Template],
    mut test: impl FnMut(&Template) -> Result<bool, Unresolved>,
) -> Result<bool, Unresolved> {
    for t in templates {
        match test(t) {
            Ok(true) => return Ok(true),
            Ok(false) | Err(Unresolved::Missing) => {}
            Err(Unresolved::Multivalued) => return Err(Unresolved::Multivalued),
        }
    }
    Ok(false)
}

/// A number in a condition: an integer or a decimal.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let valid = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if valid { t.parse().ok() } else { None }
}

pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

/// A CIDR block or a single address (`/32` or `/128`).
pub(crate) fn parse_cidr(text: &str) -> Option<IpNet> {
    let t = text.trim();
    if t.contains('/') {
        t.parse::<IpNet>().ok()
    } else {
        t.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

fn parse_ip(text: &str) -> Option<IpAddr> {
    let t = text.trim();
    t.parse::<IpAddr>().ok().or_else(|| {
        // An address given in CIDR form with a full-length prefix.
        let net = t.parse::<IpNet>().ok()?;
        (net.prefix_len() == net.max_prefix_len()).then(|| net.addr())
    })
}

/// `ArnEquals`/`ArnLike`: each of the six colon-separated components is matched separately.
/// A policy value with fewer components matches the rest of the ARN with its last one.
fn arn_matches(template: &Template, value: &str, req: &Request<'_>) -> Result<bool, Unresolved> {
    let resolved;
    let pieces = if template.has_variables() {
        resolved = template.resolve_pieces(req)?;
        resolved.as_slice()
    } else {
        template.pieces()
    };
    let components = split_components(pieces);
    let parts: Vec<&str> = value.splitn(components.len().max(1), ':').collect();
    let full: Vec<&str> = value.splitn(6, ':').collect();
    if full.len() != 6 || full.first() != Some(&"arn") || parts.len() != components.len() {
        return Ok(false);
    }
    Ok(components
        .iter()
        .zip(parts)
        .all(|(component, part)| glob(component, part)))
}

/// Splits pieces at the `:` of literal text into at most six ARN components.
fn split_components(pieces: &[Piece]) -> Vec<Vec<Piece>> {
    let mut out: Vec<Vec<Piece>> = vec![Vec::new()];
    for piece in pieces {
        let Piece::Lit(text) = piece else {
            if let Some(last) = out.last_mut() {
                last.push(piece.clone());
            }
            continue;
        };
        let mut rest: &str = text;
        while out.len() < 6 {
            let Some((head, tail)) = rest.split_once(':') else {
                break;
            };
            if let Some(last) = out.last_mut() {
                if !head.is_empty() {
                    last.push(Piece::Lit(head.into()));
                }
            }
            out.push(Vec::new());
            rest = tail;
        }
        if let Some(last) = out.last_mut() {
            if !rest.is_empty() {
                last.push(Piece::Lit(rest.into()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::Context;
    use crate::pattern::Syntax;

    fn arn_like(pattern: &str, value: &str) -> bool {
        let ctx = Context::new();
        let req = Request::new("", "", "", "s3:x", "", &ctx);
        let t = Template::parse(
            pattern,
            Syntax {
                wildcards: true,
                variables: true,
                ignore_case: false,
            },
        );
        arn_matches(&t, value, &req).unwrap_or(false)
    }

    #[test]
    fn arn_components_match_separately() {
        assert!(arn_like(
            "arn:aws:iam::*:role/bot-*",
            "arn:aws:iam::111122223333:role/bot-a"
        ));
        assert!(!arn_like(
            "arn:aws:iam::1*3:role/x",
            "arn:aws:iam::1:2:3:role/x"
        ));
        assert!(arn_like("*", "arn:aws:s3:::bucket"));
        assert!(arn_like("arn:aws:iam::*", "arn:aws:iam::1:user/a"));
        assert!(!arn_like("arn:aws:iam::*", "not-an-arn"));
        assert!(arn_like(
            "arn:aws:s3:::bucket/a:b",
            "arn:aws:s3:::bucket/a:b"
        ));
    }

    #[test]
    fn numbers_and_addresses() {
        assert_eq!(parse_number("1.5"), Some(1.5));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number("1e3"), None);
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("2001:db8::/32").is_some());
        assert_eq!(parse_ip("10.1.2.3/32"), "10.1.2.3".parse().ok());
    }
}
