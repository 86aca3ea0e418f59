//! How proto names and values are spelled in the output, following the AWS CLI.

/// Field names whose AWS spelling is not the plain PascalCase of the proto name.
const FIELD_OVERRIDES: &[(&str, &str)] = &[
    ("client_id", "ClientID"),
    ("client_id_list", "ClientIDList"),
];

/// Words AWS writes in capitals.
const WORD_OVERRIDES: &[(&str, &str)] = &[("aws", "AWS"), ("mfa", "MFA"), ("openid", "OpenID")];

/// The output name of a proto field: `user_name` → `UserName`, `mfa_devices` →
/// `MFADevices`, `open_id_connect_provider_arn` → `OpenIDConnectProviderArn`.
pub(crate) fn field(proto_name: &str) -> String {
    if let Some((_, name)) = FIELD_OVERRIDES.iter().find(|(p, _)| *p == proto_name) {
        return (*name).to_owned();
    }
    pascal(&proto_name.to_ascii_lowercase().replace("open_id", "openid"))
}

/// The output name of an enum value: the value without its type prefix, in PascalCase
/// (`STATUS_TYPE_ACTIVE` of `StatusType` → `Active`), except decisions, which take AWS's
/// `EvalDecision` spelling (`allowed`, `explicitDeny`, `implicitDeny`).
pub(crate) fn enum_value(enum_name: &str, value_name: &str) -> String {
    let prefix = format!("{}_", screaming(enum_name));
    let bare = value_name.strip_prefix(&prefix).unwrap_or(value_name);
    let pascal = pascal(&bare.to_ascii_lowercase());
    if enum_name == "Decision" {
        lower_first(&pascal)
    } else {
        pascal
    }
}

/// A time as the AWS CLI prints it: `2024-05-01T12:00:00+00:00`; `None` outside years
/// 1-9999.
pub(crate) fn timestamp(seconds: i64) -> Option<String> {
    const MIN: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN..=MAX).contains(&seconds) {
        return None;
    }
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let (year, month, day) = iam_policy::civil_from_days(days);
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+00:00",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    ))
}

fn pascal(snake: &str) -> String {
    snake
        .split('_')
        .map(
            |word| match WORD_OVERRIDES.iter().find(|(w, _)| *w == word) {
                Some((_, spelled)) => (*spelled).to_owned(),
                None => upper_first(word),
            },
        )
        .collect()
}

fn screaming(pascal: &str) -> String {
    let mut out = String::new();
    for (i, c) in pascal.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn upper_first(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn lower_first(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_take_aws_spelling() {
        assert_eq!(field("user_name"), "UserName");
        assert_eq!(field("arn"), "Arn");
        assert_eq!(field("mfa_devices"), "MFADevices");
        assert_eq!(
            field("open_id_connect_provider_arn"),
            "OpenIDConnectProviderArn"
        );
        assert_eq!(field("client_id_list"), "ClientIDList");
        assert_eq!(field("authentication_code_1"), "AuthenticationCode1");
    }

    #[test]
    fn enum_values_lose_their_prefix() {
        assert_eq!(enum_value("StatusType", "STATUS_TYPE_ACTIVE"), "Active");
        assert_eq!(
            enum_value(
                "PermissionsBoundaryAttachmentType",
                "PERMISSIONS_BOUNDARY_ATTACHMENT_TYPE_PERMISSIONS_BOUNDARY_POLICY"
            ),
            "PermissionsBoundaryPolicy"
        );
        assert_eq!(
            enum_value("PolicyScopeType", "POLICY_SCOPE_TYPE_AWS"),
            "AWS"
        );
        assert_eq!(
            enum_value("Decision", "DECISION_EXPLICIT_DENY"),
            "explicitDeny"
        );
    }

    #[test]
    fn timestamps_print_as_the_aws_cli_does() {
        assert_eq!(timestamp(0).unwrap(), "1970-01-01T00:00:00+00:00");
        assert_eq!(
            timestamp(1_709_210_096).unwrap(),
            "2024-02-29T12:34:56+00:00"
        );
        assert_eq!(timestamp(-1).unwrap(), "1969-12-31T23:59:59+00:00");
        assert_eq!(timestamp(i64::MAX), None);
    }
}
