//! The fields of an ARN, for the few places that take one apart.

/// An ARN split at its first five `:`: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`, the
/// resource keeping any further `:`. Fields may be empty; each user checks what it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArnFields<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// The fields of `arn`; `None` unless it starts with `arn:` and has all six.
pub fn arn_fields(arn: &str) -> Option<ArnFields<'_>> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(service), Some(region), Some(account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(ArnFields {
        partition,
        service,
        region,
        account,
        resource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_splits_into_its_six_fields_the_resource_keeping_colons() {
        assert_eq!(
            arn_fields("arn:aws:s3:::bucket/a:b"),
            Some(ArnFields {
                partition: "aws",
                service: "s3",
                region: "",
                account: "",
                resource: "bucket/a:b",
            })
        );
        for bad in [
            "",
            "arn:aws:iam::1",
            "ARN:aws:iam::1:root",
            "urn:aws:iam::1:root",
        ] {
            assert_eq!(arn_fields(bad), None, "{bad}");
        }
    }
}
