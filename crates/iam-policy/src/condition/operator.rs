//! Condition operator names: `[ForAllValues:|ForAnyValue:]Base[IfExists]`.

/// The kind of comparison a condition operator makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    String(StrOp),
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

/// String comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrOp {
    Equals,
    EqualsIgnoreCase,
    Like,
}

/// Ordered comparisons of numbers and dates: `context CMP policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub(crate) fn holds<T: PartialOrd>(self, context: T, policy: T) -> bool {
        match self {
            Cmp::Eq => context == policy,
            Cmp::Lt => context < policy,
            Cmp::Le => context <= policy,
            Cmp::Gt => context > policy,
            Cmp::Ge => context >= policy,
        }
    }
}

/// `ForAllValues:` or `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    ForAllValues,
    ForAnyValue,
}

/// A parsed condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) family: Family,
    /// `StringNotEquals`, `NotIpAddress`, …: the negation of the positive form.
    pub(crate) negated: bool,
    pub(crate) if_exists: bool,
    pub(crate) set: Option<SetOp>,
}

impl Operator {
    /// Parses an operator name; `None` when AWS does not know it.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (set, rest) = if let Some(rest) = name.strip_prefix("ForAllValues:") {
            (Some(SetOp::ForAllValues), rest)
        } else if let Some(rest) = name.strip_prefix("ForAnyValue:") {
            (Some(SetOp::ForAnyValue), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        use Family as F;
        let (family, negated) = match base {
            "StringEquals" => (F::String(StrOp::Equals), false),
            "StringNotEquals" => (F::String(StrOp::Equals), true),
            "StringEqualsIgnoreCase" => (F::String(StrOp::EqualsIgnoreCase), false),
            "StringNotEqualsIgnoreCase" => (F::String(StrOp::EqualsIgnoreCase), true),
            "StringLike" => (F::String(StrOp::Like), false),
            "StringNotLike" => (F::String(StrOp::Like), true),
            "NumericEquals" => (F::Numeric(Cmp::Eq), false),
            "NumericNotEquals" => (F::Numeric(Cmp::Eq), true),
            "NumericLessThan" => (F::Numeric(Cmp::Lt), false),
            "NumericLessThanEquals" => (F::Numeric(Cmp::Le), false),
            "NumericGreaterThan" => (F::Numeric(Cmp::Gt), false),
            "NumericGreaterThanEquals" => (F::Numeric(Cmp::Ge), false),
            "DateEquals" => (F::Date(Cmp::Eq), false),
            "DateNotEquals" => (F::Date(Cmp::Eq), true),
            "DateLessThan" => (F::Date(Cmp::Lt), false),
            "DateLessThanEquals" => (F::Date(Cmp::Le), false),
            "DateGreaterThan" => (F::Date(Cmp::Gt), false),
            "DateGreaterThanEquals" => (F::Date(Cmp::Ge), false),
            "Bool" => (F::Bool, false),
            "BinaryEquals" => (F::Binary, false),
            "IpAddress" => (F::Ip, false),
            "NotIpAddress" => (F::Ip, true),
            "ArnEquals" | "ArnLike" => (F::Arn, false),
            "ArnNotEquals" | "ArnNotLike" => (F::Arn, true),
            "Null" if !if_exists && set.is_none() => (F::Null, false),
            _ => return None,
        };
        Some(Operator {
            family,
            negated,
            if_exists,
            set,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixes_and_suffixes() {
        let op = Operator::parse("ForAnyValue:StringNotLikeIfExists");
        assert_eq!(
            op,
            Some(Operator {
                family: Family::String(StrOp::Like),
                negated: true,
                if_exists: true,
                set: Some(SetOp::ForAnyValue),
            })
        );
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAllValues:Null").is_none());
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("IfExists").is_none());
        assert!(Operator::parse("ArnLikeIfExists").is_some());
    }
}
