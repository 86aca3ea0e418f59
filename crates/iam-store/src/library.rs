//! Predefined AWS-style managed policies at `arn:aws:iam::aws:policy/…`. They exist in every
//! store without being created, cannot be changed, and can be attached or used as
//! permissions boundaries like customer managed policies. Their documents follow AWS's
//! intent; AWS's own read-only lists enumerate services, these use action-name wildcards.

/// A predefined managed policy.
#[derive(Debug, Clone, Copy)]
pub struct LibraryPolicy {
    pub name: &'static str,
    pub arn: &'static str,
    pub description: &'static str,
    pub document: &'static str,
}

const POLICIES: &[LibraryPolicy] = &[
    LibraryPolicy {
        name: "AdministratorAccess",
        arn: "arn:aws:iam::aws:policy/AdministratorAccess",
        description: "Provides full access to every action and resource",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "PowerUserAccess",
        arn: "arn:aws:iam::aws:policy/PowerUserAccess",
        description: "Provides full access to every service except the management of users, groups and the organization",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":["iam:*","organizations:*","account:*"],"Resource":"*"},{"Effect":"Allow","Action":["iam:CreateServiceLinkedRole","iam:DeleteServiceLinkedRole","iam:ListRoles","organizations:DescribeOrganization","account:ListRegions"],"Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "ReadOnlyAccess",
        arn: "arn:aws:iam::aws:policy/ReadOnlyAccess",
        description: "Provides read-only access to every service",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:Get*","*:List*","*:Describe*","*:BatchGet*","*:View*","*:Lookup*","*:Search*"],"Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "IAMFullAccess",
        arn: "arn:aws:iam::aws:policy/IAMFullAccess",
        description: "Provides full access to IAM",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","organizations:DescribeAccount","organizations:DescribeOrganization","organizations:DescribeOrganizationalUnit","organizations:DescribePolicy","organizations:ListChildren","organizations:ListParents","organizations:ListPoliciesForTarget","organizations:ListRoots","organizations:ListPolicies","organizations:ListTargetsForPolicy"],"Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "IAMReadOnlyAccess",
        arn: "arn:aws:iam::aws:policy/IAMReadOnlyAccess",
        description: "Provides read-only access to IAM",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GenerateCredentialReport","iam:GenerateServiceLastAccessedDetails","iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "IAMUserChangePassword",
        arn: "arn:aws:iam::aws:policy/IAMUserChangePassword",
        description: "Lets an IAM user change their own password",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:ChangePassword"],"Resource":["arn:aws:iam::*:user/${aws:username}"]},{"Effect":"Allow","Action":["iam:GetAccountPasswordPolicy"],"Resource":"*"}]}"#,
    },
    LibraryPolicy {
        name: "SecurityAudit",
        arn: "arn:aws:iam::aws:policy/SecurityAudit",
        description: "Grants access to read security configuration metadata and the audit trail",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:GenerateCredentialReport","organizations:Describe*","organizations:List*","cloudtrail:LookupEvents","cloudtrail:Describe*","cloudtrail:Get*"],"Resource":"*"}]}"#,
    },
];

/// Every predefined policy.
pub fn all() -> &'static [LibraryPolicy] {
    POLICIES
}

/// The predefined policy with that ARN.
pub fn get(arn: &str) -> Option<&'static LibraryPolicy> {
    POLICIES.iter().find(|p| p.arn == arn)
}

#[cfg(test)]
mod tests {
    use iam_policy::{Policy, PolicyKind, check_size};

    #[test]
    fn every_library_policy_is_a_valid_managed_policy() {
        for p in super::all() {
            assert!(
                Policy::parse(p.document, PolicyKind::Managed).is_ok(),
                "{}",
                p.name
            );
            assert!(
                check_size(p.document, PolicyKind::Managed).is_ok(),
                "{}",
                p.name
            );
            assert!(p.arn.ends_with(p.name));
        }
    }
}
